package binanceapi

import (
	"github.com/tradai/tradai/internal/sim"
)

// The /sim/v1 admin endpoints, not Binance's: the simulation clock and
// accounts. Errors use Binance's {"code","msg"} shape too.
func (s *Server) adminRoutes() {
	none := fixedWeight(0)
	s.handle("GET /sim/v1/clock", admin, none, s.clock)
	s.clockRoutes()
	s.handle("POST /sim/v1/step", admin, none, func(c *call) (any, error) {
		n, ok, err := c.p.long("candles")
		if err != nil {
			return nil, err
		}
		if !ok {
			n = 1
		}
		if s.cfg.Feed == nil {
			return nil, &sim.Error{Code: sim.CodeUnsupportedOpertn, Msg: "This simulator replays no market data."}
		}
		if n < 1 || n > 1_000_000 {
			return nil, &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'candles' is not valid."}
		}
		if err := s.cfg.Feed.Step(int(n)); err != nil {
			return nil, err
		}
		if err := s.sync(c); err != nil {
			return nil, err
		}
		return s.clock(c)
	})
	s.handle("POST /sim/v1/advance", admin, none, func(c *call) (any, error) {
		t, ok, err := c.p.long("time")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, sim.MandatoryParam("time")
		}
		if s.cfg.Feed == nil {
			return nil, &sim.Error{Code: sim.CodeUnsupportedOpertn, Msg: "This simulator replays no market data."}
		}
		if err := s.cfg.Feed.AdvanceTo(t); err != nil {
			return nil, err
		}
		if err := s.sync(c); err != nil {
			return nil, err
		}
		return s.clock(c)
	})
	s.handle("POST /sim/v1/accounts", admin, none, func(c *call) (any, error) {
		if s.cfg.Accounts == nil {
			return nil, &sim.Error{Code: sim.CodeUnsupportedOpertn, Msg: "This simulator cannot create accounts."}
		}
		name := c.p.str("name")
		if name == "" {
			return nil, sim.MandatoryParam("name")
		}
		tenant := c.p.str("tenant")
		if tenant == "" {
			tenant = "default"
		}
		k, err := s.cfg.Accounts.CreateAccount(c.ctx, tenant, name)
		if err != nil {
			return nil, err
		}
		return map[string]string{"account": k.Account, "apiKey": k.APIKey, "secretKey": k.Secret}, nil
	})
	s.handle("POST /sim/v1/fund", admin, none, func(c *call) (any, error) {
		acct, asset := c.p.str("account"), c.p.str("asset")
		if acct == "" {
			return nil, sim.MandatoryParam("account")
		}
		if asset == "" {
			return nil, sim.MandatoryParam("asset")
		}
		amount, err := c.p.dec("amount")
		if err != nil {
			return nil, err
		}
		if amount == 0 {
			return nil, sim.MandatoryParam("amount")
		}
		b, err := s.cfg.Engine.Fund(s.simNow(c), acct, asset, amount)
		if err != nil {
			return nil, &sim.Error{Code: sim.CodeInvalidParameter, Msg: err.Error()}
		}
		if err := s.sync(c); err != nil {
			return nil, err
		}
		return balanceResp{Asset: b.Asset, Free: b.Free, Locked: b.Locked}, nil
	})
}

func (s *Server) clock(c *call) (any, error) {
	out := map[string]any{"simTime": s.simNow(c), "serverTime": c.wall.UnixMilli(), "ended": false}
	if s.cfg.Feed != nil {
		out["ended"] = s.cfg.Feed.Ended()
	}
	s.clockRate(out)
	return out, nil
}
