package binanceapi

import (
	"slices"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
)

// The wallet and margin endpoints (/sapi) and the futures exchangeInfo
// that Binance clients call while they load markets — ccxt's binance class
// calls them all in loadMarkets and fetchBalance unless told not to — so a
// client with only its URLs pointed at the simulator starts. The simulator
// is a spot venue: it lists no margin pairs and no futures contracts, and
// its coins can be neither deposited nor withdrawn.
func (s *Server) sapiRoutes() {
	s.handle("GET /sapi/v1/system/status", public, fixedWeight(1), func(*call) (any, error) {
		return map[string]any{"status": 0, "msg": "normal"}, nil
	})
	s.handle("GET /sapi/v1/capital/config/getall", signed, fixedWeight(10), s.coins)
	s.handle("GET /sapi/v1/asset/tradeFee", signed, fixedWeight(1), s.tradeFee)
	// What the key may do (TradAI's accounts test reads it): spot trading,
	// never withdrawals — the simulator has none.
	s.handle("GET /sapi/v1/account/apiRestrictions", signed, fixedWeight(1), func(c *call) (any, error) {
		return map[string]any{"ipRestrict": false, "createTime": c.wall.UnixMilli(), "enableReading": true,
			"enableSpotAndMarginTrading": true, "enableWithdrawals": false, "enableInternalTransfer": false, "enableMargin": false,
			"enableFutures": false, "permitsUniversalTransfer": false, "enableVanillaOptions": false, "enablePortfolioMarginTrading": false}, nil
	})
	s.handle("GET /sapi/v1/margin/allPairs", apiKeyOnly, fixedWeight(1), func(*call) (any, error) { return []any{}, nil })
	s.handle("GET /sapi/v1/margin/isolated/allPairs", signed, fixedWeight(10), func(*call) (any, error) { return []any{}, nil })
	noContracts := func(c *call) (any, error) {
		return map[string]any{"timezone": "UTC", "serverTime": c.wall.UnixMilli(), "rateLimits": []any{}, "exchangeFilters": []any{},
			"assets": []any{}, "symbols": []any{}}, nil
	}
	s.handle("GET /fapi/v1/exchangeInfo", public, fixedWeight(1), noContracts)
	s.handle("GET /dapi/v1/exchangeInfo", public, fixedWeight(1), noContracts)
}

type coinNetwork struct {
	Network                 string    `json:"network"`
	Coin                    string    `json:"coin"`
	Name                    string    `json:"name"`
	IsDefault               bool      `json:"isDefault"`
	DepositEnable           bool      `json:"depositEnable"`
	WithdrawEnable          bool      `json:"withdrawEnable"`
	WithdrawIntegerMultiple fixed.Dec `json:"withdrawIntegerMultiple"`
	WithdrawFee             fixed.Dec `json:"withdrawFee"`
	WithdrawMin             fixed.Dec `json:"withdrawMin"`
	WithdrawMax             fixed.Dec `json:"withdrawMax"`
	MinConfirm              int       `json:"minConfirm"`
	Busy                    bool      `json:"busy"`
}

type coinConfig struct {
	Coin              string        `json:"coin"`
	Name              string        `json:"name"`
	DepositAllEnable  bool          `json:"depositAllEnable"`
	WithdrawAllEnable bool          `json:"withdrawAllEnable"`
	Free              fixed.Dec     `json:"free"`
	Locked            fixed.Dec     `json:"locked"`
	Freeze            fixed.Dec     `json:"freeze"`
	Withdrawing       fixed.Dec     `json:"withdrawing"`
	Ipoing            fixed.Dec     `json:"ipoing"`
	Ipoable           fixed.Dec     `json:"ipoable"`
	Storage           fixed.Dec     `json:"storage"`
	IsLegalMoney      bool          `json:"isLegalMoney"`
	Trading           bool          `json:"trading"`
	NetworkList       []coinNetwork `json:"networkList"`
}

// coins is /sapi/v1/capital/config/getall: every asset the symbols trade
// and every asset the account holds, with its balance, on one network
// ("SIM") where deposits and withdrawals are disabled.
func (s *Server) coins(c *call) (any, error) {
	bs, err := s.cfg.Engine.Balances(c.account)
	if err != nil {
		return nil, errNoKeyAccount()
	}
	held := map[string]sim.Balance{}
	for _, b := range bs {
		held[b.Asset] = b
	}
	var assets []string
	for _, sym := range s.cfg.Engine.Symbols() {
		assets = append(assets, sym.Base, sym.Quote)
	}
	for a := range held {
		assets = append(assets, a)
	}
	slices.Sort(assets)
	assets = slices.Compact(assets)
	out := make([]coinConfig, 0, len(assets))
	for _, a := range assets {
		b := held[a]
		out = append(out, coinConfig{Coin: a, Name: a, Free: b.Free, Locked: b.Locked, Trading: true,
			NetworkList: []coinNetwork{{Network: "SIM", Coin: a, Name: "TradAI simulator", IsDefault: true, WithdrawIntegerMultiple: 1}}})
	}
	return out, nil
}

func errNoKeyAccount() error {
	return &sim.Error{Code: sim.CodeRejectedAPIKey, Msg: "Invalid API-key, IP, or permissions for action."}
}

type tradeFee struct {
	Symbol          string    `json:"symbol"`
	MakerCommission fixed.Dec `json:"makerCommission"`
	TakerCommission fixed.Dec `json:"takerCommission"`
}

// tradeFee is /sapi/v1/asset/tradeFee: the engine's fee rates for the
// symbol, or for every symbol.
func (s *Server) tradeFee(c *call) (any, error) {
	var syms []sim.Symbol
	if c.p.has("symbol") {
		name, err := c.p.symbol()
		if err != nil {
			return nil, err
		}
		sym, ok := s.cfg.Engine.Symbol(name)
		if !ok {
			return nil, badSymbol()
		}
		syms = []sim.Symbol{sym}
	} else {
		syms = s.cfg.Engine.Symbols()
	}
	cfg := s.cfg.Engine.Config()
	out := make([]tradeFee, 0, len(syms))
	for _, sym := range syms {
		out = append(out, tradeFee{Symbol: sym.Name, MakerCommission: cfg.MakerFee, TakerCommission: cfg.TakerFee})
	}
	return out, nil
}
