package report

import (
	"bytes"
	"strings"
	"testing"
)

// A JSON export read back renders the same summary and report, and writes
// the same export again.
func TestReadJSONRoundTrip(t *testing.T) {
	res, m := smallFixture()
	first := writeJSON(t, res, m)
	back, bm, err := ReadJSON(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if again := writeJSON(t, back, bm); !bytes.Equal(again, first) {
		t.Errorf("export of the read-back result differs:\n%s", again)
	}
	var want, got bytes.Buffer
	if err := WriteSummary(&want, res, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummary(&got, back, bm); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("summary of the read-back result differs:\n%s\nwant:\n%s", got.String(), want.String())
	}
	want.Reset()
	got.Reset()
	if err := NewFiles(res, known(m), nil).WriteHTML(&want); err != nil {
		t.Fatal(err)
	}
	if err := NewFiles(back, known(bm), nil).WriteHTML(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Error("HTML report of the read-back result differs")
	}
}

func TestReadJSONRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "[]", `{"trades": 3}`} {
		if _, _, err := ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("ReadJSON(%q) accepted", in)
		}
	}
}

// WriteMetrics is WriteSummary's metrics table without the result's facts.
func TestWriteMetrics(t *testing.T) {
	res, m := smallFixture()
	var full, compact bytes.Buffer
	if err := WriteSummary(&full, res, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteMetrics(&compact, m.Summary, "USDT"); err != nil {
		t.Fatal(err)
	}
	out := compact.String()
	for _, s := range []string{"SUMMARY METRICS", "Backtesting from", "Final balance", "USDT", "Sharpe (daily equity)", "Best pair"} {
		if !strings.Contains(out, s) {
			t.Errorf("metrics table lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "Trading mode") || strings.Contains(out, "Max open trades") {
		t.Errorf("metrics table shows facts it cannot know:\n%s", out)
	}
	// Its rows are the full summary's, less the facts.
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "│ Sharpe") && !strings.Contains(full.String(), strings.TrimSpace(line[len("│"):])) {
			t.Errorf("row %q is not in the full summary", line)
		}
	}
}
