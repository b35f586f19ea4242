package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
