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

// candleJSON is a candle as lightweight-charts takes it.
type candleJSON struct {
	Time  int64   `json:"time"`
	Open  float64 `json:"open"`
	High  float64 `json:"high"`
	Low   float64 `json:"low"`
	Close float64 `json:"close"`
}

type marker struct {
	Time     int64  `json:"time"`
	Position string `json:"position"`
	Shape    string `json:"shape"`
	Color    string `json:"color"`
	Text     string `json:"text"`
}

// linePoint is a point of a line; the segment to the next point has the
// point's colour (transparent between trades: the chart joins the points
// across whitespace).
type linePoint struct {
	Time  int64   `json:"time"`
	Value float64 `json:"value"`
	Color string  `json:"color"`
}

type candleData struct {
	Pair    string       `json:"pair"`
	Candles []candleJSON `json:"candles"`
	Markers []marker     `json:"markers"`
	Stops   []linePoint  `json:"stops"`
	ROI     []linePoint  `json:"roi"`
	Note    string       `json:"note,omitempty"`
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
	out := candleData{Pair: pair, Candles: []candleJSON{}, Markers: []marker{}, Stops: []linePoint{}, ROI: []linePoint{}}
	st, err := market.Open(s.d.DataDir, s.d.Log)
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
		out.Candles = make([]candleJSON, ps.Len())
		for i := range ps.Time {
			out.Candles[i] = candleJSON{ps.Time[i] / 1000, ps.Open[i], ps.High[i], ps.Low[i], ps.Close[i]}
		}
	}
	roi := s.roiTable(r, sess, run)
	last, lastROI := int64(-1), int64(-1)
	for _, t := range res.Trades {
		if t.Pair != pair {
			continue
		}
		open, closed := t.OpenTime/1000, t.CloseTime/1000
		entry := marker{Time: open, Position: "belowBar", Shape: "arrowUp", Color: "#1565c0", Text: "entry"}
		if t.IsShort {
			entry.Position, entry.Shape = "aboveBar", "arrowDown"
		}
		color := "#2e7d32"
		if t.ProfitRatio < 0 {
			color = "#c62828"
		}
		exit := marker{Time: closed, Position: "aboveBar", Shape: "circle", Color: color, Text: string(t.ExitReason)}
		out.Markers = append(out.Markers, entry, exit)
		if stop := t.StopLoss; stop > 0 && open > last && closed > open {
			out.Stops = append(out.Stops, linePoint{open, stop, "#e03131"}, linePoint{closed, stop, "rgba(0,0,0,0)"})
			last = closed
		}
		// The take-profit levels as steps: each level from its age to the
		// next one's, hidden after the exit.
		if levels := report.ROILevels(roi, &t, t.CloseTime); len(levels) > 0 && open > lastROI && closed > levels[len(levels)-1].From/1000 {
			for _, lv := range levels {
				if at := lv.From / 1000; at > lastROI {
					out.ROI = append(out.ROI, linePoint{at, lv.Price, "#2f9e44"})
					lastROI = at
				}
			}
			out.ROI = append(out.ROI, linePoint{closed, levels[len(levels)-1].Price, "rgba(0,0,0,0)"})
			lastROI = closed
		}
	}
	slices.SortStableFunc(out.Markers, func(a, b marker) int { return int(a.Time - b.Time) })
	writeJSON(w, out)
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
