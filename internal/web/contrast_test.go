package web

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cssRules are the declarations of a stylesheet by selector (the last
// rule of a selector wins, as in the cascade; @media blocks are read as
// plain rules, so only selectors outside them are asked for here).
type cssRules map[string]map[string]string

var (
	cssRule = regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`)
	cssVar  = regexp.MustCompile(`^var\((--[a-z-]+)(?:,\s*(.+))?\)$`)
)

func parseCSS(t *testing.T, text string) cssRules {
	t.Helper()
	text = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(text, "")
	rules := cssRules{}
	for _, m := range cssRule.FindAllStringSubmatch(text, -1) {
		for sel := range strings.SplitSeq(m[1], ",") {
			sel = strings.TrimSpace(sel)
			if rules[sel] == nil {
				rules[sel] = map[string]string{}
			}
			for decl := range strings.SplitSeq(m[2], ";") {
				if k, v, ok := strings.Cut(decl, ":"); ok {
					rules[sel][strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
		}
	}
	return rules
}

// colour is the colour a selector's property names, its var() resolved
// against :root (#rgb read as #rrggbb); a value ("#rrggbb", "var(--x)")
// is taken as it is.
func (c cssRules) colour(t *testing.T, sel, prop string) string {
	t.Helper()
	v := sel
	if !strings.HasPrefix(sel, "#") && !strings.HasPrefix(sel, "var(") {
		var ok bool
		if v, ok = c[sel][prop]; !ok {
			t.Fatalf("app.css: no %s in %q", prop, sel)
		}
	}
	for range 5 {
		m := cssVar.FindStringSubmatch(v)
		if m == nil {
			break
		}
		if r, ok := c[":root"][m[1]]; ok {
			v = r
		} else {
			v = m[2]
		}
	}
	if regexp.MustCompile(`^#[0-9a-fA-F]{3}$`).MatchString(v) {
		v = "#" + strings.Repeat(v[1:2], 2) + strings.Repeat(v[2:3], 2) + strings.Repeat(v[3:4], 2)
	}
	if !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(v) {
		t.Fatalf("app.css: %s of %q is %q, not #rrggbb", prop, sel, v)
	}
	return v
}

// luminance is WCAG 2's relative luminance of #rrggbb.
func luminance(hex string) float64 {
	var l [3]float64
	for i := range 3 {
		b, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(b) / 255
		if c <= 0.04045 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is WCAG 2's contrast ratio of two colours, 1 to 21.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func TestContrastRatio(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{{"#000000", "#ffffff", 21}, {"#ffffff", "#ffffff", 1}, {"#777777", "#ffffff", 4.48}} {
		if got := contrast(c.a, c.b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.2f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

// Every text colour of the stylesheet is at least 4.5:1 against the
// backgrounds it is drawn on (WCAG AA for normal text), and the focus
// ring at least 3:1 against the page, the panels and the header (WCAG's non-text
// contrast).
func TestColoursContrast(t *testing.T) {
	b, err := os.ReadFile("assets/static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	css := parseCSS(t, string(b))
	type side struct{ sel, prop string }
	text := func(sel string) side { return side{sel, "color"} }
	bg := func(sel string) side { return side{sel, "background"} }
	root := func(name string) side { return side{":root", name} }
	page, panel := bg("body"), root("--panel")
	for _, p := range []struct{ fg, bg side }{
		{text("body"), page}, {text("body"), panel}, {text("a"), page}, {text("a"), panel},
		{root("--muted"), page}, {root("--muted"), panel}, {text("footer"), page},
		{text(".pos"), page}, {text(".pos"), panel}, {text(".neg"), page}, {text(".neg"), panel},
		{text(".status.running"), page}, {text(".status.cancelled"), page}, {text(".fresh.stale"), page},
		{text("button"), bg("button")}, {text("a.button"), bg("a.button")}, {text("a.button"), bg("a.button.danger")},
		{text("header.top"), bg("header.top")}, {text("header.top a"), bg("header.top")}, {text("button.link"), bg("header.top")},
		{text(".skip"), bg(".skip")},
		{text("body"), bg(".problem")}, {text("body"), bg(".ok")},
		{text("body"), bg("table.compare tr.differs td")}, {text("table.compare tr.differs th::after"), bg("table.compare tr.differs td")},
		{text("body"), bg(".stage")}, {text("body"), bg(".stage.production")}, {text("body"), bg(".stage.staging")}, {text(".stage.archived"), bg(".stage")},
		{text("pre.diff .add"), bg("pre.diff .add")}, {text("pre.diff .del"), bg("pre.diff .del")}, {text("pre.diff .hunk"), bg("pre.diff")},
		{text(".method.GET"), page}, {text(".method.POST"), page}, {text(".method.DELETE"), page},
		{text(".field-error"), page}, {text(".req"), page},
		{text(".logline .t"), bg(".log")}, {text(".logline.level-WARN .lvl"), bg(".log")}, {text(".logline.level-ERROR .lvl"), bg(".log")},
		{text("input"), bg("input")},
	} {
		fg, back := css.colour(t, p.fg.sel, p.fg.prop), css.colour(t, p.bg.sel, p.bg.prop)
		if r := contrast(fg, back); r < 4.5 {
			t.Errorf("%s (%s) on %s (%s): contrast %.2f:1, below 4.5:1", p.fg.sel, fg, p.bg.sel, back, r)
		}
	}
	ring := strings.Fields(css[":focus-visible"]["outline"])
	if len(ring) != 3 {
		t.Fatalf("the focus ring is %q", css[":focus-visible"]["outline"])
	}
	focus := css.colour(t, ring[2], "")
	for _, back := range []side{page, panel, bg("header.top")} {
		if r := contrast(focus, css.colour(t, back.sel, back.prop)); r < 3 {
			t.Errorf("the focus ring (%s) on %s: contrast %.2f:1, below 3:1", focus, back.sel, r)
		}
	}
}
