package hyperliquid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// The venue's API base URLs.
const (
	MainnetURL = "https://api.hyperliquid.xyz"
	TestnetURL = "https://api.hyperliquid-testnet.xyz"
)

// maxBody bounds an answer read from the venue.
const maxBody = 16 << 20

// Config is a client's setup.
type Config struct {
	// BaseURL is the API (MainnetURL when empty).
	BaseURL string
	// Mainnet says which network actions are signed for (the phantom
	// agent's source "a"; testnet and test servers "b"). Default: true
	// when BaseURL is MainnetURL or empty.
	Mainnet *bool
	// PrivateKey is the API wallet's key (hex); empty: a client for /info
	// only.
	PrivateKey string
	// Account is the address of the account the API wallet trades for
	// (the master account or a sub-account); empty: the key's own
	// address.
	Account string
	HTTP    *http.Client // nil: http.DefaultClient
	Clock   clock.Clock  // nonces; nil: clock.Real
}

// Client talks to one Hyperliquid API for one account.
type Client struct {
	base    string
	mainnet bool
	signer  *Signer
	account string
	http    *http.Client
	clock   clock.Clock

	mu        sync.Mutex
	lastNonce uint64
}

// New returns a client for c.
func New(c Config) (*Client, error) {
	cl := &Client{base: strings.TrimRight(c.BaseURL, "/"), http: c.HTTP, clock: c.Clock}
	if cl.base == "" {
		cl.base = MainnetURL
	}
	cl.mainnet = cl.base == MainnetURL
	if c.Mainnet != nil {
		cl.mainnet = *c.Mainnet
	}
	if cl.http == nil {
		cl.http = http.DefaultClient
	}
	if cl.clock == nil {
		cl.clock = clock.Real()
	}
	if c.PrivateKey != "" {
		s, err := NewSigner(c.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("hyperliquid API wallet: %w", err)
		}
		cl.signer = s
		cl.account = s.Address().String()
	}
	if c.Account != "" {
		a, err := ParseAddress(strings.ToLower(strings.TrimSpace(c.Account)))
		if err != nil {
			return nil, fmt.Errorf("hyperliquid account: %w", err)
		}
		cl.account = a.String()
	}
	return cl, nil
}

// Account is the address of the account the client acts for ("" for a
// public client).
func (c *Client) Account() string { return c.account }

// Signer is the API wallet (nil for a public client).
func (c *Client) Signer() *Signer { return c.signer }

// Mainnet reports which network the client signs for.
func (c *Client) Mainnet() bool { return c.mainnet }

// APIError is a failure the venue reported: an HTTP status other than
// 200, or an /exchange answer {"status":"err","response":Msg}.
type APIError struct {
	HTTPStatus int
	Msg        string
	RetryAfter time.Duration // 429: when to try again, if said
}

func (e *APIError) Error() string {
	return fmt.Sprintf("hyperliquid: %s (HTTP %d)", e.Msg, e.HTTPStatus)
}

// ErrUndecodable marks an answer that is not what the API documents.
var ErrUndecodable = errors.New("hyperliquid: undecodable answer")

// post sends body to path and returns the 200 answer's body.
func (c *Client) post(ctx context.Context, path string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hyperliquid %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("hyperliquid %s: read the answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{HTTPStatus: resp.StatusCode, Msg: strings.TrimSpace(string(data))}
		if e.Msg == "" || e.Msg == "null" {
			e.Msg = http.StatusText(resp.StatusCode)
		}
		if len(e.Msg) > 500 {
			e.Msg = e.Msg[:500]
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, e
	}
	return data, nil
}

// Info posts an /info request (an object with its "type") and decodes
// the answer into out.
func (c *Client) Info(ctx context.Context, req any, out any) error {
	data, err := c.post(ctx, "/info", req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	return nil
}

// nonce is the time in milliseconds, made strictly increasing: the venue
// refuses a nonce it has seen.
func (c *Client) nonce() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := uint64(max(c.clock.Now().UnixMilli(), 0))
	if n <= c.lastNonce {
		n = c.lastNonce + 1
	}
	c.lastNonce = n
	return n
}

// ExchangeRequest is the body of POST /exchange.
type ExchangeRequest struct {
	Action       json.RawMessage `json:"action"`
	Nonce        uint64          `json:"nonce"`
	Signature    Signature       `json:"signature"`
	VaultAddress *string         `json:"vaultAddress"`
}

// Exchange signs action and posts it to /exchange; an "ok" answer's
// response is decoded into out ({"type":…,"data":…}).
func (c *Client) Exchange(ctx context.Context, action Obj, out any) error {
	if c.signer == nil {
		return errors.New("hyperliquid: this client has no API wallet key")
	}
	n := c.nonce()
	sig, err := c.signer.SignL1(action, n, nil, c.mainnet)
	if err != nil {
		return err
	}
	a, err := action.MarshalJSON()
	if err != nil {
		return err
	}
	data, err := c.post(ctx, "/exchange", ExchangeRequest{Action: a, Nonce: n, Signature: sig})
	if err != nil {
		return err
	}
	return DecodeExchange(data, out)
}

// DecodeExchange reads an /exchange answer: {"status":"ok","response":R}
// decodes R into out; {"status":"err","response":"msg"} is an *APIError.
func DecodeExchange(data []byte, out any) error {
	var r struct {
		Status   string          `json:"status"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	switch r.Status {
	case "ok":
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(r.Response, out); err != nil {
			return fmt.Errorf("%w: %w", ErrUndecodable, err)
		}
		return nil
	case "err":
		var msg string
		if err := json.Unmarshal(r.Response, &msg); err != nil {
			msg = string(r.Response)
		}
		return &APIError{HTTPStatus: http.StatusOK, Msg: msg}
	}
	return fmt.Errorf("%w: status %q", ErrUndecodable, r.Status)
}
