package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// eventsEvery is how often a deployment's event stream reads it, and
// eventsFor how long one stream lasts before the browser reconnects
// (EventSource does, after the retry the stream names).
const (
	eventsEvery = 2 * time.Second
	eventsFor   = 5 * time.Minute
)

// deploymentEvents streams a deployment's live part as server-sent
// events while it may trade: "live" with the state and figures' HTML when
// they change, "equity" with the newest equity mark ({"time": Unix
// seconds, "value"}) when there is a new one, and "end" once it stopped
// or failed. Another tenant's deployment is a 404 before any event.
func (s *Server) deploymentEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, id := r.Context(), r.PathValue("id")
	d, err := s.d.Deployments.Get(ctx, sess.p, id)
	if err != nil {
		s.fragmentFailed(w, r, "reading the deployment", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	fmt.Fprintf(w, "retry: %d\n\n", eventsEvery.Milliseconds())
	tick := s.o.Clock.NewTicker(eventsEvery)
	defer tick.Stop()
	until := s.now().Add(eventsFor)
	var lastHTML string
	var lastMark time.Time
	for {
		row := deploymentRowOf(d)
		var buf bytes.Buffer
		if err := deploymentLiveBody(row, false).Render(ctx, &buf); err != nil {
			s.d.Log.Warn("web: render the deployment's events", "err", err)
			return
		}
		if html := buf.String(); html != lastHTML {
			writeEvent(w, "live", html)
			lastHTML = html
		}
		if sm := d.Summary; sm != nil && sm.EquityAt != nil && !sm.EquityAt.Equal(lastMark) {
			b, _ := json.Marshal(struct {
				Time  int64   `json:"time"`
				Value float64 `json:"value"`
			}{sm.EquityAt.Unix(), sm.Equity})
			writeEvent(w, "equity", string(b))
			lastMark = *sm.EquityAt
		}
		if row.Terminal {
			writeEvent(w, "end", d.State)
		}
		if err := rc.Flush(); err != nil || row.Terminal || !s.now().Before(until) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case <-tick.C():
		}
		if d, err = s.d.Deployments.Get(ctx, sess.p, id); err != nil {
			if problemOf(err) == nil && ctx.Err() == nil {
				s.d.Log.Warn("web: the deployment's events", "deployment", id, "err", err)
			}
			return
		}
	}
}

// writeEvent writes one server-sent event: data's lines each as a data
// field.
func writeEvent(w http.ResponseWriter, name, data string) {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	data = strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	_, _ = w.Write([]byte(b.String()))
}
