package trade

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Bracket is one tier of an exchange's leverage brackets: a position whose
// notional value (amount × entry price, in the quote currency) is at least
// NotionalFloor keeps a maintenance margin of notional × MaintMarginRatio
// − MaintAmount.
type Bracket struct {
	NotionalFloor    float64 `json:"notional_floor"`
	MaintMarginRatio float64 `json:"maint_margin_ratio"`
	MaintAmount      float64 `json:"maint_amount"`
}

// FallbackMaintMarginRatio is the maintenance margin ratio of a pair that
// has no brackets (with no maintenance amount): 0.5%, the ratio of the
// first bracket of most Binance USDT-margined perpetuals.
const FallbackMaintMarginRatio = 0.005

// Liquidation says where an isolated futures position is liquidated:
// Binance's isolated-margin formula with the maintenance margin of the
// position's bracket, moved towards the entry by Freqtrade's
// liquidation_buffer.
type Liquidation struct {
	// Brackets are the leverage brackets by pair ("BTC/USDT"; a settle
	// currency suffix such as ":USDT" is ignored), floors ascending from
	// 0. A pair without brackets uses [FallbackMaintMarginRatio].
	Brackets map[string][]Bracket
	// Buffer is the share of the distance between the entry and the
	// exchange's liquidation price by which the liquidation is assumed
	// earlier (Freqtrade's liquidation_buffer), in [0, 1).
	Buffer float64
}

// Validate reports brackets and buffers no position can be liquidated
// with.
func (l Liquidation) Validate() error {
	var errs []error
	if !(l.Buffer >= 0 && l.Buffer < 1) {
		errs = append(errs, fmt.Errorf("liquidation buffer %v must be in [0, 1)", l.Buffer))
	}
	for pair, bs := range l.Brackets {
		if err := validBrackets(bs); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pair, err))
		}
	}
	return errors.Join(errs...)
}

func validBrackets(bs []Bracket) error {
	if len(bs) == 0 {
		return errors.New("no brackets")
	}
	for i, b := range bs {
		switch {
		case i == 0 && b.NotionalFloor != 0:
			return fmt.Errorf("the first bracket's notional floor is %v, must be 0", b.NotionalFloor)
		case i > 0 && !(b.NotionalFloor > bs[i-1].NotionalFloor) || math.IsInf(b.NotionalFloor, 0):
			return fmt.Errorf("bracket %d: notional floor %v must be above the previous one's and finite", i+1, b.NotionalFloor)
		case !(b.MaintMarginRatio > 0 && b.MaintMarginRatio < 1):
			return fmt.Errorf("bracket %d: maintenance margin ratio %v must be in (0, 1)", i+1, b.MaintMarginRatio)
		case !(b.MaintAmount >= 0) || math.IsInf(b.MaintAmount, 0):
			return fmt.Errorf("bracket %d: maintenance amount %v must be 0 or more", i+1, b.MaintAmount)
		}
	}
	return nil
}

// bracket returns the bracket of a position on pair with notional value.
func (l *Liquidation) bracket(pair string, notional float64) Bracket {
	bs := l.Brackets[BracketKey(pair)]
	b := Bracket{MaintMarginRatio: FallbackMaintMarginRatio}
	for _, x := range bs {
		if notional < x.NotionalFloor {
			break
		}
		b = x
	}
	return b
}

// BracketKey is the key of pair's brackets: the pair without its settle
// currency ("BTC/USDT:USDT" → "BTC/USDT").
func BracketKey(pair string) string {
	if i := strings.IndexByte(pair, ':'); i >= 0 {
		return pair[:i]
	}
	return pair
}

// Price is the liquidation price of an isolated position on pair of amount
// entered at rate with margin, buffer included; 0 when it cannot be
// liquidated (a long whose liquidation price would not be positive).
//
// Binance's isolated formula, with the position's margin as the wallet
// balance and side 1 for a long, −1 for a short:
//
//	(margin + maintAmount − side × amount × rate) / (amount × maintRatio − side × amount)
func (l *Liquidation) Price(pair string, short bool, rate, amount, margin float64) float64 {
	b := l.bracket(pair, amount*rate)
	side := 1.0
	if short {
		side = -1
	}
	liq := (margin + b.MaintAmount - side*amount*rate) / (amount*b.MaintMarginRatio - side*amount)
	buffer := math.Abs(rate-liq) * l.Buffer
	if short {
		liq -= buffer
	} else {
		liq += buffer
	}
	return max(liq, 0)
}

// BinanceBrackets returns Binance's published leverage brackets of its
// USDT-margined perpetuals for the most traded pairs (as published in
// October 2024); a config may override them per pair.
func BinanceBrackets() map[string][]Bracket {
	return map[string][]Bracket{
		"BTC/USDT": {
			{0, 0.004, 0},
			{50_000, 0.005, 50},
			{600_000, 0.0065, 950},
			{3_000_000, 0.01, 11_450},
			{12_000_000, 0.02, 131_450},
			{70_000_000, 0.025, 481_450},
			{100_000_000, 0.05, 2_981_450},
			{230_000_000, 0.1, 14_481_450},
			{480_000_000, 0.125, 26_481_450},
			{600_000_000, 0.15, 41_481_450},
			{800_000_000, 0.25, 121_481_450},
			{1_200_000_000, 0.5, 421_481_450},
		},
		"ETH/USDT": {
			{0, 0.004, 0},
			{50_000, 0.005, 50},
			{600_000, 0.0065, 950},
			{3_000_000, 0.01, 11_450},
			{12_000_000, 0.02, 131_450},
			{50_000_000, 0.025, 381_450},
			{65_000_000, 0.05, 2_006_450},
			{150_000_000, 0.1, 9_506_450},
			{320_000_000, 0.125, 17_506_450},
			{400_000_000, 0.15, 27_506_450},
			{530_000_000, 0.25, 80_506_450},
			{800_000_000, 0.5, 280_506_450},
		},
		"BNB/USDT": {
			{0, 0.005, 0},
			{10_000, 0.006, 10},
			{50_000, 0.01, 210},
			{200_000, 0.02, 2_210},
			{1_500_000, 0.025, 9_710},
			{3_000_000, 0.05, 84_710},
			{15_000_000, 0.1, 834_710},
			{30_000_000, 0.125, 1_584_710},
			{37_500_000, 0.25, 6_272_210},
			{75_000_000, 0.5, 25_022_210},
		},
		"SOL/USDT": {
			{0, 0.005, 0},
			{20_000, 0.0065, 30},
			{100_000, 0.01, 380},
			{800_000, 0.02, 8_380},
			{4_000_000, 0.025, 28_380},
			{8_000_000, 0.05, 228_380},
			{40_000_000, 0.1, 2_228_380},
			{80_000_000, 0.125, 4_228_380},
			{100_000_000, 0.25, 16_728_380},
			{200_000_000, 0.5, 66_728_380},
		},
		"XRP/USDT": {
			{0, 0.005, 0},
			{10_000, 0.0065, 15},
			{20_000, 0.01, 85},
			{160_000, 0.02, 1_685},
			{800_000, 0.025, 5_685},
			{1_600_000, 0.05, 45_685},
			{8_000_000, 0.1, 445_685},
			{16_000_000, 0.125, 845_685},
			{20_000_000, 0.25, 3_345_685},
			{40_000_000, 0.5, 13_345_685},
		},
	}
}
