package web

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/strategy"
)

// FuzzSafeNext: wherever a sign-in form says to go next, the answer is a
// path of this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"", "/runs", "//evil.example", "/\\evil.example", "https://evil.example/", "/runs?x=1\r\nSet-Cookie: a=b", "/%2F%2Fevil", "javascript:alert(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if got != next && got != "/runs" {
			t.Fatalf("safeNext(%q) = %q: neither the path nor the default", next, got)
		}
	})
}

// FuzzParseFilter: any query gives a filter or says what is wrong.
func FuzzParseFilter(f *testing.F) {
	f.Add("completed", "rsi_bollinger", "3", "k=v", "2024-01-01", "2024-02-01")
	f.Add("nope", "", "-1", "=", "2024-13-01", "x")
	f.Fuzz(func(t *testing.T, status, strat, version, tag, from, to string) {
		fl, problem := parseFilter(runsFilter{Status: status, Strategy: strat, Version: version, Tag: tag, From: from, To: to})
		if problem != "" {
			return
		}
		if fl.Status != "" && !slices.Contains(statuses, string(fl.Status)) {
			t.Fatalf("status %q accepted", fl.Status)
		}
		if version != "" && fl.StrategyVersion < 1 {
			t.Fatalf("version %q accepted as %d", version, fl.StrategyVersion)
		}
		if !fl.CreatedTo.IsZero() && !fl.CreatedFrom.IsZero() && from == to && !fl.CreatedTo.After(fl.CreatedFrom) {
			t.Fatalf("from and to the same day select nothing: %v %v", fl.CreatedFrom, fl.CreatedTo)
		}
	})
}

// FuzzBacktestRequest: any form becomes a submission or a list of what is
// wrong, never a panic; accepted pairs and tags are never empty.
func FuzzBacktestRequest(f *testing.F) {
	f.Add("ETH/BTC, LTC/BTC", "a=b c=d", `{"fee":0.001}`, "unlimited", "1", "3", "14")
	f.Add(",,", "=x", `{"exchange":"x"}`, "abc", "NaN", "1e400", "")
	sp := strategy.Builtins()["rsi_bollinger"].Spec()
	f.Fuzz(func(t *testing.T, pairs, tags, config, stake, wallet, maxOpen, rsi string) {
		form := backtestForm{Strategy: "rsi_bollinger", Exchange: "binance", Pairs: pairs, Tags: tags, Config: config, StakeAmount: stake, Wallet: wallet, MaxOpen: maxOpen,
			Params: []paramField{{Name: "rsi_period", Kind: "int", Value: rsi}}}
		req, problems := form.request(&sp)
		if len(problems) > 0 {
			return
		}
		for _, p := range req.Pairs {
			if strings.TrimSpace(p) == "" || strings.ContainsAny(p, ", \n") {
				t.Fatalf("pair %q from %q", p, pairs)
			}
		}
		for k := range req.Tags {
			if k == "" && !strings.Contains(tags, "=") {
				t.Fatalf("empty tag key from %q", tags)
			}
		}
	})
}

// FuzzDeployForm: any deployment form becomes a request or errors under
// the form's own fields, never a panic; accepted pairs are never empty,
// and any error location of the API names a field without its path.
func FuzzDeployForm(f *testing.F) {
	f.Add("sma_cross", "paper", "sim", "paper1", "ETH/BTC, LTC/BTC", "5m", `{"stake_currency":"BTC"}`, "body.pairs[1]")
	f.Add("", "dream", "", "", ",,\n", "", "{nope", "body.config.strategy_params")
	f.Fuzz(func(t *testing.T, strat, mode, venue, account, pairs, timeframe, config, loc string) {
		form := deployForm{Strategy: strat, Mode: mode, Venue: venue, Account: account, Pairs: pairs, Timeframe: timeframe, Config: config, Errors: map[string]string{}}
		req := form.request()
		for field := range form.Errors {
			if !deployFields[field] {
				t.Fatalf("error under %q, no field of the form", field)
			}
		}
		if len(form.Errors) == 0 {
			if len(req.Pairs) == 0 || req.Mode != "paper" && req.Mode != "live" {
				t.Fatalf("accepted %+v", req)
			}
			for _, p := range req.Pairs {
				if strings.TrimSpace(p) == "" || strings.ContainsAny(p, ", \n") {
					t.Fatalf("pair %q from %q", p, pairs)
				}
			}
		}
		if got := formField(loc); strings.ContainsAny(got, ".[") {
			t.Fatalf("formField(%q) = %q", loc, got)
		}
	})
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "br, gzip;q=0.5": true, "GZIP": true, "gzip;q=0": false, "gzip; q=0": false, "identity": false, "x-gzip": false, "deflate, br": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v", header, got)
		}
	}
}
