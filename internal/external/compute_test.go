package external

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
	"github.com/tradai/tradai/sdk/ta"
)

// walkFrame returns n candles of a seeded random walk.
func walkFrame(n int) *sdk.Frame {
	r := rand.New(rand.NewPCG(3, uint64(n)))
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1m", Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	p := 100.0
	for i := range n {
		o := p
		p *= math.Exp(r.NormFloat64() * 0.01)
		f.Time[i] = int64(i) * 60_000
		f.Open[i], f.Close[i] = o, p
		f.High[i], f.Low[i] = max(o, p)*1.001, min(o, p)*0.999
		f.Volume[i] = 1 + r.Float64()
	}
	return f
}

// floats decodes little-endian float64s.
func floats(b []byte) []float64 {
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// conversation is what a strategy sends while serving request id: compute
// and fetch lines, then its answer.
func conversation(lines ...string) *bufio.Reader {
	return bufio.NewReader(strings.NewReader(strings.Join(lines, "\n") + "\n"))
}

// computedAnswers decodes TradAI's answers to the compute messages: the
// headers and, for each, the payload that followed.
func computedAnswers(t *testing.T, out []byte) ([]serve.ComputedMessage, [][]byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	var ms []serve.ComputedMessage
	var ps [][]byte
	for {
		line, err := serve.ReadHeader(br)
		if errors.Is(err, io.EOF) {
			return ms, ps
		}
		if err != nil {
			t.Fatal(err)
		}
		var m serve.ComputedMessage
		if err := json.Unmarshal(line, &m); err != nil || m.Type != serve.TypeComputed {
			t.Fatalf("answer %s: %v", line, err)
		}
		p := make([]byte, m.Bytes)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		ms, ps = append(ms, m), append(ps, p)
	}
}

// What a strategy computes through TradAI is sdk/ta's, bit for bit, and
// bool results named as signal columns become the frame's signals.
func TestComputeIsTA(t *testing.T) {
	const n = 700
	f := walkFrame(n)
	var out bytes.Buffer
	comp := newComputer(9, f, DefaultComputeBytes, &out, nil, 0)
	dst := newDst(n)
	for k := range dst {
		dst[k][5] = 1 // stale values from an earlier request
	}
	br := conversation(
		`{"type":"compute","id":9,"ref":1,"fn":"sma","inputs":["close"],"args":[10]}`,
		`{"type":"compute","id":9,"ref":2,"fn":"sma","inputs":["close"],"args":[30]}`,
		`{"type":"compute","id":9,"ref":3,"fn":"crossed_above","inputs":[1,2]}`,
		`{"type":"compute","id":9,"ref":4,"fn":"crossed_below","inputs":[1,2]}`,
		`{"type":"compute","id":9,"ref":5,"fn":"rsi","inputs":["high"],"args":[14],"send":true}`,
		`{"type":"compute","id":9,"ref":6,"fn":"below","inputs":[5],"args":[40]}`,
		`{"type":"compute","id":9,"ref":7,"fn":"and","inputs":[3,6]}`,
		`{"type":"compute","id":9,"ref":8,"fn":"not","inputs":[7]}`,
		`{"type":"compute","id":9,"ref":9,"fn":"stdev","inputs":["volume"],"args":[20]}`,
		`{"type":"compute","id":9,"ref":10,"fn":"above","inputs":[1,2]}`,
		`{"type":"compute","id":9,"ref":11,"fn":"ema","inputs":[2],"args":[5]}`,
		`{"type":"compute","id":9,"ref":12,"fn":"or","inputs":[8,10]}`,
		`{"type":"compute","id":9,"ref":13,"fn":"rose","inputs":[10],"send":true}`,
		`{"type":"compute","id":9,"ref":14,"fn":"fell","inputs":[10],"send":true}`,
		`{"type":"compute","id":9,"ref":15,"fn":"sma","inputs":["close"],"args":[701],"send":true}`,
		`{"type":"fetch","id":9,"ref":9}`,
		`{"type":"fetch","id":9,"ref":11}`,
		`{"type":"fetch","id":9,"ref":12}`,
		`{"type":"signals","id":9,"n":700,"columns":[],"bytes":0,"computed":{"enter_long":3,"exit_long":4,"exit_short":7}}`,
	)
	if _, err := readAnswer(br, 9, n, &dst, nil, comp); err != nil {
		t.Fatal(err)
	}
	ms, ps := computedAnswers(t, out.Bytes())
	if len(ms) != 18 {
		t.Fatalf("%d answers, want 18", len(ms))
	}
	for k, m := range ms[:15] {
		if m.ID != 9 || m.Ref != k+1 || m.Error != "" || m.N != n {
			t.Fatalf("answer %d: %+v", k, m)
		}
	}
	fast, slow := ta.SMA(f.Close, 10), ta.SMA(f.Close, 30)
	rsi := ta.RSI(f.High, 14)
	sameBits := func(what string, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	if ms[4].Kind != serve.KindFloat64 || ms[4].Bytes != 8*n || ms[0].Bytes != 0 || ms[2].Kind != serve.KindBool {
		t.Fatalf("kinds and sizes: %+v %+v %+v", ms[0], ms[2], ms[4])
	}
	sameBits("rsi", floats(ps[4]), rsi)
	sameBits("stdev", floats(ps[15]), ta.StdDev(f.Volume, 20))
	sameBits("ema of sma", floats(ps[16]), ta.EMA(slow, 5))
	sameBits("a period beyond the candles", floats(ps[14]), ta.SMA(f.Close, 701))
	var crosses int
	for i := range n {
		up, down := ta.CrossedAbove(fast, slow, i), ta.CrossedBelow(fast, slow, i)
		both := up && rsi[i] < 40
		if (dst[0][i] == 1) != up || (dst[1][i] == 1) != down || dst[2][i] != 0 || (dst[3][i] == 1) != both {
			t.Fatalf("candle %d: signals %d %d %d %d", i, dst[0][i], dst[1][i], dst[2][i], dst[3][i])
		}
		if or := !both || fast[i] > slow[i]; (ps[17][i] == 1) != or {
			t.Fatalf("candle %d: or = %d", i, ps[17][i])
		}
		// rose and fell of "fast above slow": the built-in sma_cross's
		// entries and exits.
		rose := i > 0 && fast[i] > slow[i] && !(fast[i-1] > slow[i-1])
		fell := i > 0 && !(fast[i] > slow[i]) && fast[i-1] > slow[i-1]
		if (ps[12][i] == 1) != rose || (ps[13][i] == 1) != fell {
			t.Fatalf("candle %d: rose %d fell %d", i, ps[12][i], ps[13][i])
		}
		if up {
			crosses++
		}
	}
	if crosses == 0 {
		t.Fatal("no crossing in the test data")
	}
}

// memValues is an in-memory shared file.
type memValues struct{ b []byte }

func (m *memValues) ensure(size int64) error {
	if size > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, size-int64(len(m.b)))...)
	}
	return nil
}

func (m *memValues) WriteAt(b []byte, off int64) (int, error) { return copy(m.b[off:], b), nil }

// With the shm transport, values go into the shared file after the
// answer's room, each from a multiple of 64.
func TestComputeValuesInShm(t *testing.T) {
	const n = 50
	f := walkFrame(n)
	var out bytes.Buffer
	shm := &memValues{}
	from := shmSize(8*n, n) // one column in, room for the answer
	comp := newComputer(2, f, DefaultComputeBytes, &out, shm, from)
	dst := newDst(n)
	br := conversation(
		`{"type":"compute","id":2,"ref":1,"fn":"above","inputs":["close","open"],"send":true}`,
		`{"type":"compute","id":2,"ref":2,"fn":"sma","inputs":["close"],"args":[3],"send":true}`,
		`{"type":"signals","id":2,"n":50,"columns":[],"bytes":0}`,
	)
	if _, err := readAnswer(br, 2, n, &dst, nil, comp); err != nil {
		t.Fatal(err)
	}
	ms, _ := computedAnswers(t, out.Bytes())
	if len(ms) != 2 || ms[0].Shm == nil || ms[1].Shm == nil || ms[0].Bytes != 0 {
		t.Fatalf("answers %+v", ms)
	}
	a, b := ms[0].Shm, ms[1].Shm
	if a.Offset < from || a.Offset%64 != 0 || a.Bytes != n || b.Offset < a.Offset+a.Bytes || b.Offset%64 != 0 || b.Bytes != 8*n ||
		int64(len(shm.b)) < b.Offset+b.Bytes {
		t.Fatalf("regions %+v %+v from %d in a file of %d", a, b, from, len(shm.b))
	}
	for i, v := range shm.b[a.Offset : a.Offset+n] {
		if (v == 1) != (f.Close[i] > f.Open[i]) {
			t.Fatalf("above[%d] = %d", i, v)
		}
	}
	if got, want := floats(shm.b[b.Offset:b.Offset+8*n]), ta.SMA(f.Close, 3); got[n-1] != want[n-1] || got[10] != want[10] {
		t.Fatalf("sma %v, want %v", got, want)
	}
}

// A compute TradAI refuses is answered with the reason and keeps
// nothing; the request goes on.
func TestComputeRefusals(t *testing.T) {
	const n = 40
	for _, c := range []struct{ msg, want string }{
		{`"fn":"macd","inputs":["close"]`, `unknown function "macd"`},
		{`"fn":"sma","inputs":["close"],"args":[0]`, "period 0 is not a whole number from 1 to 2147483648"},
		{`"fn":"sma","inputs":["close"],"args":[2147483649]`, "period 2147483649"},
		{`"fn":"sma","inputs":["close"],"args":[2.5]`, "period 2.5"},
		{`"fn":"sma","inputs":["close"]`, "takes 1 arguments, got 0"},
		{`"fn":"sma","inputs":["close","open"],"args":[3]`, "takes 1 inputs, got 2"},
		{`"fn":"sma","inputs":["time"],"args":[3]`, `"time" is not a candle column`},
		{`"fn":"sma","inputs":[7],"args":[3]`, "no result 7 was computed"},
		{`"fn":"sma","inputs":[1],"args":[3]`, "input 1 is a bool result"},
		{`"fn":"sma","inputs":[{"x":1}],"args":[3]`, "neither a column name nor a ref"},
		{`"fn":"not","inputs":["close"]`, "input 1 is a float64 result; it takes bool"},
		{`"fn":"above","inputs":["close"],"args":[1e999]`, "malformed"},
		{`"fn":"crossed_above","inputs":["close"]`, "takes 2 inputs, got 1"},
	} {
		var out bytes.Buffer
		comp := newComputer(1, walkFrame(n), DefaultComputeBytes, &out, nil, 0)
		dst := newDst(n)
		br := conversation(
			`{"type":"compute","id":1,"ref":1,"fn":"above","inputs":["close","open"]}`,
			`{"type":"compute","id":1,"ref":2,`+c.msg+`}`,
			`{"type":"signals","id":1,"n":40,"columns":[],"bytes":0,"computed":{"enter_long":1}}`,
		)
		_, err := readAnswer(br, 1, n, &dst, nil, comp)
		if c.want == "malformed" {
			var pe *protocolError
			if !errors.As(err, &pe) {
				t.Errorf("%s: %v, want a protocol violation", c.msg, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.msg, err)
			continue
		}
		ms, _ := computedAnswers(t, out.Bytes())
		if len(ms) != 2 || !strings.Contains(ms[1].Error, c.want) || ms[1].Ref != 2 || ms[1].Kind != "" {
			t.Errorf("%s: answers %+v, want an error with %q", c.msg, ms, c.want)
		}
		if comp.refs[2] != nil {
			t.Errorf("%s: a refused result was kept", c.msg)
		}
	}
}

// Refs and the byte budget bound what one request holds.
func TestComputeLimits(t *testing.T) {
	const n = 100
	var out bytes.Buffer
	comp := newComputer(1, walkFrame(n), 3*8*n, &out, nil, 0)
	var lines []string
	for ref := 1; ref <= 4; ref++ {
		lines = append(lines, `{"type":"compute","id":1,"ref":`+string(rune('0'+ref))+`,"fn":"sma","inputs":["close"],"args":[5]}`)
	}
	lines = append(lines,
		`{"type":"compute","id":1,"ref":1,"fn":"sma","inputs":["close"],"args":[5]}`,
		`{"type":"compute","id":1,"ref":65,"fn":"sma","inputs":["close"],"args":[5]}`,
		`{"type":"compute","id":1,"ref":0,"fn":"sma","inputs":["close"],"args":[5]}`,
		`{"type":"fetch","id":1,"ref":4}`,
		`{"type":"signals","id":1,"n":100,"columns":[],"bytes":0}`)
	dst := newDst(n)
	if _, err := readAnswer(conversation(lines...), 1, n, &dst, nil, comp); err != nil {
		t.Fatal(err)
	}
	ms, _ := computedAnswers(t, out.Bytes())
	for k, want := range []string{"", "", "", "more than the 2400 bytes TradAI allows", "ref 1 is already in use", "ref 65 is not between 1 and 64", "ref 0 is not between", "fetch: no result 4"} {
		if !strings.Contains(ms[k].Error, want) || want == "" && ms[k].Error != "" {
			t.Errorf("answer %d: %q, want %q", k, ms[k].Error, want)
		}
	}
}

// Compute messages that break the protocol end the request.
func TestComputeViolations(t *testing.T) {
	const n = 10
	for _, c := range []struct{ lines []string }{
		{[]string{`{"type":"compute","id":8,"ref":1,"fn":"sma","inputs":["close"],"args":[2]}`}},
		{[]string{`{"type":"compute","id":1,"ref":1,"fn":"sma","inputs":["close"],"args":[2],"bytes":80}`}},
		{[]string{`{"type":"fetch","id":1,"ref":"x"}`}},
		{[]string{`{"type":"signals","id":1,"n":10,"columns":[],"bytes":0,"computed":{"enter_long":1}}`}},
		{[]string{`{"type":"compute","id":1,"ref":1,"fn":"sma","inputs":["close"],"args":[2]}`,
			`{"type":"signals","id":1,"n":10,"columns":[],"bytes":0,"computed":{"enter_long":1}}`}},
		{[]string{`{"type":"compute","id":1,"ref":1,"fn":"above","inputs":["close","open"]}`,
			`{"type":"signals","id":1,"n":10,"columns":["enter_long"],"bytes":10,"computed":{"enter_long":1}}`}},
		{[]string{`{"type":"compute","id":1,"ref":1,"fn":"above","inputs":["close","open"]}`,
			`{"type":"signals","id":1,"n":10,"columns":[],"bytes":0,"computed":{"buy":1}}`}},
	} {
		var out bytes.Buffer
		comp := newComputer(1, walkFrame(n), DefaultComputeBytes, &out, nil, 0)
		dst := newDst(n)
		_, err := readAnswer(conversation(c.lines...), 1, n, &dst, nil, comp)
		var pe *protocolError
		if !errors.As(err, &pe) {
			t.Errorf("%v: %v, want a protocol violation", c.lines, err)
		}
	}
	// Without the extension, a compute message is a violation too.
	dst := newDst(n)
	_, err := readAnswer(conversation(`{"type":"compute","id":1,"ref":1,"fn":"sma","inputs":["close"],"args":[2]}`), 1, n, &dst, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "did not offer") {
		t.Fatalf("compute without the extension: %v", err)
	}
}

// BenchmarkComputeSMACross1M is TradAI's side of a strategy that asks for
// sma_cross's signals through the compute extension over 1,000,000
// candles: two SMAs, their crossings both ways, named as signal columns.
func BenchmarkComputeSMACross1M(b *testing.B) {
	const n = 1_000_000
	f := walkFrame(n)
	lines := strings.Join([]string{
		`{"type":"compute","id":1,"ref":1,"fn":"sma","inputs":["close"],"args":[10]}`,
		`{"type":"compute","id":1,"ref":2,"fn":"sma","inputs":["close"],"args":[30]}`,
		`{"type":"compute","id":1,"ref":3,"fn":"crossed_above","inputs":[1,2]}`,
		`{"type":"compute","id":1,"ref":4,"fn":"crossed_below","inputs":[1,2]}`,
		`{"type":"signals","id":1,"n":1000000,"columns":[],"bytes":0,"computed":{"enter_long":3,"exit_long":4}}`,
	}, "\n") + "\n"
	dst := newDst(n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		comp := newComputer(1, f, DefaultComputeBytes, io.Discard, nil, 0)
		if _, err := readAnswer(bufio.NewReader(strings.NewReader(lines)), 1, n, &dst, nil, comp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// With the fetch transport a strategy fetches the candle columns it
// reads: their values, time as int64.
func TestFetchColumns(t *testing.T) {
	const n = 30
	f := walkFrame(n)
	var out bytes.Buffer
	comp := newComputer(3, f, DefaultComputeBytes, &out, nil, 0)
	dst := newDst(n)
	br := conversation(
		`{"type":"fetch","id":3,"column":"close"}`,
		`{"type":"fetch","id":3,"column":"time"}`,
		`{"type":"fetch","id":3,"column":"spread"}`,
		`{"type":"signals","id":3,"n":30,"columns":[],"bytes":0}`,
	)
	if _, err := readAnswer(br, 3, n, &dst, nil, comp); err != nil {
		t.Fatal(err)
	}
	ms, ps := computedAnswers(t, out.Bytes())
	if len(ms) != 3 || ms[0].Column != "close" || ms[0].Kind != serve.KindFloat64 || !bytes.Equal(ps[0], serve.Float64Bytes(f.Close)) ||
		ms[1].Column != "time" || ms[1].Kind != serve.KindInt64 || !bytes.Equal(ps[1], serve.Int64Bytes(f.Time)) ||
		!strings.Contains(ms[2].Error, `"spread" is not a candle column`) {
		t.Fatalf("answers %+v", ms)
	}
	comp = newComputer(3, f, DefaultComputeBytes, &out, nil, 0)
	_, err := readAnswer(conversation(`{"type":"fetch","id":3,"ref":1,"column":"close"}`), 3, n, &dst, nil, comp)
	var pe *protocolError
	if !errors.As(err, &pe) {
		t.Fatalf("a fetch of a ref and a column: %v", err)
	}
}
