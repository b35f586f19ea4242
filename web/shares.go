package web

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/httprate"

	"seqd/trace"
)

// saveShares bounds what one client address may have saved to the archive,
// per class of session, in an hour: the archive prunes a class's oldest
// files when it is full, so without a share one address creating large
// sessions fast (600 a minute are allowed, for a lecture hall behind one
// NAT) pushed every other visitor's permalinks out within seconds. Past
// its share an address's sessions are shown and kept in memory like any
// other, and not saved.
type saveShares struct {
	most      int64 // session bytes (trace.Session.Bytes) per address, class and window
	mostFiles int   // sessions per address, class and window: the archive bounds files too
	window    time.Duration

	// mu guards byKey and noneEndBefore.
	mu    sync.Mutex
	byKey map[string]*saveShare
	// noneEndBefore is when the first window still open after the last
	// forgetEndedLocked ends: a full map is not scanned again before it
	// (a flood of new addresses scanned 100,000 shares for each).
	noneEndBefore time.Time
}

// saveShare is what one address saved of one class since its window began.
type saveShare struct {
	bytes int64
	files int
	since time.Time
}

// maxShareKeys bounds the addresses saveShares remembers: past it, and
// with every window still open, new addresses share one share of their
// own (a flood from more addresses than a course has students, such as an
// IPv6 prefix's many /64s, then fills that one, not everyone's).
const maxShareKeys = 100_000

// take reports whether owner may save one more session, of n bytes, of
// class at now, and counts it when it may. An empty owner (a session the
// server's own operator started) is never bounded.
func (l *saveShares) take(class, owner string, n int64, now time.Time) bool {
	if owner == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := class + " " + owner
	sh := l.byKey[key]
	if sh == nil && len(l.byKey) >= maxShareKeys {
		l.forgetEndedLocked(now)
		if len(l.byKey) >= maxShareKeys {
			key = class + " (the addresses past maxShareKeys)"
			sh = l.byKey[key]
		}
	}
	if sh == nil || now.Sub(sh.since) >= l.window {
		if l.byKey == nil {
			l.byKey = map[string]*saveShare{}
		}
		sh = &saveShare{since: now}
		l.byKey[key] = sh
	}
	if sh.bytes+n > l.most || (l.mostFiles > 0 && sh.files >= l.mostFiles) {
		return false
	}
	sh.bytes += n
	sh.files++
	return true
}

// refusal says why a session of class past its address's share is not
// saved, for its viewers (trace.Meta.Unsaved).
func (l *saveShares) refusal(class string) string {
	what := byteSize(l.most)
	if l.mostFiles > 0 {
		noun := "sessions"
		if l.mostFiles == 1 {
			noun = "session"
		}
		what = fmt.Sprintf("%d %s or %s", l.mostFiles, noun, what)
	}
	kind := class + " " // lab, proxy, trace
	if class == trace.Classes[0] {
		kind = "" // the scenarios started through the API
	}
	return fmt.Sprintf("your address has used its share of saved %ssessions this hour (%s): this one lasts only until the server restarts or newer sessions replace it; export it as JSON to keep it", kind, what)
}

// byteSize is n bytes in the largest binary unit it has one of, to a
// tenth: 32 MiB, 1.5 GiB, 1000 MiB.
func byteSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size {
			v := math.Round(float64(n)/float64(u.size)*10) / 10
			return strconv.FormatFloat(v, 'f', -1, 64) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// forgetEndedLocked drops the shares whose window has ended, at most
// once until the earliest window left open ends.
func (l *saveShares) forgetEndedLocked(now time.Time) {
	if now.Before(l.noneEndBefore) {
		return
	}
	var first time.Time
	for k, sh := range l.byKey {
		if now.Sub(sh.since) >= l.window {
			delete(l.byKey, k)
		} else if first.IsZero() || sh.since.Before(first) {
			first = sh.since
		}
	}
	l.noneEndBefore = first.Add(l.window) // none left: long past, the next call scans
}

// ownerOf is the address a lab or proxy session's client ("ip:port") is
// counted by, as clientIP counts a request's: "" when it has none.
func ownerOf(client string) string {
	ap, err := netip.ParseAddrPort(client)
	if err != nil {
		return ""
	}
	return httprate.CanonicalizeIP(ap.Addr().Unmap().String())
}
