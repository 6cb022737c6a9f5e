package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
)

// Defaults of PromoteRules: how long and how much a paper deployment must
// have traded before it is promoted to live.
const (
	DefaultPromoteMinAge    = 7 * 24 * time.Hour
	DefaultPromoteMinTrades = 10
)

// PromoteRules are the minimum a paper deployment must have done before a
// live deployment of it is created: run for MinAge (from its creation to
// now, or to its stop) and closed MinTrades trades. Zero fields take the
// defaults; a negative one turns the rule off.
type PromoteRules struct {
	MinAge    time.Duration
	MinTrades int
}

func (r PromoteRules) withDefaults() PromoteRules {
	if r.MinAge == 0 {
		r.MinAge = DefaultPromoteMinAge
	}
	if r.MinTrades == 0 {
		r.MinTrades = DefaultPromoteMinTrades
	}
	return r
}

// PaperRecord is what a paper deployment did, as a promotion judges it.
type PaperRecord struct {
	Deployment   Deployment
	Ran          time.Duration // from its creation to now, or to its stop
	ClosedTrades int
	OpenTrades   int
	Profit       float64 // of the closed trades, fees included
	Wins         int     // closed trades with a profit
}

// Paper reads deployment id of the principal's tenant as a candidate for
// promotion and checks it against rules: a FieldError on "id" says why it
// may not be promoted (not paper, failed, too young, too few trades).
func (s *Store) Paper(ctx context.Context, p tenancy.Principal, id string, rules PromoteRules) (PaperRecord, error) {
	var rec PaperRecord
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		rec, err = paperRecord(ctx, tx, p, id, s.clock.Now(), rules.withDefaults())
		return err
	})
	if err != nil {
		return rec, fmt.Errorf("promote %s: %w", id, err)
	}
	return rec, nil
}

func paperRecord(ctx context.Context, tx *db.Tx, p tenancy.Principal, id string, now time.Time, rules PromoteRules) (PaperRecord, error) {
	d, err := scanDeployment(tx.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ? AND tenant_id = ?`, id, p.Tenant))
	if err != nil {
		return PaperRecord{}, err
	}
	rec := PaperRecord{Deployment: d}
	end := now
	if d.State.Terminal() {
		end = d.Updated
	}
	rec.Ran = max(0, end.Sub(d.Created))
	rows, err := tx.Query(ctx, `SELECT open, record FROM deployment_trades WHERE deployment_id = ?`, id)
	if err != nil {
		return rec, err
	}
	defer rows.Close()
	for rows.Next() {
		var open int64
		var raw string
		if err := rows.Scan(&open, &raw); err != nil {
			return rec, err
		}
		if open != 0 {
			rec.OpenTrades++
			continue
		}
		var t trade.Trade
		if err := json.Unmarshal([]byte(raw), &t); err != nil {
			return rec, fmt.Errorf("read trade of %s: %w", id, err)
		}
		rec.ClosedTrades++
		rec.Profit += t.ProfitAbs
		if t.ProfitAbs > 0 {
			rec.Wins++
		}
	}
	if err := rows.Err(); err != nil {
		return rec, err
	}
	switch {
	case d.Spec.Mode != Paper:
		return rec, Invalid("id", fmt.Sprintf("%s is a %s deployment; only a paper deployment is promoted", id, d.Spec.Mode))
	case d.State == Failed:
		return rec, Invalid("id", fmt.Sprintf("%s failed (%s); a failed paper deployment is not promoted", id, d.Error))
	case rules.MinAge > 0 && rec.Ran < rules.MinAge:
		return rec, Invalid("id", fmt.Sprintf("%s has traded on paper for %s; promotion needs %s (and %d closed trades; it has %d)",
			id, rec.Ran.Round(time.Minute), rules.MinAge, rules.MinTrades, rec.ClosedTrades))
	case rules.MinTrades > 0 && rec.ClosedTrades < rules.MinTrades:
		return rec, Invalid("id", fmt.Sprintf("%s has closed %d trades on paper; promotion needs %d", id, rec.ClosedTrades, rules.MinTrades))
	}
	return rec, nil
}

// LiveOf is the live deployment promoting paper deployment d makes: the
// same version, pairs, timeframe and config, in live mode on venue with
// account.
func LiveOf(d Deployment, venue, account string) Spec {
	s := d.Spec
	s.Mode, s.Venue, s.Account = Live, venue, account
	s.Pairs = slices.Clone(d.Spec.Pairs)
	return s
}

// Promote creates the live deployment LiveOf(paper id, venue, account) —
// once the paper deployment passes rules, checked again in the same
// transaction — audited as deployment.promote with who, from which paper
// deployment, the version and the account. The venue and account are the
// caller's to check (the platform's Venues).
func (s *Store) Promote(ctx context.Context, p tenancy.Principal, id, venue, account string, rules PromoteRules) (Deployment, error) {
	now := s.clock.Now()
	var live Deployment
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		rec, err := paperRecord(ctx, tx, p, id, now, rules.withDefaults())
		if err != nil {
			return err
		}
		spec := LiveOf(rec.Deployment, venue, account)
		if err := spec.Validate(); err != nil {
			return err
		}
		if live, err = insert(ctx, tx, p, spec, now); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "deployment.promote", Target: live.ID, At: now,
			Detail: map[string]any{"from": id, "strategy": spec.Strategy, "version": spec.Version, "code_sha256": spec.CodeSHA256,
				"venue": venue, "account": account, "paper_ran_s": int64(rec.Ran / time.Second), "paper_closed_trades": rec.ClosedTrades}})
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("promote %s: %w", id, err)
	}
	return live, nil
}

// Limits are the risk limits a deployment of spec trades under: its
// config's risk_limits, made tighter by its account's (SetAccountLimits).
// Limits that do not parse are an ErrInvalid naming the key.
func (s *Store) Limits(ctx context.Context, tenant string, spec Spec) (risk.Limits, error) {
	raw := []byte(spec.Config)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	l, err := risk.Parse(raw)
	if err != nil {
		return risk.Limits{}, Invalid("config", err.Error())
	}
	acct, err := s.AccountLimits(ctx, tenant, spec.Venue, spec.Account)
	if err != nil || acct == nil {
		return l, err
	}
	al, err := risk.Parse([]byte(`{"` + risk.Key + `": ` + string(acct) + `}`))
	if err != nil {
		return risk.Limits{}, Invalid("account", fmt.Sprintf("the risk limits of account %s: %s", spec.Account, err))
	}
	return l.Tighter(al), nil
}
