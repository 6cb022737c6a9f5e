package web

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
)

// studyRow is a study as the list and its page show it.
type studyRow struct {
	ID, Strategy, Status, Created, Started, Finished, Tags, Error string
	Loss, Sampler, Spaces, Dimensions, Best                       string
	Epochs, Asked, Completed, Failed, Running, Pending            int
	Progress                                                      float64
	Active, CanCancel, CanResume                                  bool
	// Opened: a worker opened the study's strategy, so its report (and
	// the overfitting figures in it) can be drawn.
	Opened bool
}

func studyRowOf(st apitype.Study) studyRow {
	v := studyRow{ID: st.ID, Strategy: st.Strategy, Status: st.Status, Created: st.CreatedAt.Format("2006-01-02 15:04"),
		Loss: st.Loss, Sampler: st.Sampler, Spaces: strings.Join(st.Spaces, " "), Dimensions: strings.Join(st.Dimensions, ", "), Error: st.Error,
		Epochs: st.Epochs, Asked: st.Asked, Completed: st.Trials.Completed, Failed: st.Trials.Failed, Running: st.Trials.Running, Pending: st.Trials.Pending,
		Active: st.Status == "queued" || st.Status == "running", Opened: len(st.Dimensions) > 0}
	if st.StrategyVersion > 0 {
		v.Strategy += "@" + strconv.Itoa(st.StrategyVersion)
	}
	if st.Epochs > 0 {
		v.Progress = min(1, float64(st.Trials.Completed+st.Trials.Failed)/float64(st.Epochs))
	}
	if st.StartedAt != nil {
		v.Started = st.StartedAt.Format("2006-01-02 15:04:05")
	}
	if st.FinishedAt != nil {
		v.Finished = st.FinishedAt.Format("2006-01-02 15:04:05")
	}
	var tags []string
	for _, k := range slices.Sorted(maps.Keys(st.Tags)) {
		tags = append(tags, k+"="+st.Tags[k])
	}
	v.Tags = strings.Join(tags, " ")
	_, v.CanCancel = st.Links["cancel"]
	_, v.CanResume = st.Links["resume"]
	if len(st.Best) > 0 && st.Best[0].Loss != nil {
		v.Best = lossText(*st.Best[0].Loss)
	}
	return v
}

func lossText(l float64) string { return strconv.FormatFloat(l, 'g', 6, 64) }

var studyStatuses = []string{"queued", "running", "completed", "failed", "cancelled", "dead_letter"}

type studiesView struct {
	Rows []studyRow
	// WalkForwards are the latest walk-forward analyses (nil: the server
	// shows none).
	WalkForwards []walkForwardRow
	ShowWalks    bool
	Status       string
	Statuses     []string
	Next         string
}

func (s *Server) studiesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	v := studiesView{Status: q.Get("status"), Statuses: studyStatuses}
	if v.Status != "" && !slices.Contains(studyStatuses, v.Status) {
		v.Status = ""
	}
	page, err := s.d.Studies.List(r.Context(), sess.p, v.Status, q.Get("cursor"), s.o.PageSize)
	if p := problemOf(err); p != nil && p.Status == http.StatusUnprocessableEntity {
		page, err = s.d.Studies.List(r.Context(), sess.p, v.Status, "", s.o.PageSize)
	}
	if err != nil {
		s.opFailed(w, r, sess, "listing studies", err)
		return
	}
	for _, st := range page.Studies {
		v.Rows = append(v.Rows, studyRowOf(st))
	}
	if page.NextCursor != "" {
		v.Next = "/studies?status=" + v.Status + "&cursor=" + page.NextCursor
	}
	if s.d.WalkForwards != nil {
		if v.WalkForwards, err = s.walkForwardRows(r.Context(), sess.p); err != nil {
			s.opFailed(w, r, sess, "listing walk-forwards", err)
			return
		}
		v.ShowWalks = true
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Studies", "studies", studiesBody(v)))
}

// topTrials is how many of the best trials a study's page lists.
const topTrials = 20

type trialRow struct {
	Number, Loss, Trades, WDL, Profit, ProfitAbs, Drawdown, Sharpe, Took, Params, ProfitClass string
}

type importanceRow struct {
	Name, Share, Chance string
	Width               int // the bar's width in percent
	Above               bool
}

type studyView struct {
	St         studyRow
	Top        []trialRow
	Importance []importanceRow
	Message    string
}

func trialRowOf(t apitype.Trial) trialRow {
	v := trialRow{Number: strconv.Itoa(t.Number), Trades: strconv.Itoa(t.Trades), WDL: fmt.Sprintf("%d/%d/%d", t.Wins, t.Draws, t.Losses),
		Profit: pct(t.Profit), ProfitAbs: price(t.ProfitAbs), Drawdown: pct(t.Drawdown), Sharpe: num2(t.Sharpe),
		Took: (time.Duration(t.DurationMs) * time.Millisecond).Round(time.Millisecond).String(), ProfitClass: sign(t.Profit)}
	if t.Loss != nil {
		v.Loss = lossText(*t.Loss)
	}
	var ps []string
	for _, k := range slices.Sorted(maps.Keys(t.Params)) {
		ps = append(ps, k+"="+fmt.Sprint(t.Params[k]))
	}
	if t.Risk != nil {
		if t.Risk.Stoploss != 0 {
			ps = append(ps, "stoploss="+strconv.FormatFloat(t.Risk.Stoploss, 'g', 4, 64))
		}
		if len(t.Risk.MinimalROI) > 0 {
			if roi, err := t.Risk.MinimalROI.MarshalJSON(); err == nil {
				ps = append(ps, "roi="+string(roi))
			}
		}
	}
	v.Params = strings.Join(ps, " ")
	return v
}

func (s *Server) studyPage(w http.ResponseWriter, r *http.Request, sess *session) {
	st, err := s.d.Studies.Get(r.Context(), sess.p, r.PathValue("id"), topTrials)
	if err != nil {
		s.opFailed(w, r, sess, "reading the study", err)
		return
	}
	v := studyView{St: studyRowOf(st), Message: r.URL.Query().Get("done")}
	for _, t := range st.Best {
		v.Top = append(v.Top, trialRowOf(t))
	}
	for _, pi := range st.Importance {
		v.Importance = append(v.Importance, importanceRow{Name: pi.Name, Share: pct(pi.Share), Chance: pct(pi.Chance),
			Width: int(math.Round(100 * min(1, max(0, pi.Share)))), Above: pi.Share > 2*pi.Chance})
	}
	s.render(w, r, http.StatusOK, s.chartPage(sess, "Study "+st.ID, "studies", studyBody(v, sess.csrf)))
}

// studyStatus is a study's live part (status, progress, best loss),
// polled while it is queued or running.
func (s *Server) studyStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	st, err := s.d.Studies.Get(r.Context(), sess.p, r.PathValue("id"), 1)
	if err != nil {
		s.fragmentFailed(w, r, "reading the study", err)
		return
	}
	s.render(w, r, http.StatusOK, studyLive(studyRowOf(st)))
}

// convergenceData is the loss of each completed trial by number and the
// best loss so far, for the convergence chart.
type convergenceData struct {
	Loss []point `json:"loss"`
	Best []point `json:"best"`
}

// maxConvergence bounds the trials the convergence chart reads.
const maxConvergence = 100_000

// studyConvergence is the convergence chart's data as JSON.
func (s *Server) studyConvergence(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	var out convergenceData
	best := math.Inf(1)
	for offset := 0; offset < maxConvergence; {
		page, err := s.d.Studies.Trials(r.Context(), sess.p, id, "number", offset, 1000)
		if err != nil {
			if p := problemOf(err); p != nil && p.Status == http.StatusNotFound {
				http.NotFound(w, r)
				return
			}
			s.d.Log.Error("web: study convergence", "err", err)
			http.Error(w, "reading the trials failed", http.StatusInternalServerError)
			return
		}
		for _, t := range page.Trials {
			if t.Loss == nil {
				continue
			}
			best = min(best, *t.Loss)
			out.Loss = append(out.Loss, point{int64(t.Number), *t.Loss})
			out.Best = append(out.Best, point{int64(t.Number), best})
		}
		if page.NextOffset == 0 {
			break
		}
		offset = page.NextOffset
	}
	writeJSON(w, out)
}

// studyExport downloads the best trial as Freqtrade's parameter file.
func (s *Server) studyExport(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	b, err := s.d.Studies.Export(r.Context(), sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "exporting the study", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(id)+`.json"`)
	_, _ = w.Write(b)
}

// studyReport serves the study's HTML report in a sandbox, frameable by
// the study's page, which shows its overfitting part.
func (s *Server) studyReport(w http.ResponseWriter, r *http.Request, sess *session) {
	b, err := s.d.Studies.Report(r.Context(), sess.p, r.PathValue("id"))
	if err != nil {
		s.opFailed(w, r, sess, "rendering the study's report", err)
		return
	}
	writeReport(w, b, true)
}

// safeFileName keeps letters, digits, '-' and '_' of s.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
}

type studyAction struct{ Title, Question, Button, Done string }

var studyActions = map[string]studyAction{
	"cancel": {Title: "Cancel", Button: "Cancel the study", Done: "cancelled",
		Question: "Cancel this study? Its running trials stop; the finished ones are kept and it can be resumed later."},
	"resume": {Title: "Resume", Button: "Resume the study", Done: "resumed",
		Question: "Put this study back in the queue? It asks the trials it had not finished again first."},
}

// studyConfirm asks before a study is cancelled or resumed.
func (s *Server) studyConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("action")
	a, ok := studyActions[name]
	if !ok {
		s.notFound(w, r, sess)
		return
	}
	st, err := s.d.Studies.Get(r.Context(), sess.p, r.PathValue("id"), 0)
	if err != nil {
		s.opFailed(w, r, sess, "reading the study", err)
		return
	}
	v := actionView{ID: st.ID, Action: "/studies/" + st.ID + "/" + name, Question: a.Question, Button: a.Button, Title: a.Title + " study " + st.ID}
	s.render(w, r, http.StatusOK, s.page(sess, v.Title, "studies", actionConfirmBody(v, sess.csrf)))
}

// studyAction cancels or resumes a study through the study operations.
func (s *Server) studyAction(w http.ResponseWriter, r *http.Request, sess *session) {
	id, name := r.PathValue("id"), r.PathValue("action")
	a, ok := studyActions[name]
	if !ok {
		s.notFound(w, r, sess)
		return
	}
	var err error
	if name == "cancel" {
		_, err = s.d.Studies.Cancel(r.Context(), sess.p, id)
	} else {
		_, err = s.d.Studies.Resume(r.Context(), sess.p, id)
	}
	if err != nil {
		s.opFailed(w, r, sess, a.Title+" the study", err)
		return
	}
	http.Redirect(w, r, "/studies/"+id+"?done="+a.Done, http.StatusSeeOther)
}
