package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
)

// rising enters on every candle whose close rose, for any length.
type rising struct{}

func (rising) Spec() sdk.Spec {
	return sdk.Spec{Name: "rising", Timeframe: "1m", Risk: sdk.Risk{Stoploss: -0.1}}
}

func (rising) Columns() []string { return []string{"close"} }

func (rising) Populate(f *sdk.Frame, _ sdk.Values) error {
	f.EnsureSignals()
	for i := 1; i < f.Len(); i++ {
		f.EnterLong[i] = f.Close[i] > f.Close[i-1]
	}
	return nil
}

// FuzzServe feeds arbitrary requests after a version 2 hello (kept frames,
// cached requests, forget lists, payloads of any length) to the strategy
// side: Serve must return — with an error or not — and never panic, and
// every signals answer it writes must be well formed.
func FuzzServe(f *testing.F) {
	seed := func(parts ...string) string { return `{"type":"hello","protocol":2}` + "\n" + strings.Join(parts, "") }
	kept := func(id int64, frame int64, n int, extra string) string {
		return fmt.Sprintf(`{"type":"populate","id":%d,"n":%d,"params":{},"columns":["close"],"bytes":0,"frame":%d,"cached":true%s}`+"\n", id, n, frame, extra)
	}
	withFrame := func(id int64, closes []float64, frame int64, forget string) string {
		r := request(id, closes, `{}`)
		return strings.Replace(r, `"bytes":`, fmt.Sprintf(`"frame":%d,"forget":%s,"bytes":`, frame, forget), 1)
	}
	f.Add(seed(withFrame(1, []float64{1, 2, 1}, 1, `[]`), kept(2, 1, 3, "")))
	f.Add(seed(withFrame(1, []float64{1, 2}, 1, `[1]`), kept(2, 1, 2, ""), kept(3, 1, 3, "")))
	f.Add(seed(withFrame(1, []float64{1}, 1, `[]`), withFrame(2, []float64{2, 3}, 2, `[1]`), kept(3, 1, 1, "")))
	f.Add(seed(kept(1, 5, 0, ""), kept(2, 0, 0, `,"bytes":8`)))
	f.Add(seed(kept(1, 1, 2, `,"shm":{"offset":0,"bytes":16}`)))
	f.Add(`{"type":"hello","protocol":1}` + "\n" + withFrame(1, []float64{1, 2}, 1, `[]`))
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		_ = Serve(context.Background(), strings.NewReader(in), &out, rising{})
		br := bufio.NewReader(&out)
		if _, err := ReadHeader(br); err != nil { // the spec
			return
		}
		for {
			line, err := ReadHeader(br)
			if err != nil {
				return
			}
			var m SignalsMessage
			if DecodeHeader(line, &m, TypeSignals) != nil {
				continue // an error message
			}
			if m.N < 0 || m.Bytes != int64(len(m.Columns))*int64(m.N) {
				t.Fatalf("answer %s", line)
			}
			payload := make([]byte, m.Bytes)
			if _, err := io.ReadFull(br, payload); err != nil {
				t.Fatalf("answer %s without its payload: %v", line, err)
			}
		}
	})
}
