package simstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
)

// Load reads what an engine needs to resume: every account, its balances,
// its open orders, and the last order and trade ids. It flushes first.
func (s *Store) Load(ctx context.Context) (sim.State, error) {
	if err := s.Flush(ctx); err != nil {
		return sim.State{}, err
	}
	var st sim.State
	var err error
	st.Accounts, err = db.Collect(ctx, s.db, func(r db.Scanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	}, `SELECT id FROM sim_accounts ORDER BY id`)
	if err != nil {
		return st, fmt.Errorf("load simulator accounts: %w", err)
	}

	st.Balances, err = db.Collect(ctx, s.db, func(r db.Scanner) (sim.BalanceEvent, error) {
		var b sim.BalanceEvent
		var free, locked int64
		err := r.Scan(&b.Account, &b.Asset, &free, &locked, &b.Time)
		b.Free, b.Locked = fixed.Dec(free), fixed.Dec(locked)
		return b, err
	}, `SELECT account_id, asset, free, locked, updated_at FROM sim_balances`)
	if err != nil {
		return st, fmt.Errorf("load simulator balances: %w", err)
	}

	orders, err := s.queryOrders(ctx, `WHERE open = 1 ORDER BY id`)
	if err != nil {
		return st, fmt.Errorf("load open simulator orders: %w", err)
	}
	st.Orders = orders
	var lastOrder, lastTrade sql.NullInt64
	if err := s.db.QueryRow(ctx, `SELECT MAX(id) FROM sim_orders`).Scan(&lastOrder); err != nil {
		return st, fmt.Errorf("load simulator order ids: %w", err)
	}
	if err := s.db.QueryRow(ctx, `SELECT MAX(trade_id) FROM sim_fills`).Scan(&lastTrade); err != nil {
		return st, fmt.Errorf("load simulator trade ids: %w", err)
	}
	st.LastOrderID, st.LastTradeID = lastOrder.Int64, lastTrade.Int64
	return st, nil
}

const orderColumns = `id, account_id, symbol, client_order_id, side, type, time_in_force, price, stop_price, orig_qty, orig_quote_qty,
	executed_qty, cum_quote, cum_quote_rem, locked, status, created_at, updated_at, working_time, trailing_delta, trailing_time, trail_peak`

func (s *Store) queryOrders(ctx context.Context, where string, args ...any) ([]sim.OrderState, error) {
	return db.Collect(ctx, s.db, func(r db.Scanner) (sim.OrderState, error) {
		var o sim.OrderState
		var side, typ, tif, status string
		var price, stop, orig, origQuote, exec, cum, locked, peak int64
		if err := r.Scan(&o.ID, &o.Account, &o.Symbol, &o.ClientOrderID, &side, &typ, &tif, &price, &stop, &orig, &origQuote,
			&exec, &cum, &o.CumQuoteRem, &locked, &status, &o.Time, &o.UpdateTime, &o.WorkingTime, &o.TrailingDelta, &o.TrailingTime, &peak); err != nil {
			return o, err
		}
		var ok1, ok2, ok3, ok4 bool
		o.Side, ok1 = sim.ParseSide(side)
		o.Type, ok2 = sim.ParseOrderType(typ)
		o.TimeInForce, ok3 = sim.ParseTimeInForce(tif)
		o.Status, ok4 = sim.ParseStatus(status)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return o, fmt.Errorf("order %d: unreadable side, type, time in force or status (%s %s %s %s)", o.ID, side, typ, tif, status)
		}
		o.Price, o.StopPrice, o.OrigQty, o.OrigQuoteQty = fixed.Dec(price), fixed.Dec(stop), fixed.Dec(orig), fixed.Dec(origQuote)
		o.ExecutedQty, o.CumQuote, o.Locked, o.TrailPeak = fixed.Dec(exec), fixed.Dec(cum), fixed.Dec(locked), fixed.Dec(peak)
		return o, nil
	}, `SELECT `+orderColumns+` FROM sim_orders `+where, args...)
}

// window builds the WHERE tail of a history query with Binance's rules:
// from an id on (oldest first), else within a time range (oldest first
// from startTime, newest before endTime), else the newest.
func window(idCol, timeCol string, fromID int64, q binanceapi.Query) (string, []any, bool) {
	var conds []string
	var args []any
	if fromID > 0 {
		conds = append(conds, idCol+" >= ?")
		args = append(args, fromID)
	}
	if q.StartTime > 0 {
		conds = append(conds, timeCol+" >= ?")
		args = append(args, q.StartTime)
	}
	if q.EndTime > 0 {
		conds = append(conds, timeCol+" <= ?")
		args = append(args, q.EndTime)
	}
	oldestFirst := fromID > 0 || q.StartTime > 0
	order := " ORDER BY " + idCol + " DESC"
	if oldestFirst {
		order = " ORDER BY " + idCol
	}
	tail := ""
	for _, c := range conds {
		tail += " AND " + c
	}
	return tail + order + fmt.Sprintf(" LIMIT %d", max(q.Limit, 1)), args, !oldestFirst
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// Orders implements binanceapi.History.
func (s *Store) Orders(ctx context.Context, account, symbol string, q binanceapi.Query) ([]sim.Order, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	tail, args, rev := window("id", "created_at", q.OrderID, q)
	st, err := s.queryOrders(ctx, `WHERE account_id = ? AND symbol = ?`+tail, append([]any{account, symbol}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("list simulator orders: %w", err)
	}
	out := make([]sim.Order, len(st))
	for i := range st {
		out[i] = st[i].Order
	}
	if rev {
		reverse(out)
	}
	return out, nil
}

// Order implements binanceapi.History.
func (s *Store) Order(ctx context.Context, account, symbol string, id int64, clientID string) (sim.Order, error) {
	if err := s.Sync(ctx); err != nil {
		return sim.Order{}, err
	}
	where, arg := `WHERE account_id = ? AND symbol = ? AND id = ?`, any(id)
	if id == 0 {
		where, arg = `WHERE account_id = ? AND symbol = ? AND client_order_id = ? ORDER BY id DESC LIMIT 1`, clientID
	}
	st, err := s.queryOrders(ctx, where, account, symbol, arg)
	if err != nil {
		return sim.Order{}, fmt.Errorf("find simulator order: %w", err)
	}
	if len(st) == 0 || clientID != "" && st[0].ClientOrderID != clientID {
		return sim.Order{}, &sim.Error{Code: sim.CodeNoSuchOrder, Msg: sim.MsgNoSuchOrder}
	}
	return st[0].Order, nil
}

// Trades implements binanceapi.History.
func (s *Store) Trades(ctx context.Context, account, symbol string, q binanceapi.Query) ([]sim.Fill, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	tail, args, rev := window("trade_id", "time", q.FromID, q)
	where := `WHERE account_id = ? AND symbol = ?`
	base := []any{account, symbol}
	if q.OrderID > 0 {
		where += ` AND order_id = ?`
		base = append(base, q.OrderID)
	}
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (sim.Fill, error) {
		var f sim.Fill
		var side string
		var price, qty, quote, fee int64
		var maker int
		err := r.Scan(&f.TradeID, &f.OrderID, &f.Account, &f.Symbol, &side, &price, &qty, &quote, &fee, &f.CommissionAsset, &f.Time, &maker)
		f.Side, _ = sim.ParseSide(side)
		f.Price, f.Qty, f.QuoteQty, f.Commission, f.Maker = fixed.Dec(price), fixed.Dec(qty), fixed.Dec(quote), fixed.Dec(fee), maker == 1
		return f, err
	}, `SELECT trade_id, order_id, account_id, symbol, side, price, qty, quote_qty, commission, commission_asset, time, maker
		FROM sim_fills `+where+tail, append(base, args...)...)
	if err != nil {
		return nil, fmt.Errorf("list simulator trades: %w", err)
	}
	if rev {
		reverse(out)
	}
	return out, nil
}
