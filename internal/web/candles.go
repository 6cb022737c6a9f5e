package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// maxCandles bounds the candles a pair's chart gets: more are merged into
// buckets (result.PriceSeries.Downsample), as a screen shows no more.
const maxCandles = 20_000

// The candle chart's data goes as columns (a run of 100,000 candles and
// 5,000 trades is a few MB as objects); the page's script turns them into
// the chart library's objects.

// candleColumns are candles: times in Unix seconds.
type candleColumns struct {
	Time  []int64   `json:"t"`
	Open  []float64 `json:"o"`
	High  []float64 `json:"h"`
	Low   []float64 `json:"l"`
	Close []float64 `json:"c"`
}

// tradeColumns are the trades drawn as markers: entry and exit times, 1
// for a short and for a win, the exit reasons.
type tradeColumns struct {
	Open   []int64  `json:"o"`
	Close  []int64  `json:"c"`
	Short  []int8   `json:"s"`
	Win    []int8   `json:"w"`
	Reason []string `json:"r"`
}

// lineColumns are a line's points; On[i] 1 draws the segment from point i
// to the next, 0 leaves it out (the chart would join the points across a
// gap).
type lineColumns struct {
	Time  []int64   `json:"t"`
	Value []float64 `json:"v"`
	On    []int8    `json:"on"`
}

func (l *lineColumns) add(t int64, v float64, on bool) {
	l.Time, l.Value = append(l.Time, t), append(l.Value, v)
	if on {
		l.On = append(l.On, 1)
	} else {
		l.On = append(l.On, 0)
	}
}

type candleData struct {
	Pair    string        `json:"pair"`
	Candles candleColumns `json:"candles"`
	Trades  tradeColumns  `json:"trades"`
	Stops   lineColumns   `json:"stops"`
	ROI     lineColumns   `json:"roi"`
	Note    string        `json:"note,omitempty"`
}

// runCandles is a pair's candles over a completed run's range, with its
// trades' entries and exits as markers, each trade's stop price as a line
// from entry to exit and its take-profit (ROI) levels as steps.
func (s *Server) runCandles(w http.ResponseWriter, r *http.Request, sess *session) {
	run, err := s.d.Runs.Get(r.Context(), sess.p, r.PathValue("id"))
	if errors.Is(err, runs.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.d.Log.Error("web: candles", "err", err)
		http.Error(w, "reading the run failed", http.StatusInternalServerError)
		return
	}
	res, _, err := s.readResult(r, sess, run.ID)
	if errors.Is(err, runs.ErrNotFound) || errors.Is(err, runs.ErrArtifactNotStored) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.d.Log.Error("web: candles", "err", err)
		http.Error(w, "reading the run's result failed", http.StatusInternalServerError)
		return
	}
	pair := r.URL.Query().Get("pair")
	if !slices.Contains(res.Pairs, pair) {
		http.NotFound(w, r)
		return
	}
	out := candleData{Pair: pair}
	st, err := market.OpenWith(s.d.DataDir, s.d.Log, s.d.Market)
	if err != nil {
		s.d.Log.Error("web: open the market data store", "err", err)
		http.Error(w, "opening the market data failed", http.StatusInternalServerError)
		return
	}
	typ := market.Spot
	if res.TradingMode == "futures" {
		typ = market.Futures
	}
	f, err := st.Load(r.Context(), market.Key{Exchange: res.Exchange, Pair: pair, Timeframe: res.Timeframe, Type: typ},
		market.Range{Start: res.Start, End: res.End + 1})
	if err != nil {
		out.Note = "The candles of " + pair + " are not in the data store any more."
	} else {
		ps := result.PriceSeries{Pair: pair, Time: f.Time, Open: f.Open, High: f.High, Low: f.Low, Close: f.Close}
		if ps.Len() > maxCandles {
			ps = ps.Downsample(maxCandles)
			out.Note = "Candles merged into buckets to fit the chart."
		}
		out.Candles = candleColumns{Time: make([]int64, ps.Len()), Open: ps.Open, High: ps.High, Low: ps.Low, Close: ps.Close}
		for i, t := range ps.Time {
			out.Candles.Time[i] = t / 1000
		}
	}
	roi := s.roiTable(r, sess, run)
	last, lastROI := int64(-1), int64(-1)
	for _, t := range res.Trades {
		if t.Pair != pair {
			continue
		}
		open, closed := t.OpenTime/1000, t.CloseTime/1000
		tc := &out.Trades
		tc.Open, tc.Close, tc.Reason = append(tc.Open, open), append(tc.Close, closed), append(tc.Reason, string(t.ExitReason))
		tc.Short, tc.Win = append(tc.Short, bit(t.IsShort)), append(tc.Win, bit(t.ProfitRatio >= 0))
		if stop := t.StopLoss; stop > 0 && open > last && closed > open {
			out.Stops.add(open, stop, true)
			out.Stops.add(closed, stop, false)
			last = closed
		}
		// The take-profit levels as steps: each level from its age to the
		// next one's, left out after the exit.
		if levels := report.ROILevels(roi, &t, t.CloseTime); len(levels) > 0 && open > lastROI && closed > levels[len(levels)-1].From/1000 {
			for _, lv := range levels {
				if at := lv.From / 1000; at > lastROI {
					out.ROI.add(at, lv.Price, true)
					lastROI = at
				}
			}
			out.ROI.add(closed, levels[len(levels)-1].Price, false)
			lastROI = closed
		}
	}
	writeJSON(w, out)
}

func bit(b bool) int8 {
	if b {
		return 1
	}
	return 0
}

// roiTable is the ROI table a run traded under: its config's, else its
// strategy's declared one (none when neither is known).
func (s *Server) roiTable(r *http.Request, sess *session, run runs.Run) sdk.ROITable {
	var cfg struct {
		MinimalROI *sdk.ROITable `json:"minimal_roi"`
	}
	if json.Unmarshal(run.Spec.Config, &cfg) == nil && cfg.MinimalROI != nil {
		return *cfg.MinimalROI
	}
	if run.Spec.StrategyVersion > 0 && s.d.Registry != nil {
		if v, err := s.d.Registry.Get(r.Context(), sess.p, run.Spec.Strategy+"@"+strconv.Itoa(run.Spec.StrategyVersion)); err == nil {
			return v.Spec.Risk.MinimalROI
		}
		return nil
	}
	if b, err := strategy.Lookup(run.Spec.Strategy); err == nil {
		return b.Spec().Risk.MinimalROI
	}
	return nil
}
