package hyperliquid

import (
	"encoding/json"
	"fmt"

	"github.com/tradai/tradai/internal/fixed"
)

// The /info answers, as the API documents them ("Info endpoint" and its
// "Perpetuals" page). Amounts are decimal strings, read as fixed.Dec.

// Asset is one perpetual of the meta universe; its index is its asset
// id in orders.
type Asset struct {
	Name         string `json:"name"`
	SzDecimals   int    `json:"szDecimals"`
	MaxLeverage  int    `json:"maxLeverage"`
	OnlyIsolated bool   `json:"onlyIsolated"`
	IsDelisted   bool   `json:"isDelisted"`
}

// Meta is {"type":"meta"}.
type Meta struct {
	Universe []Asset `json:"universe"`
}

// AssetCtx is one asset's market state of metaAndAssetCtxs.
type AssetCtx struct {
	MarkPx   fixed.Dec `json:"markPx"`
	MidPx    fixed.Dec `json:"midPx"`
	OraclePx fixed.Dec `json:"oraclePx"`
	Funding  string    `json:"funding"`
}

// MetaAndCtxs is {"type":"metaAndAssetCtxs"}: [meta, [ctx…]].
type MetaAndCtxs struct {
	Meta Meta
	Ctxs []AssetCtx
}

// UnmarshalJSON reads the two-element array.
func (m *MetaAndCtxs) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 2 {
		return fmt.Errorf("metaAndAssetCtxs: %d elements, want 2", len(raw))
	}
	if err := json.Unmarshal(raw[0], &m.Meta); err != nil {
		return err
	}
	return json.Unmarshal(raw[1], &m.Ctxs)
}

// Candle is one element of candleSnapshot.
type Candle struct {
	T      int64     `json:"t"` // open time, ms
	TClose int64     `json:"T"` // close time, ms
	S      string    `json:"s"`
	I      string    `json:"i"`
	O      fixed.Dec `json:"o"`
	C      fixed.Dec `json:"c"`
	H      fixed.Dec `json:"h"`
	L      fixed.Dec `json:"l"`
	V      fixed.Dec `json:"v"`
	N      int64     `json:"n"`
}

// MarginSummary is a clearinghouseState margin summary.
type MarginSummary struct {
	AccountValue    fixed.Dec `json:"accountValue"`
	TotalNtlPos     fixed.Dec `json:"totalNtlPos"`
	TotalRawUsd     fixed.Dec `json:"totalRawUsd"`
	TotalMarginUsed fixed.Dec `json:"totalMarginUsed"`
}

// Leverage is a position's leverage.
type Leverage struct {
	Type  string `json:"type"` // cross or isolated
	Value int    `json:"value"`
}

// Position is one perpetual position.
type Position struct {
	Coin           string     `json:"coin"`
	Szi            fixed.Dec  `json:"szi"` // signed size: negative is short
	EntryPx        *fixed.Dec `json:"entryPx"`
	PositionValue  fixed.Dec  `json:"positionValue"`
	UnrealizedPnl  fixed.Dec  `json:"unrealizedPnl"`
	LiquidationPx  *fixed.Dec `json:"liquidationPx"`
	MarginUsed     fixed.Dec  `json:"marginUsed"`
	Leverage       Leverage   `json:"leverage"`
	ReturnOnEquity string     `json:"returnOnEquity"`
}

// ClearinghouseState is {"type":"clearinghouseState","user":…}: the
// perpetuals account.
type ClearinghouseState struct {
	AssetPositions []struct {
		Position Position `json:"position"`
		Type     string   `json:"type"`
	} `json:"assetPositions"`
	MarginSummary      MarginSummary `json:"marginSummary"`
	CrossMarginSummary MarginSummary `json:"crossMarginSummary"`
	Withdrawable       fixed.Dec     `json:"withdrawable"`
	Time               int64         `json:"time"`
}

// OpenOrder is an order of frontendOpenOrders (and of orderStatus).
type OpenOrder struct {
	Coin       string    `json:"coin"`
	Side       string    `json:"side"` // B (bid, buy) or A (ask, sell)
	LimitPx    fixed.Dec `json:"limitPx"`
	Sz         fixed.Dec `json:"sz"` // remaining
	Oid        int64     `json:"oid"`
	Timestamp  int64     `json:"timestamp"`
	OrigSz     fixed.Dec `json:"origSz"`
	Cloid      *string   `json:"cloid"`
	OrderType  string    `json:"orderType"` // Limit, Market, Stop Market, …
	Tif        *string   `json:"tif"`       // Gtc, Ioc, Alo (null for triggers)
	ReduceOnly bool      `json:"reduceOnly"`
	IsTrigger  bool      `json:"isTrigger"`
	TriggerPx  fixed.Dec `json:"triggerPx"`
}

// OrderStatus is {"type":"orderStatus","user":…,"oid":oid or cloid}.
type OrderStatus struct {
	Status string `json:"status"` // order, or unknownOid
	Order  *struct {
		Order           OpenOrder `json:"order"`
		Status          string    `json:"status"` // open, filled, canceled, triggered, rejected, marginCanceled, …
		StatusTimestamp int64     `json:"statusTimestamp"`
	} `json:"order"`
}

// Fill is one of userFills / userFillsByTime (newest first).
type Fill struct {
	Coin          string    `json:"coin"`
	Px            fixed.Dec `json:"px"`
	Sz            fixed.Dec `json:"sz"`
	Side          string    `json:"side"`
	Time          int64     `json:"time"`
	StartPosition fixed.Dec `json:"startPosition"`
	Dir           string    `json:"dir"`
	ClosedPnl     fixed.Dec `json:"closedPnl"`
	Hash          string    `json:"hash"`
	Oid           int64     `json:"oid"`
	Crossed       bool      `json:"crossed"` // taker
	Fee           fixed.Dec `json:"fee"`
	Tid           int64     `json:"tid"`
	FeeToken      string    `json:"feeToken"`
	Cloid         *string   `json:"cloid,omitempty"`
}

// UserRole is {"type":"userRole","user":…}: what an address is.
type UserRole struct {
	Role string `json:"role"` // user, agent, vault, subAccount, missing
	Data *struct {
		User   string `json:"user"`   // an agent's account
		Master string `json:"master"` // a sub-account's master
	} `json:"data"`
}

// Statuses is the response of an order or cancel action:
// {"type":"order"|"cancel","data":{"statuses":[…]}}. Each status is
// "success", {"resting":{"oid":…}}, {"filled":{"totalSz","avgPx","oid"}}
// or {"error":"msg"}.
type Statuses struct {
	Type string `json:"type"`
	Data struct {
		Statuses []ActionStatus `json:"statuses"`
	} `json:"data"`
}

// ActionStatus is one order's or cancel's outcome.
type ActionStatus struct {
	Success bool
	Resting *struct {
		Oid   int64   `json:"oid"`
		Cloid *string `json:"cloid"`
	} `json:"resting"`
	Filled *struct {
		TotalSz fixed.Dec `json:"totalSz"`
		AvgPx   fixed.Dec `json:"avgPx"`
		Oid     int64     `json:"oid"`
		Cloid   *string   `json:"cloid"`
	} `json:"filled"`
	Error *string `json:"error"`
}

// UnmarshalJSON reads a string status ("success", "waitingForFill", …) or
// an object.
func (s *ActionStatus) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) == nil {
		s.Success = str == "success"
		if !s.Success {
			s.Error = &str
		}
		return nil
	}
	type plain ActionStatus
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = ActionStatus(p)
	if s.Resting == nil && s.Filled == nil && s.Error == nil {
		return fmt.Errorf("status %s: neither resting, filled nor error", b)
	}
	return nil
}
