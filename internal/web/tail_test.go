package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/tenancy"
)

// logOnly is a deployment whose log holds the lines first..last, as the
// store keeps them (numbered without gaps, the oldest dropped).
type logOnly struct {
	Deployments
	first, last int64
	calls       int
}

func (l *logOnly) Logs(_ context.Context, _ tenancy.Principal, _ string, after int64, limit int, _ time.Duration) (apitype.LogPage, error) {
	l.calls++
	page := apitype.LogPage{Lines: []apitype.LogLine{}, Next: after}
	for seq := max(after+1, l.first); seq <= l.last && len(page.Lines) < limit; seq++ {
		page.Lines = append(page.Lines, apitype.LogLine{Seq: seq})
		page.Next = seq
	}
	return page, nil
}

// The log's tail is the newest lines, found with few single-line reads
// whatever the log's length.
func TestTailAfter(t *testing.T) {
	for _, c := range []struct{ first, last, want int64 }{
		{1, 0, 0},          // empty
		{1, 1, 0},          // one line
		{1, 150, 0},        // fewer than the tail
		{1, 200, 0},        // just the tail
		{1, 201, 1},        // one more
		{1, 10_000, 9_800}, // a full log
		{5_001, 15_000, 14_800},
		{999_001, 1_000_000, 999_800},
		{40, 60, 39}, // the oldest were dropped
	} {
		l := &logOnly{first: c.first, last: c.last}
		s := &Server{d: Deps{Deployments: l}}
		got, err := s.tailAfter(httptest.NewRequest("GET", "/", nil), &session{}, "dep_x", 200)
		if err != nil {
			t.Fatal(err)
		}
		if c.last < c.first {
			c.want = 0
		}
		if got != c.want {
			t.Errorf("lines %d..%d: after=%d, want %d", c.first, c.last, got, c.want)
		}
		if l.calls > 40 {
			t.Errorf("lines %d..%d: %d reads", c.first, c.last, l.calls)
		}
	}
}

// Log lines are text, whatever the strategy logged.
func TestLogLinesAreEscaped(t *testing.T) {
	var b strings.Builder
	v := logView{ID: "dep_x", Live: true, Next: 7, Lines: []logRow{{Seq: "7", Level: "INFO", Msg: `<script>alert(1)</script>`, Attrs: `pair="><img src=x>`}}}
	if err := logLines(v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), "<img") {
		t.Errorf("unescaped: %s", b.String())
	}
	if !strings.Contains(b.String(), `hx-get="/deployments/dep_x/logs?after=7"`) {
		t.Errorf("no poll for the lines after 7: %s", b.String())
	}
}
