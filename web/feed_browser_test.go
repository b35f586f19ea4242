package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/archive"
	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// TestFeedBrowserAsksForAMessageAFrame follows a live session from the
// page and checks that its WebSocket asks for batch_ms=16: each message
// costs the page a task, and it draws no oftener than a frame.
func TestFeedBrowserAsksForAMessageAFrame(t *testing.T) {
	store := &trace.Store{}
	srv, err := web.New(&netcore.Runner{}, store, web.Config{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	queries := make(chan string, 8)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ws") {
			select {
			case queries <- r.URL.RawQuery:
			default:
			}
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	sess := trace.NewSession("synthetic", nil, trace.Options{})
	sess.AddActor("client")
	sess.AddActor("server")
	store.Add(sess)
	defer sess.Finish(nil)
	tab := newTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+sess.ID())); err != nil {
		t.Fatal(err)
	}
	select {
	case q := <-queries:
		if v, err := url.ParseQuery(q); err != nil || v.Get("batch_ms") != "16" {
			t.Errorf("the page's WebSocket asked %q; want batch_ms=16", q)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the page opened no WebSocket to follow the live session")
	}
}

// cuttableListener is a listener whose connections, hijacked WebSockets
// too, can all be cut at once: the network between the page and the
// server gone, the server itself still running.
type cuttableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *cuttableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// cut closes the listener and every connection it accepted.
func (l *cuttableListener) cut() {
	l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// serveAt serves h at addr ("127.0.0.1:0" for any port) until cut or the
// test's end.
func serveAt(t *testing.T, addr string, h http.Handler) *cuttableListener {
	t.Helper()
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ { // the port just closed may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	l := &cuttableListener{Listener: ln}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(l) }()
	t.Cleanup(func() { l.cut(); hs.Close(); <-done })
	return l
}

// TestBrowserSaysWhenTheServerIsLost follows a paced session live, cuts
// every connection to the server and refuses new ones: the page must say,
// within seconds, that it lost the server and is trying again, and keep
// what it drew. Served again at the same address, the page must pick the
// session up where it stopped, take the warning away and draw it to its
// end.
func TestBrowserSaysWhenTheServerIsLost(t *testing.T) {
	srv, err := web.New(&netcore.Runner{Timeout: 60 * time.Second}, &trace.Store{}, web.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ln := serveAt(t, "127.0.0.1:0", srv.Handler())
	addr := ln.Addr().String()
	base := "http://" + addr
	tab := newTab(t)
	id := createSession(t, base, `{"scenario": "echo", "params": {"rounds": 3, "pace_ms": 250}}`)
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	const marks = `document.querySelector('seq-diagram').shadowRoot.querySelectorAll('svg .event[data-seq]').length`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](marks+` >= 4`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the live session never drew 4 calls: %v", err)
	}
	ln.cut()
	type seen struct {
		Message, Info, Status, State string
		Lost                         bool
		Marks                        int
	}
	const look = `(() => { const el = document.querySelector('seq-diagram'), r = el.shadowRoot, m = r.querySelector('.message');
	  return {message: m.hidden ? '' : m.textContent, info: r.querySelector('.info')?.textContent ?? '', status: document.getElementById('status').textContent,
	    state: el.dataset.state, lost: el.connectionLost, marks: ` + marks + `}; })()`
	var s seen
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`(() => { const el = document.querySelector('seq-diagram'); return el.connectionLost; })()`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		s, _ = chromedp.Run(tab, chromedp.Evaluate[seen](look))
		t.Fatalf("10 s after the server went away the page does not say so: %+v", s)
	}
	s = evalJS[seen](t, tab, look)
	if !strings.Contains(s.Message, "Lost the connection to the server") || !strings.Contains(s.Status, "lost the connection to the server") || !strings.Contains(s.Info, "connection lost") {
		t.Errorf("with the server gone the page shows %+v; want the loss above the diagram, in the status line and in the toolbar", s)
	}
	if s.State != "running" || s.Marks < 4 {
		t.Errorf("with the server gone the page shows %+v; want the session still running and its %d+ calls still drawn", s, 4)
	}
	if dir := legibleShotDir(t); dir != "" {
		for _, v := range legibleViews {
			setView(t, tab, v)
			writeScreenshot(t, tab, filepath.Join(dir, "connection-lost-"+v.name+".png"))
		}
	}
	serveAt(t, addr, srv.Handler())
	rec := waitDone(t, base, id)
	d := waitDrawn(t, tab, id)
	s = evalJS[seen](t, tab, look)
	if s.Lost || s.Message != "" || strings.Contains(s.Status, "lost") {
		t.Errorf("with the server back and the session done the page shows %+v; want no word of a loss", s)
	}
	if len(d.Marks) != len(rec.Events) || d.State != "done" {
		t.Errorf("after the reconnection the page drew %d marks (state %s) of the session's %d events; want every one, done", len(d.Marks), d.State, len(rec.Events))
	}
}

// TestServerCloseTellsRunningSessionsWhy closes the server under a running
// paced session: the session fails with ErrStopping's words, which tell
// its viewers what happened and what to do, not "context canceled".
func TestServerCloseTellsRunningSessionsWhy(t *testing.T) {
	ts, srv := serveForTest(t, &netcore.Runner{Timeout: 60 * time.Second}, web.Config{})
	id := createSession(t, ts.URL, `{"scenario": "echo", "params": {"rounds": 3, "pace_ms": 250}}`)
	srv.Close()
	rec := waitDone(t, ts.URL, id)
	if rec.State != trace.StateFailed || rec.Error != web.ErrStopping.Error() {
		t.Errorf("a session running when the server closed ended %s with %q; want failed with %q", rec.State, rec.Error, web.ErrStopping)
	}
	if !errors.Is(context.Cause(srv.Context()), web.ErrStopping) {
		t.Errorf("the closed server's context's cause is %v; want ErrStopping", context.Cause(srv.Context()))
	}
}

// TestBrowserSaysASessionIsGone follows a paced session live, cuts every
// connection, and serves at the same address a server that never had the
// session (one restarted, its running sessions lost): the page must end
// the session as failed and say why, keeping what it drew.
func TestBrowserSaysASessionIsGone(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := web.New(&netcore.Runner{Timeout: 60 * time.Second}, &trace.Store{}, web.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ln := serveAt(t, "127.0.0.1:0", srv.Handler())
	addr := ln.Addr().String()
	tab := newTab(t)
	id := createSession(t, "http://"+addr, `{"scenario": "echo", "params": {"rounds": 3, "pace_ms": 250}}`)
	if err := chromedp.Do(tab, chromedp.Navigate("http://"+addr+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	const marks = `document.querySelector('seq-diagram').shadowRoot.querySelectorAll('svg .event[data-seq]').length`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](marks+` >= 4`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the live session never drew 4 calls: %v", err)
	}
	ln.cut()
	other, err := web.New(&netcore.Runner{Timeout: 60 * time.Second}, &trace.Store{}, web.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	serveAt(t, addr, other.Handler())
	d := waitDrawn(t, tab, id)
	type seen struct {
		Message, Status string
		Lost            bool
	}
	s := evalJS[seen](t, tab, `(() => { const el = document.querySelector('seq-diagram'), m = el.shadowRoot.querySelector('.message');
	  return {message: m.hidden ? '' : m.textContent, status: document.getElementById('status').textContent, lost: el.connectionLost}; })()`)
	if d.State != "failed" || !strings.Contains(s.Message, "the server no longer has it") || !strings.Contains(s.Status, "the server no longer has it") || s.Lost {
		t.Errorf("with the session gone from the server the page shows %s, %+v; want failed, saying the server no longer has it", d.State, s)
	}
	if len(d.Marks) < 4 {
		t.Errorf("the page kept %d of the 4+ calls it drew; want them all", len(d.Marks))
	}
}

// TestBrowserSaysASessionWasNotSaved opens a session past its address's
// share of saved sessions, live and once finished: the page says above the
// diagram that it was not saved, why, and what to do; a saved one's page
// says nothing of it.
func TestBrowserSaysASessionWasNotSaved(t *testing.T) {
	saved, _, err := archive.Open(t.TempDir(), archive.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := newServerWith(t, &netcore.Runner{Timeout: 30 * time.Second}, web.Config{Archive: saved, Limits: web.Limits{SavedFilesPerIP: 1}})
	first := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1}}`)
	waitDone(t, ts.URL, first)
	tab := newTab(t)
	second := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":3,"pace_ms":300}}`)
	const message = `(() => { const m = document.querySelector('seq-diagram').shadowRoot.querySelector('.message'); return m.hidden ? '' : m.textContent; })()`
	dir := legibleShotDir(t)
	for _, c := range []struct {
		name, id, when string
		unsaved        bool
	}{
		{"followed live", second, "live", true},
		{"opened once finished", second, "finished", true},
		{"saved", first, "finished", false},
	} {
		t.Run("a session "+c.name+" says whether it was saved", func(t *testing.T) {
			if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+c.id)); err != nil {
				t.Fatal(err)
			}
			if c.when == "live" {
				if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.querySelector('seq-diagram')?.dataset.state === 'running'`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
					t.Fatalf("the session was not running when opened: %v", err)
				}
			}
			waitDrawn(t, tab, c.id)
			got := evalJS[string](t, tab, message)
			if c.unsaved && !(strings.HasPrefix(got, "Not saved: ") && strings.Contains(got, "share") && strings.Contains(got, "JSON")) {
				t.Errorf("the message above the diagram is %q; want that it was not saved, why, and to download it", got)
			}
			if !c.unsaved && got != "" {
				t.Errorf("a saved session's page says %q; want no message", got)
			}
			if dir != "" && c.unsaved {
				for _, v := range []legibleView{legibleViews[0], {"390x844-light", 390, 844, true, "light"}} {
					setView(t, tab, v)
					writeScreenshot(t, tab, filepath.Join(dir, "unsaved-"+c.when+"-"+v.name+".png"))
				}
				setView(t, tab, legibleViews[0])
			}
		})
	}
}
