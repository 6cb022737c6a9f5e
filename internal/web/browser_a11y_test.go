package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// a11yWidths are the screen widths every page is checked at: a laptop's
// and a phone's.
var a11yWidths = []int64{1280, 720}

// a11yFacts is what the page's script finds wrong on a page.
type a11yFacts struct {
	// Overflow is how many pixels the page is wider than the window
	// (tables scroll in their own container, the page must not).
	Overflow int `json:"overflow"`
	// Unnamed are the form controls without a label and the links,
	// buttons and frames without a name.
	Unnamed []string `json:"unnamed"`
	// Controls are the page's visible links, buttons and form controls.
	Controls int `json:"controls"`
	Frames   int `json:"frames"`
}

// a11yFactsJS marks the page's controls (data-a11y) and lists what lacks
// a name.
const a11yFactsJS = `(() => {
  const seen = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const show = el => el.outerHTML.slice(0, 160);
  const out = {overflow: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth, unnamed: [], controls: 0, frames: document.querySelectorAll("iframe").length};
  for (const el of document.querySelectorAll("input, select, textarea, meter, progress")) {
    if (el.type === "hidden") continue;
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby") && !el.title) out.unnamed.push(show(el));
  }
  for (const el of document.querySelectorAll("a[href], button, iframe")) {
    const name = el.tagName === "IFRAME" ? el.title : (el.textContent.trim() || el.getAttribute("aria-label") || el.title);
    if (!name) out.unnamed.push(show(el));
  }
  for (const el of document.querySelectorAll("a[href], button, input, select, textarea, summary")) {
    if (el.type === "hidden" || el.disabled || !seen(el)) continue;
    el.dataset.a11y = String(out.controls++);
  }
  // Every element focus moves to, noted as it gets focus: a look at
  // document.activeElement after a Tab can come too late to see one
  // (focus leaving a frame reaches the page a moment after the key).
  window.a11yReached = new Set();
  window.a11yBare = [];
  document.addEventListener("focusin", e => {
    const el = e.target;
    if (!(el instanceof HTMLElement) || el.tagName === "IFRAME") return;
    if (el.dataset.a11y !== undefined) window.a11yReached.add(el.dataset.a11y);
    const cs = getComputedStyle(el);
    if (cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2) window.a11yBare.push(show(el));
  }, true);
  return out;
})()`

// a11yTabJS tells where focus is after a Tab: "body" when nothing has
// focus, "frame" for a frame (whose document draws its own ring),
// "same" when it stayed on the element (a date's day, month and year),
// "again" when focus came back to an element it had been on (Tab went
// round), "on" otherwise. It only tells when Tab has gone round: which
// controls focus reached, and whether each showed a focus ring, the
// focusin listener of a11yFactsJS notes.
const a11yTabJS = `(() => {
  const el = document.activeElement;
  window.a11yVisited = window.a11yVisited || new Set();
  const last = window.a11yLast;
  window.a11yLast = el;
  if (!el || el === document.body) return "body";
  if (el.tagName === "IFRAME") return "frame";
  if (el === last) return "same";
  if (window.a11yVisited.has(el)) return "again";
  window.a11yVisited.add(el);
  return "on";
})()`

// maxTabs bounds the Tabs pressed on one page.
const maxTabs = 600

// a11yPage is a page checkAccessible opens: Name names its screenshots.
type a11yPage struct{ Name, Path string }

// checkAccessible opens each page at each of a11yWidths, keeps a
// screenshot of the window (NAME-WIDTH.png in dir), and checks that
// the page does not scroll sideways, that every form control has a
// label and every link, button and frame a name, and that pressing Tab
// from the top goes through every visible link, button and form control,
// each with a focus ring.
func checkAccessible(t *testing.T, ctx context.Context, base, dir string, pages []a11yPage) {
	t.Helper()
	for _, width := range a11yWidths {
		for _, pg := range pages {
			path := pg.Path
			c, cancel := context.WithTimeout(ctx, time.Minute)
			err := chromedp.Do(c, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("body")))
			if err == nil {
				// Charts are drawn at the page's width: wait for them.
				_, err = chromedp.Run(c, chromedp.Poll[bool](`[...document.querySelectorAll("[data-chart]")].every(e => e.dataset.ready === "true")`,
					chromedp.WithPollingTimeout(20*time.Second)))
			}
			cancel()
			if err != nil {
				t.Errorf("%s at %d px: %v", path, width, err)
				continue
			}
			shotWindow(t, ctx, dir, fmt.Sprintf("%s-%d", pg.Name, width))
			f := eval[a11yFacts](t, ctx, a11yFactsJS)
			if f.Overflow > 0 {
				t.Errorf("%s at %d px: the page is %d px wider than the window", path, width, f.Overflow)
			}
			for _, u := range f.Unnamed {
				t.Errorf("%s at %d px: no label or name: %s", path, width, u)
			}
			tabs, started := 0, false
			for ; tabs < maxTabs; tabs++ {
				step(t, ctx, "press Tab", chromedp.KeyEvent("\t"))
				// Focus leaving a frame's document reaches the page a
				// moment later: wait for it to move, a little.
				_, _ = chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement !== window.a11yLast`, chromedp.WithPollingTimeout(300*time.Millisecond)))
				focus := eval[string](t, ctx, a11yTabJS)
				// Focus in a frame's document leaves the page's on its
				// body: only a page without frames has gone round then.
				if focus == "again" || focus == "body" && started && f.Frames == 0 {
					break
				}
				started = started || focus != "body"
			}
			reached := eval[int](t, ctx, `window.a11yReached.size`)
			for _, el := range eval[[]string](t, ctx, `window.a11yBare`) {
				t.Errorf("%s at %d px: no focus ring on %s", path, width, el)
			}
			t.Logf("%s at %d px: Tab goes round in %d presses, through %d of its %d controls", path, width, tabs, reached, f.Controls)
			// A live part may have replaced a control meanwhile: only those
			// still on the page count.
			if missed := eval[[]string](t, ctx, `[...document.querySelectorAll("[data-a11y]")].filter(e => !window.a11yReached.has(e.dataset.a11y)).map(e => e.outerHTML.slice(0, 160))`); len(missed) > 0 {
				t.Errorf("%s at %d px: Tab reaches %d of the page's %d controls, not %s", path, width, reached, f.Controls, strings.Join(missed, ", "))
			}
		}
	}
	step(t, ctx, "back to 1280 px", chromedp.EmulateViewport(1280, 900))
}

// pressOn presses Tab until the element sel has focus, then Enter: a
// form submitted by keyboard.
func pressOn(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	for range maxTabs {
		if eval[bool](t, ctx, `document.activeElement.matches(`+jsString(sel)+`)`) {
			step(t, ctx, "press Enter on "+sel, chromedp.KeyEvent("\r"))
			return
		}
		step(t, ctx, "press Tab", chromedp.KeyEvent("\t"))
	}
	t.Fatalf("Tab never reaches %s", sel)
}

// jsString quotes s as a JavaScript string.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
