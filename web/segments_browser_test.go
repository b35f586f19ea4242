package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seqd/internal/testneed"
	"seqd/web"
)

// segView is what the page shows of the segment layer.
type segView struct {
	Segs     []string `json:"segs"`     // the labels of the .seg arrows, in seq order
	Visible  int      `json:"visible"`  // how many .seg arrows are displayed (SVG elements' checkVisibility ignores display:none)
	Toggle   bool     `json:"toggle"`   // the toolbar's segments checkbox shows
	Pcapng   string   `json:"pcapng"`   // the pcapng export's href, if shown
	Info     string   `json:"info"`     // the toolbar's summary
	SegRows  int      `json:"segRows"`  // transcript rows of segments
	Checkbox bool     `json:"checkbox"` // the page's TCP segments option is enabled
}

const readSegs = `(() => {
  const el = document.querySelector('seq-diagram');
  const r = el.shadowRoot;
  const segs = [...r.querySelectorAll('svg.seq-diagram .seg[data-seq]')];
  const toggle = r.querySelector('.seg-toggle');
  const pcap = r.querySelector('a.pcapng');
  return {
    segs: segs.map(n => n.querySelector('.label') ? n.querySelector('.label').textContent : ''),
    visible: segs.filter(n => getComputedStyle(n).display !== 'none' && n.getBoundingClientRect().width > 0).length,
    toggle: !!toggle && toggle.checkVisibility(),
    pcapng: pcap && pcap.checkVisibility() ? pcap.getAttribute('href') : '',
    info: r.querySelector('.info').textContent,
    segRows: r.querySelectorAll('.transcript tr.seg-row[data-seq]').length,
    checkbox: !document.getElementById('segments').disabled,
  };
})()`

func readSegView(t *testing.T, tab context.Context) segView {
	t.Helper()
	return evalJS[segView](t, tab, readSegs)
}

// pressScenario presses a scenario's button on the main page and returns
// the id of the session it started, once the address names it.
func pressScenario(t *testing.T, tab context.Context, name string) string {
	t.Helper()
	before, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.pathname`))
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`button[data-scenario="`+name+`"]`))); err != nil {
		t.Fatal(err)
	}
	path, err := chromedp.Run(tab, chromedp.Poll[string](
		fmt.Sprintf(`location.pathname.startsWith('/s/') && location.pathname !== %q ? location.pathname : null`, before),
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the address never became /s/{id}: %v", err)
	}
	return strings.TrimPrefix(path, "/s/")
}

func TestSegmentsBrowser(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	caps := getCapabilities(t, ts.URL)
	tab := newTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`button[data-scenario="serviceclient"]`))); err != nil {
		t.Fatal(err)
	}
	if !caps.Segments.Available {
		// The option says why it is off.
		help, err := chromedp.Run(tab, chromedp.Poll[string](`document.getElementById('segments').disabled && document.getElementById('segments-help').textContent.includes('Unavailable') ? document.getElementById('segments-help').textContent : null`, chromedp.WithPollingTimeout(5*time.Second)))
		if err != nil {
			t.Errorf("the TCP segments option is not disabled with its reason: %v", err)
		} else if !strings.Contains(help, caps.Segments.Reason) {
			t.Errorf("the help says %q; want the reason %q", help, caps.Segments.Reason)
		}
		testneed.Missing(t, "SEQD_REQUIRE_SEGMENTS", "segments unavailable: "+caps.Segments.Reason)
	}

	t.Run("without segments no .seg is drawn", func(t *testing.T) {
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`(() => { const b = document.getElementById('segments'); if (b.checked) b.click(); })()`)); err != nil {
			t.Fatal(err)
		}
		id := pressScenario(t, tab, "serviceclient")
		checkDrawing(t, waitDrawn(t, tab, id), waitDone(t, ts.URL, id))
		v := readSegView(t, tab)
		if len(v.Segs) != 0 || v.Toggle || v.Pcapng != "" || v.SegRows != 0 {
			t.Errorf("a session without segments shows %+v; want no segment layer", v)
		}
	})

	t.Run("with segments the handshake is drawn and the layer toggles", func(t *testing.T) {
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](`!document.getElementById('segments').disabled`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("the TCP segments option stays disabled: %v", err)
		}
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`(() => { const b = document.getElementById('segments'); if (!b.checked) b.click(); })()`)); err != nil {
			t.Fatal(err)
		}
		id := pressScenario(t, tab, "serviceclient")
		rec := waitDone(t, ts.URL, id)
		checkDrawing(t, waitDrawn(t, tab, id), rec)
		calls, segs := 0, 0
		for _, e := range rec.Events {
			if e.Kind == "segment" {
				segs++
			} else {
				calls++
			}
		}
		if segs < 3 {
			t.Fatalf("session %s has %d segments; want the handshake at least", id, segs)
		}
		v := readSegView(t, tab)
		if len(v.Segs) != segs || v.SegRows != segs {
			t.Errorf("%d .seg arrows and %d segment rows; want %d each", len(v.Segs), v.SegRows, segs)
		}
		for _, want := range []string{"SYN", "SYN,ACK", "ACK"} {
			if !slices.Contains(v.Segs, want) {
				t.Errorf("no %s segment among %v", want, v.Segs)
			}
		}
		if i, j, k := slices.Index(v.Segs, "SYN"), slices.Index(v.Segs, "SYN,ACK"), slices.Index(v.Segs, "ACK"); !(i < j && j < k) {
			t.Errorf("the handshake is drawn out of order: %v", v.Segs)
		}
		if v.Visible != segs || !v.Toggle {
			t.Errorf("%d of %d segments visible, toggle shown %v; want all, and the toggle", v.Visible, segs, v.Toggle)
		}
		if !strings.HasSuffix(v.Pcapng, "/api/sessions/"+id+"/pcapng") {
			t.Errorf("pcapng export %q", v.Pcapng)
		}
		if want := fmt.Sprintf("%d calls, %d segments", calls, segs); !strings.Contains(v.Info, want) {
			t.Errorf("the toolbar says %q; want %q", v.Info, want)
		}
		status, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('status').textContent`))
		if want := fmt.Sprintf("%d calls, %d segments", calls, segs); !strings.Contains(status, want) {
			t.Errorf("the status says %q; want %q", status, want)
		}

		// The toolbar's checkbox hides the layer and shows it again.
		toggle := `document.querySelector('seq-diagram').shadowRoot.querySelector('input.segs').click()`
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](toggle)); err != nil {
			t.Fatal(err)
		}
		if v := readSegView(t, tab); v.Visible != 0 {
			t.Errorf("%d segments visible with the layer off; want 0", v.Visible)
		}
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](toggle)); err != nil {
			t.Fatal(err)
		}
		if v := readSegView(t, tab); v.Visible != segs {
			t.Errorf("%d segments visible with the layer on again; want %d", v.Visible, segs)
		}
	})
}

// capabilities is GET /api/capabilities.
type capabilities struct {
	Segments struct {
		Available bool   `json:"available"`
		Reason    string `json:"reason"`
	} `json:"segments"`
}

func getCapabilities(t *testing.T, base string) capabilities {
	t.Helper()
	caps, _ := getJSON[capabilities](t, base+"/api/capabilities")
	return caps
}
