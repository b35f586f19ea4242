package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"seqd/web"
)

// TestBrowserPinnedDetailsStayWhileReadInside clicks a mark, then inside
// the details it pinned (to select their text, scroll them on a phone),
// then outside both: the details stay until the click outside.
func TestBrowserPinnedDetailsStayWhileReadInside(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tab := newTab(t)
	id := createSession(t, ts.URL, `{"scenario":"http"}`)
	waitDone(t, ts.URL, id)
	type details struct {
		Shown, Pinned bool
		Title         string
	}
	const read = `(() => { const d = document.querySelector('seq-diagram').shadowRoot.querySelector('.details');
	  return {shown: !d.hidden, pinned: d.classList.contains('pinned'), title: d.querySelector('h3')?.textContent ?? ''}; })()`
	// clickAt clicks the centre of what js (an expression of the shadow
	// root r) finds, measured after it is scrolled into view and a frame.
	clickAt := func(t *testing.T, js string) {
		t.Helper()
		// Measured until it stays put for 150 ms: a diagram just drawn may
		// still be centring its lifelines.
		at, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`(async () => { const r = document.querySelector('seq-diagram').shadowRoot; const el = `+js+`;
		  el.scrollIntoView({block: 'center'});
		  const centre = () => { const b = el.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; };
		  let was = centre();
		  for (let i = 0; i < 20; i++) {
		    await new Promise((ok) => setTimeout(ok, 150));
		    const now = centre();
		    if (Math.abs(now[0] - was[0]) < 0.5 && Math.abs(now[1] - was[1]) < 0.5) break;
		    was = now;
		  }
		  return centre(); })()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.MouseClickXY(at[0], at[1]), chromedp.Sleep(200*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []legibleView{legibleViews[0], {"390x844-light", 390, 844, true, "light"}} {
		t.Run("at "+v.name+", pinned details stay while clicked inside and go on a click outside", func(t *testing.T) {
			openInView(t, tab, v, ts.URL, id)
			clickAt(t, `r.querySelector('svg .event.k-recv[data-seq] .shape')`)
			got := evalJS[details](t, tab, read)
			if !got.Shown || !got.Pinned {
				t.Fatalf("after a click on a read's mark the details are %+v; want them shown and pinned", got)
			}
			// Not over the mark they describe, nor its label.
			const covers = `(() => { const r = document.querySelector('seq-diagram').shadowRoot; const a = r.querySelector('.details').getBoundingClientRect();
			  const m = r.querySelector('svg .event.k-recv[data-seq]'); const out = [];
			  for (const part of [m.querySelector('.shape'), m.querySelector('.label')]) { if (!part) continue; const b = part.getBoundingClientRect();
			    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(part.getAttribute('class') + ' ' + JSON.stringify([b.left, b.top, b.right, b.bottom]) + ' under ' + JSON.stringify([a.left, a.top, a.right, a.bottom])); }
			  return out; })()`
			if over := evalJS[[]string](t, tab, covers); len(over) > 0 {
				t.Errorf("the details cover the mark they describe: %v", over)
			}
			clickAt(t, `r.querySelector('.details dl')`)
			if after := evalJS[details](t, tab, read); after != got {
				t.Errorf("after a click inside them the details are %+v; want them as they were, %+v", after, got)
			}
			// Escape from inside them hides them and gives the focus back
			// to the mark (the pointer moved off the diagram first: a mark
			// under it shows its details, as any hovered mark does).
			if err := chromedp.Do(tab, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1), chromedp.KeyEvent(kb.Escape), chromedp.Sleep(100*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			focus := evalJS[string](t, tab, `document.querySelector('seq-diagram').shadowRoot.activeElement?.closest?.('.event')?.dataset.seq ?? 'none'`)
			if after := evalJS[details](t, tab, read); after.Shown || "#"+focus+" " != got.Title[:len(focus)+2] {
				t.Errorf("after Escape inside them the details are %+v and the focus on mark %s; want them hidden, the focus on the mark they described (%s)", after, focus, got.Title)
			}
			clickAt(t, `r.querySelector('svg .event.k-recv[data-seq] .shape')`)
			if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`), chromedp.MouseClickXY(5, 5), chromedp.Sleep(200*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if after := evalJS[details](t, tab, read); after.Shown {
				t.Errorf("after a click outside the diagram the details are %+v; want them hidden", after)
			}
		})
	}
}
