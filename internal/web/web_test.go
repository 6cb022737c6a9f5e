package web_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, signed in to a server as a browser would be.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

type answer struct {
	status   int
	body     string
	location string
	header   http.Header
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: string(body), location: res.Header.Get("Location"), header: res.Header}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf is the form token of the signed-in session, read from a page.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfPattern.FindStringSubmatch(b.get("/runs").body)
	if m == nil {
		b.t.Fatal("no CSRF token on /runs")
	}
	return m[1]
}

func signedIn(t testing.TB, base, token string) *browser {
	t.Helper()
	b := newBrowser(t, base)
	if a := b.post("/signin", url.Values{"token": {token}, "next": {"/runs"}}); a.status != http.StatusSeeOther || a.location != "/runs" {
		t.Fatalf("sign in: %d %s %s", a.status, a.location, a.body)
	}
	return b
}

// submit sends the backtest form and returns the new run's id.
func (b *browser) submit(form url.Values) string {
	b.t.Helper()
	form.Set("csrf", b.csrf())
	a := b.post("/backtests", form)
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/runs/run_") {
		b.t.Fatalf("submit: %d %s\n%s", a.status, a.location, a.body)
	}
	return strings.TrimPrefix(a.location, "/runs/")
}

// waitDone polls a run's status fragment until it is final.
func (b *browser) waitDone(id string) string {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a := b.get("/runs/" + id + "/status")
		if strings.Contains(a.body, `data-final="true"`) {
			return a.body
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("run %s did not finish", id)
	return ""
}

func backtestForm(extra ...string) url.Values {
	f := url.Values{
		"key": {"k-" + time.Now().Format("150405.000000000")}, "strategy": {"rsi_bollinger"}, "exchange": {"binance"},
		"pairs": {"ETH/BTC, LTC/BTC"}, "timerange": {"20180110-20180112"}, "stake_currency": {"BTC"},
		"stake_amount": {"unlimited"}, "dry_run_wallet": {"1"}, "max_open_trades": {"3"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// gappedData is a data folder with the example data and ETH/USDT 1h
// candles missing three hours.
func gappedData(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	src := clienttest.ExampleData()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	st, err := market.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2018, 1, 10, 0, 0, 0, 0, time.UTC).UnixMilli()
	f := &sdk.Frame{}
	for i := range 48 {
		if i >= 20 && i < 23 {
			continue
		}
		p := 100 + float64(i)
		f.Time = append(f.Time, start+int64(i)*3_600_000)
		f.Open, f.High, f.Low, f.Close, f.Volume = append(f.Open, p), append(f.High, p+1), append(f.Low, p-1), append(f.Close, p), append(f.Volume, 10)
	}
	if _, err := st.Append(context.Background(), market.Key{Exchange: "binance", Pair: "ETH/USDT", Timeframe: "1h", Type: market.Spot}, f); err != nil {
		t.Fatal(err)
	}
	return dir
}

func pushStrategy(t testing.TB, s *clienttest.Server, token, name string, sources ...string) {
	t.Helper()
	c, err := client.New(s.URL, token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	py, err := os.ReadFile(filepath.Join(clienttest.ExampleData(), "..", "strategies", "python", "sma_cross.py"))
	if err != nil {
		t.Fatal(err)
	}
	for i, extra := range sources {
		body := tgz(t, map[string]string{"strategy.py": string(py) + extra})
		if _, err := c.PushStrategy(context.Background(), name, body, client.PushOptions{Message: "version " + string(rune('1'+i))}); err != nil {
			t.Fatalf("push %s: %v", name, err)
		}
	}
}

func tgz(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}
