package importer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
)

// TestBinanceZipBomb: a zip archive whose members inflate beyond the
// archive's budget (here blank lines, which the parser would skip for as
// long as they come) fails with ErrTooLarge naming the archive; the members
// share one budget.
func TestBinanceZipBomb(t *testing.T) {
	t.Parallel()
	lim := Options{Pair: "BTC/USDT", Timeframe: "1m", Inflate: datafile.InflateLimit{Max: 1 << 20}}
	blank := bytes.Repeat([]byte("\n"), 4<<20)
	_, err := importBinance(makeZip(t, "BTCUSDT-1m-2024-01-01.csv", blank), "bomb.zip", lim)
	if !errors.Is(err, datafile.ErrTooLarge) || !strings.HasPrefix(err.Error(), "bomb.zip: ") {
		t.Fatalf("one member: %v", err)
	}
	// Three members of 600 KB each: each within the limit, together not.
	rows := genBinance(1440, "1m", jan2024, false, 3)
	lines := bytes.SplitAfter(rows, []byte("\n"))
	var members []any
	for i, name := range []string{"a.csv", "b.csv", "c.csv"} {
		members = append(members, name, append(bytes.Join(lines[480*i:480*(i+1)], nil), bytes.Repeat([]byte("\n"), 600<<10)...))
	}
	_, err = importBinance(makeZip(t, members...), "split.zip", lim)
	if !errors.Is(err, datafile.ErrTooLarge) {
		t.Fatalf("three members: %v", err)
	}
	// A real archive within the limit imports as before.
	if res, err := importBinance(makeZip(t, "BTCUSDT-1m-2024-01-01.csv", rows), "ok.zip", lim); err != nil || res.Frame.Len() != 1440 {
		t.Fatalf("a real archive: %v", err)
	}
}
