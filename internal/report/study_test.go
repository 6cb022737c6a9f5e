package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/optimize/overfit"
	"github.com/tradai/tradai/internal/optimize/sample"
)

// element is what parseSections keeps of an element with an id: its
// text and how many elements of each name it holds.
type element struct {
	text  string
	count map[string]int
}

// parseSections parses an HTML page leniently (encoding/xml with HTML's
// auto-closed elements and entities) and returns its elements with an id.
func parseSections(t *testing.T, page string) map[string]*element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	out := map[string]*element{}
	var open []*element // the elements with an id enclosing the token
	var depth []int     // their depths
	level := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			level++
			for _, e := range open {
				e.count[x.Name.Local]++
			}
			for _, a := range x.Attr {
				if a.Name.Local == "id" {
					e := &element{count: map[string]int{}}
					out[a.Value] = e
					open, depth = append(open, e), append(depth, level)
				}
			}
		case xml.EndElement:
			for len(depth) > 0 && depth[len(depth)-1] == level {
				open, depth = open[:len(open)-1], depth[:len(depth)-1]
			}
			level--
		case xml.CharData:
			for _, e := range open {
				e.text += string(x)
			}
		}
	}
	return out
}

func studyFixture() *StudyReport {
	dims := sample.Space{{Name: "fast", Low: 2, High: 50, Int: true}, {Name: "ratio", Low: 0.01, High: 0.2}, {Name: "mode", Choices: []string{"a", "b<c"}}}
	r := rand.New(rand.NewPCG(1, 2))
	rep := &StudyReport{Title: "<script>alert(1)</script>", Loss: "SharpeHyperOptLoss", Sampler: "tpe", Seed: 3, Jobs: 2, Epochs: 3000,
		Spaces: []string{"buy"}, Dims: dims}
	for i := range 3000 {
		x := []float64{float64(2 + r.IntN(49)), 0.01 + 0.19*r.Float64(), float64(r.IntN(2))}
		tr := StudyTrial{Number: i + 1, Point: x, Loss: math.Abs(x[0]-20)/10 + r.NormFloat64()*0.1,
			Trades: 10 + r.IntN(100), ProfitTotal: r.NormFloat64() * 0.1}
		switch {
		case i%97 == 0:
			tr.Failed, tr.Loss = true, math.Inf(1)
			rep.Failed++
		case i%89 == 0:
			tr.Loss, tr.Capped = 100_000, true
		}
		rep.Trials = append(rep.Trials, tr)
	}
	// Importance as the optimiser ranks it (fast decides the loss).
	rep.Importance = []StudyImportance{{Name: "fast", Share: 0.8, Chance: 0.003, Bins: 10}, {Name: "ratio", Share: 0.004, Chance: 0.003, Bins: 10},
		{Name: "mode", Share: 0.001, Chance: 0.0003, Bins: 2}}
	// The overfitting figures of some returns, through overfit's functions.
	returns := make([][]float64, 40)
	for i := range returns {
		returns[i] = make([]float64, 200)
		for j := range returns[i] {
			returns[i][j] = r.NormFloat64()*0.01 + float64(i)*1e-5
		}
	}
	d, best, _ := overfit.DeflateBest(returns)
	c, _ := overfit.PBO(returns, 16)
	rep.Overfitting = StudyOverfitting{Trials: 40, Periods: 200, Best: best + 1, DSR: d.DSR, Deflated: d, PBO: c.PBO, CSCV: c,
		Ranked: 40, Verdict: overfit.Verdict(d.DSR, c.PBO)}
	return rep
}

// The study report holds its sections, each with what it is about, and
// shows the overfitting figures it is given.
func TestStudyReportSections(t *testing.T) {
	rep := studyFixture()
	var buf bytes.Buffer
	if err := WriteStudyHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"NaN", "<script>", "Inf", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	s := parseSections(t, page)
	for _, id := range []string{"top-trials", "convergence", "importance", "parameters", "overfitting", "convergence-chart", "scatter-fast", "scatter-ratio", "scatter-mode"} {
		if s[id] == nil {
			t.Fatalf("no element %q", id)
		}
	}
	if n := s["top-trials"].count["tr"]; n != StudyTop+1 {
		t.Errorf("best trials table has %d rows, want %d and a head", n, StudyTop)
	}
	if n := s["convergence-chart"].count["circle"]; n == 0 || n > maxChartPoints {
		t.Errorf("convergence plot has %d dots", n)
	}
	if s["convergence-chart"].count["path"] != 1 {
		t.Error("no best-so-far line")
	}
	imp := s["importance"].text
	if !strings.Contains(imp, "fast") || !strings.Contains(imp, "ratio") || strings.Index(imp, "fast") > strings.Index(imp, "ratio") {
		t.Errorf("importance does not rank fast (which decides the loss) first:\n%s", imp)
	}
	if !strings.Contains(s["scatter-mode"].text, "b<c") {
		t.Error("a choice's name is not on its plot's axis")
	}
	of := s["overfitting"].text
	o := rep.Overfitting
	for _, want := range []string{o.Verdict, strconv.FormatFloat(o.DSR, 'f', 2, 64), strconv.FormatFloat(100*o.PBO, 'f', 0, 64) + "%", "Deflated Sharpe ratio", "Probability of backtest overfitting"} {
		if !strings.Contains(of, want) {
			t.Errorf("overfitting section lacks %q:\n%s", want, of)
		}
	}
	if !strings.Contains(s["top-trials"].text, "b<c") && !strings.Contains(s["top-trials"].text, "a") {
		t.Error("best trials lack their values")
	}
}

// A study without a successful trial still makes a page.
func TestStudyReportEmpty(t *testing.T) {
	rep := &StudyReport{Title: "x", Trials: []StudyTrial{{Number: 1, Failed: true, Loss: math.Inf(1)}}, Failed: 1,
		Overfitting: StudyOverfitting{DSR: math.NaN(), PBO: math.NaN(), Verdict: overfit.Verdict(math.NaN(), math.NaN()),
			Notes: []string{"no trial finished"}}}
	var buf bytes.Buffer
	if err := WriteStudyHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "NaN") || !strings.Contains(buf.String(), "Not enough trials") {
		t.Error("empty study page")
	}
	parseSections(t, buf.String())
}
