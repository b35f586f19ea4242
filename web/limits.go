package web

import (
	"net"
	"net/http"
	"reflect"
	runtimemetrics "runtime/metrics"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
)

// Limits bound what one server does at once, so that no one user can take
// it from the others. Zero fields take their defaults.
type Limits struct {
	// MaxRunning bounds sessions running at once. Defaults to 1,024.
	MaxRunning int
	// MaxRunningPerIP bounds one client IP's running sessions. Defaults to
	// 512, half of MaxRunning: a lecture hall behind one NAT shares an
	// address, and still cannot take the whole server.
	MaxRunningPerIP int
	// MaxStepped and MaxSteppedPerIP bound the stepped sessions, which
	// wait for their presenters most of their lives and so take slots of
	// their own, not running ones. Default 256 and 64.
	MaxStepped, MaxSteppedPerIP int
	// MaxDownloads and MaxDownloadsPerIP bound the sessions and exports
	// being sent at once (a slow reader holds one until the response
	// timeout). Default 256, and half of that per address (a hall behind
	// one NAT loads its diagrams at once).
	MaxDownloads, MaxDownloadsPerIP int
	// AnswersPerMinute bounds the answers to questions one client IP may
	// send per minute. Defaults to 1,200.
	AnswersPerMinute int
	// CreatePerMinute bounds the sessions one client IP may start per
	// minute. Defaults to 600: 300 students behind one address can each
	// start a session or two in a minute.
	CreatePerMinute int
	// MaxSubscribers bounds WebSocket viewers in all. Defaults to 10,000.
	MaxSubscribers int
	// MaxSubscribersPerSession bounds one session's viewers. Defaults to
	// 2,000.
	MaxSubscribersPerSession int
	// MaxSubscribersPerIP bounds one client IP's viewers, so that one
	// address cannot take every viewer slot. Defaults to 2,500 (a quarter
	// of MaxSubscribers: a lecture hall behind one NAT still fits).
	MaxSubscribersPerIP int
	// MaxMessageBytes bounds one WebSocket message; a longer history goes
	// in several. Defaults to 1 MiB.
	MaxMessageBytes int
	// SavedBytesPerIP bounds the sessions one client IP may have saved to
	// the archive in an hour, per class, in session bytes (the memory
	// their events take; a saved file is about twice that): past it its
	// sessions are kept in memory only, so that one address cannot push
	// out everyone's permalinks. Defaults to 32 MiB: a hall of 300 behind
	// one NAT runs a few hundred sessions of a few tens of kilobytes.
	SavedBytesPerIP int
	// SavedFilesPerIP bounds, as SavedBytesPerIP does, how many sessions
	// one client IP may have saved in an hour, per class: the archive
	// prunes a class by its count of files too (10,000), and small
	// sessions fill that long before their bytes fill a share. Defaults to
	// 600: two sessions each for a hall of 300.
	SavedFilesPerIP int
}

// DefaultLimits are the limits a zero field takes; seqd serve's flags
// default to them.
var DefaultLimits = Limits{
	MaxRunning:               1024,
	MaxRunningPerIP:          512,
	MaxStepped:               256,
	MaxSteppedPerIP:          64,
	CreatePerMinute:          600,
	AnswersPerMinute:         1_200,
	MaxDownloads:             256,
	MaxDownloadsPerIP:        128,
	MaxSubscribers:           10_000,
	MaxSubscribersPerSession: 2_000,
	MaxSubscribersPerIP:      2_500,
	MaxMessageBytes:          1 << 20,
	SavedBytesPerIP:          32 << 20,
	SavedFilesPerIP:          600,
}

// WithDefaults returns l with every limit left zero (or below) at its
// DefaultLimits value. It walks the fields, every one an int, so that a
// limit added to Limits and DefaultLimits needs no line of its own here.
func (l Limits) WithDefaults() Limits {
	v, def := reflect.ValueOf(&l).Elem(), reflect.ValueOf(DefaultLimits)
	for i := range v.NumField() {
		if f := v.Field(i); f.Int() <= 0 {
			f.SetInt(def.Field(i).Int())
		}
	}
	return l
}

// counter counts holders per key and in total under two bounds.
type counter struct {
	perKey, total int

	// mu guards byKey and sum.
	mu    sync.Mutex
	byKey map[string]int
	sum   int
}

// acquire takes one place for key, or says which bound is full: "total"
// or "per-key".
func (c *counter) acquire(key string) (ok bool, full string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sum >= c.total {
		return false, "total"
	}
	if c.byKey[key] >= c.perKey {
		return false, "per-key"
	}
	if c.byKey == nil {
		c.byKey = map[string]int{}
	}
	c.byKey[key]++
	c.sum++
	return true, ""
}

// held returns how many places are held in all.
func (c *counter) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum
}

func (c *counter) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey[key] <= 1 {
		delete(c.byKey, key)
	} else {
		c.byKey[key]--
	}
	c.sum--
}

// clientIP is the address limits are counted by: the remote address, or
// the one a trusted proxy reported (Config.TrustedProxies).
func clientIP(r *http.Request) string {
	if ip := middleware.GetClientIP(r.Context()); ip != "" {
		return httprate.CanonicalizeIP(ip)
	}
	// No address the middleware could read (a trusted proxy's malformed
	// X-Forwarded-For): the peer's, without its port, which would make
	// every connection an address of its own.
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return httprate.CanonicalizeIP(host)
	}
	return r.RemoteAddr
}

// refuse answers a request a limit turned away: 429 when the client should
// slow down, 503 when the server is full; both say when to try again.
func (s *Server) refuse(w http.ResponseWriter, status int, limit string, retry time.Duration, format string, args ...any) {
	s.metrics.limitsHit.WithLabelValues(limit).Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
	writeError(w, status, format, args...)
}

// rateLimit bounds session creation per client IP.
func (s *Server) rateLimit() func(http.Handler) http.Handler {
	return s.perMinute(s.cfg.Limits.CreatePerMinute, "create_rate", "you started more than %d sessions in a minute; wait a little and try again")
}

// perMinute bounds the requests one client IP may make a minute to n,
// refusing the rest with 429 and message (which takes n), counted as limit.
func (s *Server) perMinute(n int, limit, message string) func(http.Handler) http.Handler {
	return httprate.LimitBy(n, time.Minute,
		func(r *http.Request) (string, error) { return clientIP(r), nil },
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.refuse(w, http.StatusTooManyRequests, limit, 10*time.Second, message, n)
		}))
}

// answerLimit bounds the answers one client IP may send a minute: enough
// for a hall behind one NAT to answer every question, not for a script to
// flood the tallies.
func (s *Server) answerLimit() func(http.Handler) http.Handler {
	return s.perMinute(s.cfg.Limits.AnswersPerMinute, "answer_rate", "your address sent more than %d answers in a minute; wait a little and try again")
}

// boundDownloads holds a download place for the request's address while it
// is answered, or refuses it: 429 past the address's share, 503 past the
// server's, and 503 when memory is near the server's budget.
func (s *Server) boundDownloads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.memoryFull() {
			s.refuse(w, http.StatusServiceUnavailable, "memory", 5*time.Second, "the server is at its memory budget; try again in a few seconds")
			return
		}
		ip := clientIP(r)
		if ok, full := s.downloads.acquire(ip); !ok {
			if full == "total" {
				s.refuse(w, http.StatusServiceUnavailable, "downloads_total", 5*time.Second, "the server is sending %d downloads, its most; try again in a few seconds", s.cfg.Limits.MaxDownloads)
			} else {
				s.refuse(w, http.StatusTooManyRequests, "downloads_per_ip", 5*time.Second, "your address has %d downloads under way, its most; wait for one to finish", s.cfg.Limits.MaxDownloadsPerIP)
			}
			return
		}
		defer s.downloads.release(ip)
		next.ServeHTTP(w, r)
	})
}

// memorySamples are the runtime metrics memoryFull reads: all the memory
// the Go runtime has mapped, and what of it it has given back to the OS.
var memorySamples = []string{"/memory/classes/total:bytes", "/memory/classes/heap/released:bytes"}

// memoryFull reports whether the process's Go memory is within a
// session's budget (plus a margin for viewers and buffers) of MemoryLimit,
// when one is set.
func (s *Server) memoryFull() bool {
	if s.cfg.MemoryLimit <= 0 {
		return false
	}
	samples := make([]runtimemetrics.Sample, len(memorySamples))
	for i, name := range memorySamples {
		samples[i].Name = name
	}
	runtimemetrics.Read(samples)
	used := int64(samples[0].Value.Uint64() - samples[1].Value.Uint64())
	return used+memoryHeadroom > s.cfg.MemoryLimit
}

// memoryHeadroom is what memoryFull keeps free below the limit: more than
// one session's budget and a burst of viewers.
const memoryHeadroom = 32 << 20
