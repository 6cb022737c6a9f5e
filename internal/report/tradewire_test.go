package report

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/trade"
)

// expandWire is the page script's expandTrades in Go, for the tests: the
// rows of the compact trade data.
func expandWire(t *testing.T, w tradeWire) [][]string {
	t.Helper()
	decode := func(e wireEnc) []string {
		out := make([]string, w.N)
		for i := range out {
			switch {
			case e.Seq == 1:
				out[i] = strconv.Itoa(i + 1)
			case e.Dict != nil:
				out[i] = e.Dict[e.Idx[i]]
			case e.List != nil:
				out[i] = e.List[i]
			case e.At[i] == nil:
				out[i] = *e.None
			default:
				at := time.UnixMilli(*e.Time + *e.At[i]*e.Step).UTC()
				if e.As == "minute" {
					out[i] = at.Format("2006-01-02 15:04")
				} else {
					out[i] = at.Format("2006-01-02T15:04:05.999Z")
				}
			}
		}
		return out
	}
	var cols [][]string
	for c := range w.Cols {
		text := decode(w.Text[c])
		value := text
		if w.Value[c] != nil {
			value = decode(*w.Value[c])
		}
		cols = append(cols, text, value)
	}
	cols = append(cols, decode(w.Tone))
	rows := make([][]string, w.N)
	for i := range rows {
		for _, col := range cols {
			rows[i] = append(rows[i], col[i])
		}
	}
	return rows
}

// wireTable is a trade table whose columns hold times (one open), repeated
// texts, numbers and text with JSON's special characters.
func wireTable() *tradeTable {
	res, _ := largeFixture()
	res.Trades = append(res.Trades, trade.Trade{Pair: "ETH/USDT", OpenTime: ms("2024-01-10 12:00") + 1500, OpenRate: 2400, Stake: 100, Leverage: 3, EnterTag: `a"<\u2028`})
	res.Trades[0].CloseTime += 7 // milliseconds
	return tradeTableOf(res, "USDT")
}

// The compact trade data rebuilds every row exactly, and is smaller than
// the rows.
func TestTradeWireRoundTrip(t *testing.T) {
	tt := wireTable()
	js, err := json.Marshal(tt)
	if err != nil {
		t.Fatal(err)
	}
	var w tradeWire
	if err := json.Unmarshal(js, &w); err != nil {
		t.Fatal(err)
	}
	got := expandWire(t, w)
	if !slices.EqualFunc(got, tt.Rows, slices.Equal) {
		t.Fatalf("rows differ:\n got %q\nwant %q", got[len(got)-1], tt.Rows[len(tt.Rows)-1])
	}
	plain, _ := json.Marshal(tt.Rows)
	if len(js) >= len(plain) {
		t.Errorf("compact data %d bytes, plain rows %d", len(js), len(plain))
	}
}

// The page's script rebuilds the same rows (run with node, when installed).
func TestTradeWireScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	tt := wireTable()
	js, err := json.Marshal(tt)
	if err != nil {
		t.Fatal(err)
	}
	src := string(reportJS)
	a, b := strings.Index(src, "// begin expandTrades"), strings.Index(src, "// end expandTrades")
	if a < 0 || b < a {
		t.Fatal("script.js lacks the expandTrades markers")
	}
	prog := src[a:b] + "\nvar out = expandTrades(JSON.parse(require('fs').readFileSync(0, 'utf8')));\n" +
		"process.stdout.write(JSON.stringify(out.rows));\n"
	file := filepath.Join(t.TempDir(), "expand.js")
	if err := os.WriteFile(file, []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, file)
	cmd.Stdin = strings.NewReader(string(js))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var rows [][]string
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(rows, tt.Rows, slices.Equal) {
		for i := range rows {
			if !slices.Equal(rows[i], tt.Rows[i]) {
				t.Fatalf("row %d:\n got %q\nwant %q", i, rows[i], tt.Rows[i])
			}
		}
		t.Fatalf("%d rows, want %d", len(rows), len(tt.Rows))
	}
}
