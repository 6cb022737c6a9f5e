package binanceapi

import (
	"net/url"
	"testing"

	"github.com/tradai/tradai/internal/fixed"
)

// TestStartupEndpoints covers what ccxt's loadMarkets and fetchBalance
// call besides /api/v3: the wallet's coins, margin pairs, trade fees, the
// system status and the futures exchangeInfo of a venue without futures.
func TestStartupEndpoints(t *testing.T) {
	e := setup(t, nil)
	var status struct {
		Status int
		Msg    string
	}
	e.do(t, "GET", "/sapi/v1/system/status", "", "", nil).decode(t, &status)
	if status.Status != 0 || status.Msg != "normal" {
		t.Fatalf("system status = %+v", status)
	}

	var coins []coinConfig
	r := e.signed(t, "GET", "/sapi/v1/capital/config/getall", nil)
	r.decode(t, &coins)
	if len(coins) != 2 || coins[0].Coin != "BTC" || coins[0].Free != fixed.MustParse("1") || coins[1].Coin != "USDT" ||
		coins[1].Free != fixed.MustParse("10000") || len(coins[0].NetworkList) != 1 || coins[0].NetworkList[0].WithdrawEnable {
		t.Fatalf("coins = %s", r.body)
	}
	e.do(t, "GET", "/sapi/v1/capital/config/getall", "", "", nil).wantError(t, 401, -2014, "")

	var fees []tradeFee
	e.signed(t, "GET", "/sapi/v1/asset/tradeFee", url.Values{"symbol": {"BTCUSDT"}}).decode(t, &fees)
	if len(fees) != 1 || fees[0].Symbol != "BTCUSDT" || fees[0].MakerCommission != fixed.MustParse("0.001") || fees[0].TakerCommission != fixed.MustParse("0.001") {
		t.Fatalf("trade fees = %+v", fees)
	}
	e.signed(t, "GET", "/sapi/v1/asset/tradeFee", url.Values{"symbol": {"NOPE"}}).wantError(t, 400, -1121, "")

	var restr struct {
		EnableWithdrawals, EnableSpotAndMarginTrading *bool
	}
	e.signed(t, "GET", "/sapi/v1/account/apiRestrictions", nil).decode(t, &restr)
	if restr.EnableWithdrawals == nil || *restr.EnableWithdrawals || restr.EnableSpotAndMarginTrading == nil || !*restr.EnableSpotAndMarginTrading {
		t.Fatalf("apiRestrictions = %+v: want spot trading and no withdrawals", restr)
	}
	e.do(t, "GET", "/sapi/v1/account/apiRestrictions", "", "", nil).wantError(t, 401, -2014, "")

	r = e.do(t, "GET", "/sapi/v1/margin/allPairs", "", "", map[string]string{"X-MBX-APIKEY": testKey})
	if r.status != 200 || string(r.body) != "[]" {
		t.Fatalf("margin pairs: %d %s", r.status, r.body)
	}
	r = e.signed(t, "GET", "/sapi/v1/margin/isolated/allPairs", nil)
	if r.status != 200 || string(r.body) != "[]" {
		t.Fatalf("isolated margin pairs: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"} {
		var info struct{ Symbols []any }
		r := e.do(t, "GET", p, "", "", nil)
		r.decode(t, &info)
		if r.status != 200 || info.Symbols == nil || len(info.Symbols) != 0 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
}
