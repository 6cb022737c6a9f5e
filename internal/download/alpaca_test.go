package download

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/market"
)

// Alpaca's bars download into the store: daily bars of the trading days
// only (no weekend, no Independence Day), stamped at midnight UTC of
// their date; today's, still forming, left out; a second run adds
// nothing.
func TestAlpacaDownload(t *testing.T) {
	now := time.Date(2024, 7, 8, 15, 0, 0, 0, time.UTC)
	clk := clock.NewSkipping(now)
	srv := alpacatest.New(alpacatest.Config{KeyID: "k", Secret: "s", Clock: clk, Location: time.FixedZone("EDT", -4*3600),
		Assets: []alpacatest.Asset{{Symbol: "AAPL", Fractionable: true, Price: fixed.MustParse("180.25")}},
		Calendar: func(date string) (alpacatest.Day, bool) {
			d, _ := time.Parse(time.DateOnly, date)
			return alpacatest.Day{Open: "09:30", Close: "16:00", SessionOpen: "0400", SessionClose: "2000"},
				d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && date != "2024-07-04"
		}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := alpaca.New(alpaca.Config{BaseURL: hs.URL, DataURL: hs.URL, KeyID: "k", Secret: "s", HTTP: hs.Client(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	store, err := market.Open(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	d := New(store, NewAlpaca(c), Options{Clock: clk})
	k := market.Key{Exchange: "alpaca", Pair: "AAPL/USD", Timeframe: "1d", Type: market.Spot}
	from := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	rep, err := d.Download(context.Background(), []market.Key{k}, market.Range{Start: from})
	if err != nil {
		t.Fatalf("download: %v (%+v)", err, rep)
	}
	f, err := store.Load(context.Background(), k, market.Range{})
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, ms := range f.Time {
		days = append(days, time.UnixMilli(ms).UTC().Format(time.RFC3339))
	}
	want := []string{"2024-07-01T00:00:00Z", "2024-07-02T00:00:00Z", "2024-07-03T00:00:00Z", "2024-07-05T00:00:00Z"}
	if len(days) != len(want) || f.Close[0] != 180.25 {
		t.Fatalf("stored %v (closes %v), want %v", days, f.Close, want)
	}
	for i := range want {
		if days[i] != want[i] {
			t.Fatalf("stored %v, want %v", days, want)
		}
	}
	rep, err = d.Download(context.Background(), []market.Key{k}, market.Range{Start: from})
	if err != nil || rep.Added() != 0 {
		t.Fatalf("a second download added %d: %v", rep.Added(), err)
	}
	if _, err := NewAlpaca(c).Fetch(context.Background(), market.Key{Exchange: "alpaca", Pair: "AAPL/USDT", Timeframe: "1d"}, from, now.UnixMilli()); err == nil {
		t.Fatal("AAPL/USDT: want an error, Alpaca's quote is USD")
	}
}
