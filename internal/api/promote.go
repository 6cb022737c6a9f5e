package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/tenancy"
)

// promoteTokenTTL is how long a promotion's confirm token is good for.
const promoteTokenTTL = 10 * time.Minute

// Promote is the paper → live hand-off of paper deployment id: without
// req.Confirm it checks everything and answers the plan (the paper
// results, the risk limits that will apply) and a token; with the token it
// creates the live deployment (deploy.Store.Promote, audited). The paper
// deployment must have run DeploymentsConfig.Promote's minimum. Bad input
// is a 4xx naming the field: path.id (not paper, failed, too young),
// body.to, body.venue, body.account (not one of the tenant's, or of
// another venue), body.confirm.
func (d *Deployments) Promote(ctx context.Context, p tenancy.Principal, id string, req apitype.DeploymentPromoteRequest) (apitype.Promotion, error) {
	for loc, text := range map[string]string{"body.account": req.Account, "body.venue": req.Venue, "body.confirm": req.Confirm} {
		if pr := checkText(loc, text); pr != nil {
			return apitype.Promotion{}, pr
		}
	}
	if req.To != string(deploy.Live) {
		return apitype.Promotion{}, invalid("body.to", "a paper deployment is promoted to live", req.To)
	}
	if req.Account == "" {
		return apitype.Promotion{}, invalid("body.account", "name one of your stored venue accounts (tradai accounts add)", nil)
	}
	rules := d.cfg.Promote
	rec, err := d.cfg.Store.Paper(ctx, p, id, rules)
	if err != nil {
		return apitype.Promotion{}, d.promoteErr(id, err)
	}
	paper := rec.Deployment
	spec := deploy.LiveOf(paper, cmp.Or(req.Venue, paper.Spec.Venue), req.Account)
	if err := spec.Validate(); err != nil {
		return apitype.Promotion{}, d.promoteErr(id, err)
	}
	// The venue lists the pairs; the account is the tenant's, of the venue.
	mkts, err := d.cfg.Venues.Markets(ctx, spec)
	if err != nil {
		return apitype.Promotion{}, d.promoteVenueErr(spec, err)
	}
	for _, pair := range spec.Pairs {
		if !slices.ContainsFunc(mkts, func(m exchange.Market) bool { return m.Base+"/"+m.Quote == pair }) {
			return apitype.Promotion{}, invalid("body.venue", fmt.Sprintf("venue %s does not list %s, which the deployment trades", spec.Venue, pair), spec.Venue)
		}
	}
	if err := d.cfg.Venues.Account(ctx, p.Tenant, spec, "", 0); err != nil {
		return apitype.Promotion{}, d.promoteVenueErr(spec, err)
	}
	limits, err := d.cfg.Store.Limits(ctx, p.Tenant, spec)
	if err != nil {
		return apitype.Promotion{}, d.promoteErr(id, err)
	}
	lj, err := json.Marshal(limits)
	if err != nil {
		return apitype.Promotion{}, d.internal("show the risk limits", err)
	}
	out := apitype.Promotion{Venue: spec.Venue, Account: spec.Account, Paper: apitype.PaperResults{ID: paper.ID, Strategy: paper.Spec.Strategy,
		StrategyVersion: paper.Spec.Version, State: string(paper.State), RanSeconds: rec.Ran.Seconds(), ClosedTrades: rec.ClosedTrades,
		OpenTrades: rec.OpenTrades, Wins: rec.Wins, RealisedProfit: rec.Profit, StartingBalance: startingBalance(paper),
		MinSeconds: max(0, cmp.Or(rules.MinAge, deploy.DefaultPromoteMinAge)).Seconds(), MinTrades: max(0, cmp.Or(rules.MinTrades, deploy.DefaultPromoteMinTrades))}}
	if err := json.Unmarshal(lj, &out.RiskLimits); err != nil {
		return apitype.Promotion{}, d.internal("show the risk limits", err)
	}
	if len(limits.AllowedPairs) == 0 && out.RiskLimits["allowed_pairs"] == nil {
		out.RiskLimits["allowed_pairs"] = spec.Pairs // left out: the deployment's pairs
	}
	now := d.clk.Now()
	if req.Confirm == "" {
		exp := now.Add(promoteTokenTTL).Truncate(time.Second)
		out.Token, out.ExpiresAt = promoteToken(p, spec, id, lj, exp), &exp
		return out, nil
	}
	if !validPromoteToken(req.Confirm, p, spec, id, lj, now) {
		return apitype.Promotion{}, invalid("body.confirm", "the token expired or the plan it confirmed changed (the account, the venue, the risk limits): ask again without confirm and confirm the new plan", nil)
	}
	live, err := d.cfg.Store.Promote(ctx, p, id, spec.Venue, spec.Account, rules)
	if err != nil {
		return apitype.Promotion{}, d.promoteErr(id, err)
	}
	v := d.view(live)
	out.Live = &v
	d.cfg.Log.Warn("deployment promoted to live", "tenant", p.Tenant, "user", p.User, "paper", id, "live", live.ID, "venue", spec.Venue, "account", spec.Account)
	return out, nil
}

// promoteToken holds the plan confirmed: who, which paper deployment, the
// live deployment's spec and limits, and until when. It is not a
// credential (the caller is authenticated already): it makes the second
// call confirm exactly the plan the first one showed.
func promoteToken(p tenancy.Principal, spec deploy.Spec, id string, limits []byte, exp time.Time) string {
	sj, _ := json.Marshal(spec)
	h := sha256.New()
	for _, part := range [][]byte{[]byte(p.Tenant), []byte(p.User), []byte(id), sj, limits, []byte(strconv.FormatInt(exp.Unix(), 10))} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	return "pt_" + strconv.FormatInt(exp.Unix(), 10) + "_" + hex.EncodeToString(h.Sum(nil))[:40]
}

func validPromoteToken(tok string, p tenancy.Principal, spec deploy.Spec, id string, limits []byte, now time.Time) bool {
	rest, ok := strings.CutPrefix(tok, "pt_")
	if !ok {
		return false
	}
	expS, _, ok := strings.Cut(rest, "_")
	sec, err := strconv.ParseInt(expS, 10, 64)
	if !ok || err != nil {
		return false
	}
	exp := time.Unix(sec, 0)
	return now.Before(exp) && !exp.After(now.Add(promoteTokenTTL)) && tok == promoteToken(p, spec, id, limits, exp)
}

// promoteErr is the answer to a store error of a promotion: the paper
// deployment's problems name path.id.
func (d *Deployments) promoteErr(id string, err error) error {
	var fe *deploy.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "id":
		return invalid("path.id", fe.Why, id)
	case errors.As(err, &fe) && (fe.Field == "venue" || fe.Field == "account"):
		return invalid("body."+fe.Field, fe.Why, nil)
	case errors.As(err, &fe):
		return invalid("body.venue", fmt.Sprintf("the live deployment's %s %s", fe.Field, fe.Why), nil)
	}
	return d.storeErr("promote", id, err)
}

// promoteVenueErr is the answer to a failure of the venue's checks.
func (d *Deployments) promoteVenueErr(spec deploy.Spec, err error) error {
	var fe *deploy.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "account":
		return problem(http.StatusNotFound, apitype.CodeNotFound, "body.account: "+fe.Why,
			&apitype.ErrorDetail{Location: "body.account", Message: fe.Why, Value: spec.Account})
	case errors.As(err, &fe):
		return invalid("body.venue", fe.Why, spec.Venue)
	}
	d.cfg.Log.Warn("deployment venue unreachable", "venue", spec.Venue, "err", err)
	return problem(http.StatusBadGateway, apitype.CodeInvalidRequest, "body.venue: "+err.Error(),
		&apitype.ErrorDetail{Location: "body.venue", Message: "the venue did not answer as expected", Value: spec.Venue})
}
