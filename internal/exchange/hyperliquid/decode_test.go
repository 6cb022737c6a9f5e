package hyperliquid_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/hyperliquid"
	"github.com/tradai/tradai/internal/fixed"
	hl "github.com/tradai/tradai/internal/hyperliquid"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeDocumentedAnswers(t *testing.T) {
	var mc hl.MetaAndCtxs
	if err := json.Unmarshal(fixture(t, "metaAndAssetCtxs.json"), &mc); err != nil || len(mc.Meta.Universe) != 3 || len(mc.Ctxs) != 3 ||
		mc.Ctxs[1].MarkPx != fixed.MustParse("3018") || mc.Meta.Universe[2].SzDecimals != 0 || !mc.Meta.Universe[2].OnlyIsolated {
		t.Fatalf("metaAndAssetCtxs: %+v, %v", mc, err)
	}
	var m hl.Meta
	if err := json.Unmarshal(fixture(t, "meta.json"), &m); err != nil || len(m.Universe) != 4 || !m.Universe[3].IsDelisted {
		t.Fatalf("meta: %+v, %v", m, err)
	}
	var cs []hl.Candle
	if err := json.Unmarshal(fixture(t, "candleSnapshot.json"), &cs); err != nil || len(cs) != 2 || cs[0].T != 1681923600000 ||
		cs[0].O != fixed.MustParse("29295") || cs[1].C != fixed.MustParse("29269") || cs[1].V != fixed.MustParse("1.2254") {
		t.Fatalf("candleSnapshot: %+v, %v", cs, err)
	}
	var st hl.ClearinghouseState
	if err := json.Unmarshal(fixture(t, "clearinghouseState.json"), &st); err != nil || len(st.AssetPositions) != 1 ||
		st.AssetPositions[0].Position.Szi != fixed.MustParse("0.0335") || st.AssetPositions[0].Position.Leverage.Value != 20 ||
		st.MarginSummary.TotalRawUsd != fixed.MustParse("13009.454678") || st.Time != 1708622398623 {
		t.Fatalf("clearinghouseState: %+v, %v", st, err)
	}
	var open []hl.OpenOrder
	if err := json.Unmarshal(fixture(t, "frontendOpenOrders.json"), &open); err != nil || len(open) != 2 || open[0].Side != "A" ||
		open[1].Cloid == nil || open[1].OrigSz != fixed.MustParse("0.5") {
		t.Fatalf("frontendOpenOrders: %+v, %v", open, err)
	}
	var stop []hl.OpenOrder
	if err := json.Unmarshal(fixture(t, "frontendOpenOrders_trigger.json"), &stop); err != nil || len(stop) != 1 || !stop[0].IsTrigger ||
		stop[0].TriggerPx != fixed.MustParse("2900") || stop[0].OrderType != "Stop Market" || stop[0].Tif != nil || !stop[0].ReduceOnly {
		t.Fatalf("frontendOpenOrders of a trigger order: %+v, %v", stop, err)
	}
	var os hl.OrderStatus
	if err := json.Unmarshal(fixture(t, "orderStatus.json"), &os); err != nil || os.Status != "order" || os.Order == nil ||
		os.Order.Status != "open" || os.Order.Order.Sz != fixed.MustParse("0.2") {
		t.Fatalf("orderStatus: %+v, %v", os, err)
	}
	var fs []hl.Fill
	if err := json.Unmarshal(fixture(t, "userFills.json"), &fs); err != nil || len(fs) != 1 {
		t.Fatalf("userFills: %+v, %v", fs, err)
	}
	tr := hyperliquid.Trade(fs[0])
	if tr.Symbol != "AVAX" || tr.ID != 118906512037719 || tr.OrderID != 90542681 || tr.Side != exchange.Buy || !tr.Maker ||
		tr.QuoteQty != fixed.MulCeil(fixed.MustParse("18.435"), fixed.MustParse("93.53")) || tr.Commission != fixed.MustParse("0.01") || tr.CommissionAsset != "USDC" {
		t.Fatalf("trade of the fill: %+v", tr)
	}
	var role hl.UserRole
	if err := json.Unmarshal(fixture(t, "userRole_agent.json"), &role); err != nil || role.Role != "agent" || role.Data == nil || role.Data.User == "" {
		t.Fatalf("userRole: %+v, %v", role, err)
	}
}

func TestDecodeDocumentedExchangeAnswers(t *testing.T) {
	var r hl.Statuses
	if err := hl.DecodeExchange(fixture(t, "order_resting.json"), &r); err != nil || r.Data.Statuses[0].Resting == nil || r.Data.Statuses[0].Resting.Oid != 77738308 {
		t.Fatalf("resting: %+v, %v", r, err)
	}
	r = hl.Statuses{}
	if err := hl.DecodeExchange(fixture(t, "order_filled.json"), &r); err != nil || r.Data.Statuses[0].Filled == nil || r.Data.Statuses[0].Filled.AvgPx != fixed.MustParse("1891.4") {
		t.Fatalf("filled: %+v, %v", r, err)
	}
	r = hl.Statuses{}
	if err := hl.DecodeExchange(fixture(t, "order_error.json"), &r); err != nil || r.Data.Statuses[0].Error == nil {
		t.Fatalf("error: %+v, %v", r, err)
	}
	r = hl.Statuses{}
	if err := hl.DecodeExchange(fixture(t, "cancel_success.json"), &r); err != nil || !r.Data.Statuses[0].Success {
		t.Fatalf("cancel success: %+v, %v", r, err)
	}
	r = hl.Statuses{}
	if err := hl.DecodeExchange(fixture(t, "cancel_error.json"), &r); err != nil || r.Data.Statuses[0].Error == nil {
		t.Fatalf("cancel error: %+v, %v", r, err)
	}
	err := hl.DecodeExchange(fixture(t, "exchange_err.json"), &r)
	var e *hl.APIError
	if !errors.As(err, &e) || e.Msg != "User or API Wallet 0x0123456789abcdef0123456789abcdef01234567 does not exist." {
		t.Fatalf("err answer: %v", err)
	}
}

func TestTickSize(t *testing.T) {
	for _, c := range []struct {
		px   string
		szd  int
		want string
	}{
		{"60000", 5, "1"},     // 5 significant figures: units; integers allowed
		{"123456", 5, "1"},    // would be 10, but integer prices are always allowed
		{"3018.05", 4, "0.1"}, // 5 significant figures
		{"14.3161", 2, "0.001"},
		{"0.0123", 0, "0.000001"},     // 6 decimals at most (szDecimals 0)
		{"0.0123", 2, "0.0001"},       // 6 − 2 decimals
		{"0.00001234", 0, "0.000001"}, // the decimals rule wins
	} {
		if got := hyperliquid.TickSize(fixed.MustParse(c.px), c.szd); got != fixed.MustParse(c.want) {
			t.Errorf("TickSize(%s, %d) = %v, want %s", c.px, c.szd, got, c.want)
		}
	}
}

func TestWire(t *testing.T) {
	for in, want := range map[string]string{"1670.1": "1670.1", "100": "100", "0.0147": "0.0147", "0.00000001": "0.00000001", "60000.5": "60000.5"} {
		if got := hyperliquid.Wire(fixed.MustParse(in)); got != want {
			t.Errorf("Wire(%s) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeInfo feeds venue answers to every /info decoder and the
// mapping of fills: nothing may panic.
func FuzzDecodeInfo(f *testing.F) {
	for _, n := range []string{"meta.json", "metaAndAssetCtxs.json", "candleSnapshot.json", "clearinghouseState.json", "frontendOpenOrders.json",
		"frontendOpenOrders_trigger.json", "orderStatus.json", "orderStatus_unknown.json", "userFills.json", "userRole_agent.json"} {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var mc hl.MetaAndCtxs
		_ = json.Unmarshal(b, &mc)
		var cs []hl.Candle
		_ = json.Unmarshal(b, &cs)
		var st hl.ClearinghouseState
		_ = json.Unmarshal(b, &st)
		var open []hl.OpenOrder
		_ = json.Unmarshal(b, &open)
		var os hl.OrderStatus
		_ = json.Unmarshal(b, &os)
		var role hl.UserRole
		_ = json.Unmarshal(b, &role)
		var fs []hl.Fill
		if json.Unmarshal(b, &fs) == nil {
			for _, f := range fs {
				_ = hyperliquid.Trade(f)
			}
		}
	})
}

// FuzzDecodeExchange feeds /exchange answers to their decoder: an answer
// is ok (and its statuses each one of success, resting, filled, error) or
// an error.
func FuzzDecodeExchange(f *testing.F) {
	for _, n := range []string{"order_resting.json", "order_filled.json", "order_error.json", "cancel_success.json", "cancel_error.json", "exchange_err.json"} {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r hl.Statuses
		if err := hl.DecodeExchange(b, &r); err != nil {
			return
		}
		for _, s := range r.Data.Statuses {
			if !s.Success && s.Resting == nil && s.Filled == nil && s.Error == nil {
				t.Fatalf("a status that says nothing was accepted: %s", b)
			}
		}
	})
}

// Property: a price on the grid TickSize gives at the mark, within the
// mark's power of ten, keeps the venue's rule (5 significant figures or an
// integer, at most 6 − szDecimals decimals), and Market.Order's rounding
// of any price near the mark lands on such a price: what the adapter
// lists is what the venue takes.
func TestTickSizeKeepsTheVenuesPriceRule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		szd := rapid.IntRange(0, 5).Draw(t, "szDecimals")
		mark := fixed.Dec(rapid.Int64Range(1_000, 200_000*int64(fixed.One)).Draw(t, "mark"))
		tick := hyperliquid.TickSize(mark, szd)
		m := exchange.Market{Symbol: "X", TickSize: tick, StepSize: fixed.Dec(1), MinQty: fixed.Dec(1)}
		lo := fixed.Dec(1)
		for lo*10 <= mark {
			lo *= 10
		}
		p := fixed.Dec(rapid.Int64Range(int64(lo), int64(lo)*10-1).Draw(t, "price"))
		side := rapid.SampledFrom([]exchange.Side{exchange.Buy, exchange.Sell}).Draw(t, "side")
		req, err := m.Order(side, exchange.LimitOrder, p.Float(), 1)
		if err != nil {
			return // a price that rounds to nothing
		}
		if req.Price >= lo && req.Price < lo*10 && !priceOK(req.Price, szd) {
			t.Fatalf("mark %v tick %v: %v rounds to %v, which breaks the venue's rule", mark, tick, p, req.Price)
		}
	})
}
