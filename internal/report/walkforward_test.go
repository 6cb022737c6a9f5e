package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
)

// walkFixture is a walk-forward of one window whose training and test
// are the large fixture.
func walkFixture(t *testing.T) *WalkForwardReport {
	t.Helper()
	is, ism := largeFixture()
	oos, oosm := largeFixture()
	w := WalkWindow{Index: 0, TrainStart: is.Start, TrainEnd: is.End, TestStart: oos.Start, TestEnd: oos.End,
		Trials: 50, BestTrial: 7, Params: sdk.Values{"fast": 9}, Risk: sdk.Risk{Stoploss: -0.1, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.05}}},
		InSample: ism.Summary, OutOfSample: oosm.Summary, DSR: 0.3, PBO: math.NaN(), Verdict: "Likely overfit: it is.", Efficiency: 0.42}
	return &WalkForwardReport{Title: "sma_cross", Loss: "sharpe", Sampler: "tpe", Seed: 1, Epochs: 50, Train: "90d", Test: "30d", Step: "30d",
		Windows: []WalkWindow{w}, OOS: oos, OOSMetrics: oosm, Efficiency: math.NaN()}
}

// The walk-forward report puts in sample beside out of sample per window
// and draws the stitched equity; the JSON export carries the same.
func TestWalkForwardReport(t *testing.T) {
	rep := walkFixture(t)
	var buf bytes.Buffer
	if err := WriteWalkForwardHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "NaN") {
		t.Error("the page contains NaN")
	}
	s := parseSections(t, page)
	if s["oos-equity"] == nil || s["oos-equity"].count["path"] == 0 {
		t.Fatal("no stitched equity chart")
	}
	win := s["windows"]
	if win == nil || win.count["tr"] != 3 {
		t.Fatalf("windows table: %+v", win)
	}
	ism, oosm := rep.Windows[0].InSample, rep.Windows[0].OutOfSample
	for _, want := range []string{"In sample", "Out of sample", pctSigned(ism.ProfitTotal, 2), pctSigned(oosm.ProfitTotal, 2), "0.42", "Likely overfit", "fast", "stoploss"} {
		if !strings.Contains(win.text, want) {
			t.Errorf("windows table lacks %q", want)
		}
	}
	buf.Reset()
	if err := WriteWalkForwardJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Efficiency *float64 `json:"efficiency"`
		Windows    []struct {
			Efficiency float64  `json:"efficiency"`
			PBO        *float64 `json:"pbo"`
			InSample   struct {
				Trades int `json:"total_trades"`
			} `json:"in_sample"`
		} `json:"windows"`
		OOS struct {
			Trades []json.RawMessage `json:"trades"`
		} `json:"out_of_sample"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Efficiency != nil || len(doc.Windows) != 1 || doc.Windows[0].Efficiency != 0.42 || doc.Windows[0].PBO != nil ||
		doc.Windows[0].InSample.Trades != ism.TotalTrades || len(doc.OOS.Trades) != len(rep.OOS.Trades) {
		t.Errorf("JSON: %s", buf.String()[:400])
	}
}
