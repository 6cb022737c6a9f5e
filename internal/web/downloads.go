package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// Downloads queue and show market data downloads (api.Server: the API's
// own path, with its checks). Errors are *apitype.Problem; another
// tenant's download is a 404.
type Downloads interface {
	SubmitDownload(ctx context.Context, p tenancy.Principal, req apitype.DownloadRequest, idempotencyKey string) (runs.Run, error)
	Download(ctx context.Context, p tenancy.Principal, id string) (apitype.Run, error)
}

// downloadForm is the download form with what the user entered and, by
// field, what is wrong with it.
type downloadForm struct {
	Key, Exchange, Pairs, Timeframes, Timerange string
	Errors                                      map[string]string
	Problem                                     string
}

func (f downloadForm) Err(field string) string { return f.Errors[field] }

// downloadFields are the fields of the download form.
var downloadFields = map[string]bool{"exchange": true, "pairs": true, "timeframes": true, "timerange": true}

func (s *Server) newDownloadPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := downloadForm{Key: newKey(), Exchange: "binance", Pairs: q.Get("pairs"), Timeframes: q.Get("timeframes"), Timerange: q.Get("timerange")}
	if f.Timeframes == "" {
		f.Timeframes = "5m"
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Download market data", "data", downloadFormBody(f, sess.csrf)))
}

// submitDownload sends the form through the API's SubmitDownload; a
// refusal comes back with the form, each error under its field.
func (s *Server) submitDownload(w http.ResponseWriter, r *http.Request, sess *session) {
	pf := r.PostForm
	f := downloadForm{Key: pf.Get("key"), Exchange: strings.TrimSpace(pf.Get("exchange")), Pairs: pf.Get("pairs"), Timeframes: pf.Get("timeframes"),
		Timerange: strings.TrimSpace(pf.Get("timerange")), Errors: map[string]string{}}
	req := apitype.DownloadRequest{Exchange: f.Exchange, Pairs: splitList(f.Pairs), Timeframes: splitList(f.Timeframes), Timerange: f.Timerange}
	run, err := s.d.Downloads.SubmitDownload(r.Context(), sess.p, req, f.Key)
	p := problemOf(err)
	switch {
	case err == nil:
		http.Redirect(w, r, "/data/downloads/"+run.ID, http.StatusSeeOther)
		return
	case p != nil && p.Status < 500:
		for _, e := range p.Errors {
			if e == nil {
				continue
			}
			field := formField(e.Location)
			if !downloadFields[field] {
				f.Problem = strings.TrimSpace(f.Problem + " " + e.Message)
				continue
			}
			if _, ok := f.Errors[field]; !ok {
				f.Errors[field] = e.Message
			}
		}
		if len(p.Errors) == 0 {
			f.Problem = p.Detail
		}
	default:
		s.fail(w, r, sess, "queueing the download", err)
		return
	}
	if f.Key == "" {
		f.Key = newKey()
	}
	s.render(w, r, http.StatusUnprocessableEntity, s.page(sess, "Download market data", "data", downloadFormBody(f, sess.csrf)))
}

// downloadView is a download run as its page shows it.
type downloadView struct {
	ID, Status, Error, Created string
	Progress                   float64
	Active                     bool
	Request                    apitype.DownloadRequest
	Steps                      []apitype.Step
}

func downloadViewOf(v apitype.Run) downloadView {
	d := downloadView{ID: v.ID, Status: v.Status, Error: v.Error, Progress: v.Progress, Created: v.CreatedAt.Format("2006-01-02 15:04:05"),
		Active: v.Status == string(runs.Queued) || v.Status == string(runs.Running), Steps: v.Steps}
	_ = json.Unmarshal(v.Config, &d.Request) // the server's own JSON
	return d
}

func (s *Server) downloadPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v, err := s.d.Downloads.Download(r.Context(), sess.p, r.PathValue("id"))
	if err != nil {
		s.opFailed(w, r, sess, "reading the download", err)
		return
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Download "+v.ID, "data", downloadBody(downloadViewOf(v))))
}

// downloadStatus is the download page's live part, polled while the run
// is queued or running.
func (s *Server) downloadStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	v, err := s.d.Downloads.Download(r.Context(), sess.p, r.PathValue("id"))
	if err != nil {
		s.fragmentFailed(w, r, "reading the download", err)
		return
	}
	s.render(w, r, http.StatusOK, downloadLive(downloadViewOf(v)))
}

func joinList(xs []string) string { return strings.Join(xs, ", ") }
