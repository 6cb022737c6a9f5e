package binanceapi

import (
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestClockControl(t *testing.T) {
	e := setup(t, nil)
	var c struct {
		SimTime int64
		Speed   float64
		Paused  bool
		Live    bool
	}
	e.do(t, "POST", "/sim/v1/clock", "paused=true", "", nil).decode(t, &c)
	if !c.Paused || c.Speed != 1 || c.Live {
		t.Fatalf("after pause: %+v", c)
	}
	e.do(t, "POST", "/sim/v1/clock", "speed=2.5&paused=false", "", nil).decode(t, &c)
	if c.Paused || c.Speed != 2.5 {
		t.Fatalf("after resume at 2.5: %+v", c)
	}
	if sp, p := e.feed.Rate(); sp != 2.5 || p {
		t.Fatalf("feed rate %v, paused %v", sp, p)
	}
	e.do(t, "GET", "/sim/v1/clock", "", "", nil).decode(t, &c)
	if c.Speed != 2.5 || c.Paused {
		t.Fatalf("GET clock: %+v", c)
	}
	e.do(t, "POST", "/sim/v1/clock", "speed=0", "", nil).wantError(t, 400, -1130, "")
	e.do(t, "POST", "/sim/v1/clock", "paused=yes", "", nil).wantError(t, 400, -1130, "")
	guarded := setup(t, func(c *Config) { c.AdminToken = "tok" })
	guarded.do(t, "POST", "/sim/v1/clock", "paused=true", "", nil).wantError(t, 401, -1002, "")
	if _, p := guarded.feed.Rate(); p {
		t.Fatal("paused without the admin token")
	}
}

// FuzzClockControl: whatever the parameters, the answer is 200 or 400 and
// the clock keeps a positive, finite speed.
func FuzzClockControl(f *testing.F) {
	for _, s := range [][2]string{{"2", "true"}, {"0", ""}, {"-1", "false"}, {"NaN", "1"}, {"Inf", "x"}, {"1e400", ""}, {"0x10", "T"}} {
		f.Add(s[0], s[1])
	}
	e := setup(f, nil)
	f.Fuzz(func(t *testing.T, speed, paused string) {
		q := url.Values{}
		if speed != "" {
			q.Set("speed", speed)
		}
		if paused != "" {
			q.Set("paused", paused)
		}
		req := httptest.NewRequest("POST", "/sim/v1/clock?"+q.Encode(), nil)
		rec := httptest.NewRecorder()
		e.s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("speed %q paused %q: %d %s", speed, paused, rec.Code, rec.Body)
		}
		if sp, _ := e.feed.Rate(); !(sp > 0) || math.IsInf(sp, 0) {
			t.Fatalf("speed %q paused %q left the clock at speed %v", speed, paused, sp)
		}
	})
}
