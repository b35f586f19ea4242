package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/web"
)

// followState is what TestFollowBrowserNewestCall reads from the page.
type followState struct {
	Marks  int     `json:"marks"`  // marks drawn
	Gap    float64 `json:"gap"`    // px from the view's bottom to the drawing's
	Top    float64 `json:"top"`    // the viewport's scrollTop
	Button bool    `json:"button"` // "Jump to latest" shows
	State  string  `json:"state"`  // the element's data-state
}

const readFollow = `(() => { const el = document.querySelector('seq-diagram'); const r = el && el.shadowRoot;
  if (!r) return null; const vp = r.querySelector('.viewport');
  return { marks: r.querySelectorAll('svg.seq-diagram .event').length, gap: vp.scrollHeight - vp.scrollTop - vp.clientHeight,
    top: vp.scrollTop, button: !r.querySelector('button.follow').hidden, state: el.dataset.state || '' }; })()`

// TestFollowBrowserNewestCall watches a paced session longer than the
// viewport: while it runs the view follows the newest call; once the reader
// scrolls up it stays where the reader put it and offers "Jump to latest",
// which brings it back to following.
func TestFollowBrowserNewestCall(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	setView(t, tab, legibleViews[0])
	id := createSession(t, ts.URL, `{"scenario": "echo", "params": {"rounds": 60, "pace_ms": 25}}`)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/s/"+id)); err != nil {
		t.Fatal(err)
	}
	poll := func(cond, what string) followState {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Poll[followState](`(() => { const s = `+readFollow+`; return s && (`+cond+`) ? s : null; })()`, chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			last, _ := chromedp.Run(tab, chromedp.Evaluate[followState](readFollow))
			t.Fatalf("%s: %v (last seen %+v)", what, err, last)
		}
		return s
	}
	// The view follows within a frame of a call's drawing (the scroll comes
	// after layout): some reading while it runs finds it at the newest.
	s := poll(`s.marks > 80 && s.state === 'running' && s.top > 0 && s.gap <= 40`, "with more than 80 calls drawn, the view never was at the newest call while the session ran")
	if s.Button {
		t.Errorf("following, the page offers Jump to latest: %+v", s)
	}
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('.viewport').scrollTop = 0`)); err != nil {
		t.Fatal(err)
	}
	s = poll(`s.marks > `+itoa(s.Marks+20)+` && s.button`, "scrolled up, no Jump to latest while calls came")
	if s.Top > 40 {
		t.Errorf("scrolled to the top, the view moved to %+v while calls came", s)
	}
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.querySelector('seq-diagram').shadowRoot.querySelector('button.follow').click()`)); err != nil {
		t.Fatal(err)
	}
	s = poll(`s.marks > `+itoa(s.Marks+10)+` && s.gap <= 40`, "after Jump to latest the view does not follow")
	if s.Button && s.State == "running" {
		t.Errorf("following again, the page still offers Jump to latest: %+v", s)
	}
}
