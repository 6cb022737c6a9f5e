package binanceapi

import (
	"strconv"

	"github.com/tradai/tradai/internal/sim"
)

// clockRoutes adds POST /sim/v1/clock: pause, resume or change the speed
// of the simulation clock at runtime (speed=X, a positive factor;
// paused=true|false; either or both). The answer is the clock, as GET
// shows it. A live market's clock follows the wall clock and refuses.
func (s *Server) clockRoutes() {
	s.handle("POST /sim/v1/clock", admin, fixedWeight(0), func(c *call) (any, error) {
		if s.cfg.Feed == nil {
			return nil, &sim.Error{Code: sim.CodeUnsupportedOpertn, Msg: "This simulator replays no market data."}
		}
		speed, paused := s.cfg.Feed.Rate()
		if v := c.p.str("speed"); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x > 0) || x > 1e6 {
				return nil, &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'speed' is not valid: want a factor above 0 and at most 1000000."}
			}
			speed = x
		}
		if v := c.p.str("paused"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'paused' is not valid: want true or false."}
			}
			paused = b
		}
		if err := s.cfg.Feed.SetRate(speed, paused); err != nil {
			return nil, err // replay.ErrLiveClock is a *sim.Error
		}
		return s.clock(c)
	})
}

// clockRate adds how the clock runs to the clock's answer.
func (s *Server) clockRate(out map[string]any) {
	if s.cfg.Feed == nil {
		return
	}
	out["speed"], out["paused"] = s.cfg.Feed.Rate()
	out["live"] = s.cfg.Feed.Live()
}
