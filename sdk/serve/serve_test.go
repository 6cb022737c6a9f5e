package serve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
)

type upDown struct{}

func (upDown) Spec() sdk.Spec {
	return sdk.Spec{Name: "up_down", Timeframe: "1m",
		Params: []sdk.Param{{Name: "k", Kind: sdk.Int, Default: 1, Min: 1, Max: 9}},
		Risk:   sdk.Risk{Stoploss: -0.1}}
}

func (upDown) Columns() []string { return []string{"close"} }

func (upDown) Populate(f *sdk.Frame, p sdk.Values) error {
	if p.Int("k") == 9 {
		return fmt.Errorf("k=9 refused")
	}
	if f.Open[0] == f.Open[0] || f.Time[0] != 0 {
		return fmt.Errorf("unsent columns must be NaN and zero")
	}
	f.EnsureSignals()
	for i := 1; i < f.Len(); i++ {
		if f.Close[i] > f.Close[i-1] {
			f.EnterLong[i] = true
			f.SetEnterTag(i, "up")
		}
	}
	return nil
}

func request(id int64, closes []float64, params string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"type":"populate","id":%d,"pair":"A/B","timeframe":"1m","n":%d,"params":%s,"columns":["close"],"bytes":%d}`+"\n", id, len(closes), params, 8*len(closes))
	b.Write(Float64Bytes(closes))
	return b.String()
}

func TestServe(t *testing.T) {
	in := `{"type":"hello","protocol":1}` + "\n" +
		request(1, []float64{1, 2, 1, 3}, `{"k":2}`) +
		request(2, []float64{1, 2}, `{"k":9}`) +
		request(3, []float64{3, 2, 1}, `null`)
	var out bytes.Buffer
	if err := Serve(context.Background(), strings.NewReader(in), &out, upDown{}); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(&out)
	line, _ := ReadHeader(br)
	var spec SpecMessage
	if err := DecodeHeader(line, &spec, TypeSpec); err != nil || spec.Spec.Name != "up_down" || strings.Join(spec.Columns, ",") != "close" {
		t.Fatalf("spec %s: %v", line, err)
	}
	line, _ = ReadHeader(br)
	var sig SignalsMessage
	// Only enter_long fires: the other, all-false columns are left out.
	if err := DecodeHeader(line, &sig, TypeSignals); err != nil || sig.ID != 1 || sig.N != 4 || sig.Bytes != 4 ||
		strings.Join(sig.Columns, ",") != "enter_long" || sig.EnterTags["1"] != "up" || sig.EnterTags["3"] != "up" || len(sig.EnterTags) != 2 {
		t.Fatalf("signals %s: %v", line, err)
	}
	payload := make([]byte, 4)
	io.ReadFull(br, payload)
	if !bytes.Equal(payload, []byte{0, 1, 0, 1}) {
		t.Fatalf("payload %v", payload)
	}
	line, _ = ReadHeader(br)
	var e ErrorMessage
	if err := DecodeHeader(line, &e, TypeError); err != nil || e.ID != 2 || e.Message != "k=9 refused" {
		t.Fatalf("error %s: %v", line, err)
	}
	line, _ = ReadHeader(br)
	var sig3 SignalsMessage
	if err := DecodeHeader(line, &sig3, TypeSignals); err != nil || sig3.ID != 3 || sig3.EnterTags != nil || len(sig3.Columns) != 0 || sig3.Bytes != 0 {
		t.Fatalf("signals %s: %v", line, err)
	}
}

func TestServeProtocolErrors(t *testing.T) {
	hello := `{"type":"hello","protocol":1}` + "\n"
	for name, in := range map[string]string{
		"garbage":   "nonsense\n",
		"old":       `{"type":"hello","protocol":0}` + "\n",
		"type":      hello + `{"type":"hello","protocol":1}` + "\n",
		"bytes":     hello + `{"type":"populate","id":1,"n":2,"columns":["close"],"bytes":8}` + "\n",
		"column":    hello + `{"type":"populate","id":1,"n":0,"columns":["price"],"bytes":0}` + "\n",
		"truncated": hello + request(1, []float64{1, 2}, "{}")[:90],
		"long":      strings.Repeat("x", MaxHeaderBytes+10),
	} {
		if err := Serve(context.Background(), strings.NewReader(in), io.Discard, upDown{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := Serve(context.Background(), strings.NewReader(""), io.Discard, upDown{}); err != nil {
		t.Errorf("empty input: %v", err)
	}
	_, err := ReadHeader(bufio.NewReader(strings.NewReader(strings.Repeat("x", MaxHeaderBytes+1) + "\n")))
	if !errors.Is(err, ErrHeaderTooLong) {
		t.Errorf("long header: %v", err)
	}
	line, err := ReadHeader(bufio.NewReader(strings.NewReader(strings.Repeat("x", MaxHeaderBytes) + "\n")))
	if err != nil || len(line) != MaxHeaderBytes {
		t.Errorf("header of exactly 1 MiB: %d, %v", len(line), err)
	}
}

func TestCheckSignalBytes(t *testing.T) {
	b := make([]byte, 21)
	if CheckSignalBytes(b) != -1 {
		t.Fatal("zeros refused")
	}
	for _, i := range []int{0, 7, 8, 20} {
		b[i] = 2
		if got := CheckSignalBytes(b); got != i {
			t.Fatalf("byte at %d found at %d", i, got)
		}
		b[i] = 1
	}
}
