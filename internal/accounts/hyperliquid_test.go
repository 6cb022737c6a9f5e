package accounts_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/hyperliquid"
)

// roleServer answers Hyperliquid's userRole for the wallet with the
// documented shapes: agent (of account), user, or missing.
func roleServer(t *testing.T, role, account string) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Type, User string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Type != "userRole" || r.URL.Path != "/info" {
			http.Error(w, "bad request", http.StatusUnprocessableEntity)
			return
		}
		switch role {
		case "agent":
			_ = json.NewEncoder(w).Encode(map[string]any{"role": "agent", "data": map[string]string{"user": account}})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"role": role})
		}
	}))
	t.Cleanup(hs.Close)
	return hs
}

const (
	agentKey = "0x0123456789012345678901234567890123456789012345678901234567890123"
	acct     = "0x31ca8395cf837de08b24da3f660e77761dfb974b"
)

func TestCheckHyperliquid(t *testing.T) {
	signer, err := hyperliquid.NewSigner(agentKey)
	if err != nil {
		t.Fatal(err)
	}
	wallet := signer.Address().String()
	for _, c := range []struct {
		role, roleAccount string
		verdict           error
		note              string
	}{
		{"agent", acct, nil, "API wallet " + wallet + ", approved by the account " + acct + ": an API (agent) wallet can trade but cannot withdraw"},
		{"user", "", accounts.ErrCanWithdraw, "which can withdraw"},
		{"missing", "", accounts.ErrCannotTrade, "no account has approved the wallet " + wallet},
	} {
		hs := roleServer(t, c.role, c.roleAccount)
		cl, err := hyperliquid.New(hyperliquid.Config{BaseURL: hs.URL, PrivateKey: agentKey, Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		p, err := accounts.CheckHyperliquid(t.Context(), cl)
		if err != nil {
			t.Fatalf("%s: %v", c.role, err)
		}
		if v := p.Check(); !errors.Is(v, c.verdict) || (c.verdict == nil && v != nil) {
			t.Errorf("%s: verdict %v, want %v", c.role, v, c.verdict)
		}
		if !strings.Contains(p.Note, c.note) {
			t.Errorf("%s: note %q, want it to say %q", c.role, p.Note, c.note)
		}
	}
}

func TestCheckHyperliquidRefusesAWalletOfAnotherAccount(t *testing.T) {
	hs := roleServer(t, "agent", "0x0000000000000000000000000000000000000001")
	cl, err := hyperliquid.New(hyperliquid.Config{BaseURL: hs.URL, PrivateKey: agentKey, Account: acct})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.CheckHyperliquid(t.Context(), cl); err == nil || !strings.Contains(err.Error(), "not for the stored account") {
		t.Fatalf("a wallet of another account: %v", err)
	}
}
