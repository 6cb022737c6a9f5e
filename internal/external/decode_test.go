package external

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk/serve"
)

func answerBytes(id int64, n int, tags map[string]string, payload []byte) []byte {
	var b bytes.Buffer
	_ = serve.WriteHeader(&b, serve.SignalsMessage{Type: serve.TypeSignals, ID: id, N: n, Columns: []string{"exit_short", "enter_long", "exit_long", "enter_short"}, EnterTags: tags, Bytes: int64(len(payload))})
	b.Write(payload)
	return b.Bytes()
}

func newDst(n int) (d [4][]byte) {
	for k := range d {
		d[k] = make([]byte, n)
	}
	return d
}

func TestReadAnswer(t *testing.T) {
	payload := []byte{0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0} // n = 3, columns in the order above
	dst := newDst(3)
	a, err := readAnswer(bufio.NewReader(bytes.NewReader(answerBytes(4, 3, map[string]string{"1": "x"}, payload))), 4, 3, &dst, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dst; !bytes.Equal(got[0], []byte{1, 0, 0}) || !bytes.Equal(got[1], []byte{0, 1, 1}) ||
		!bytes.Equal(got[2], []byte{0, 1, 0}) || !bytes.Equal(got[3], []byte{0, 0, 1}) || a.tags[1] != "x" {
		t.Fatalf("columns %v tags %v", got, a.tags)
	}
	a, err = readAnswer(bufio.NewReader(strings.NewReader(`{"type":"error","id":4,"message":"no"}`+"\n")), 4, 3, &dst, nil, nil)
	if err != nil || a.rejected == nil || a.rejected.Message != "no" {
		t.Fatal(a, err)
	}
	_, err = readAnswer(bufio.NewReader(bytes.NewReader(answerBytes(4, 3, nil, payload[:11]))), 4, 3, &dst, nil, nil)
	var pe *protocolError
	if !errors.As(err, &pe) {
		t.Fatalf("payload of 11 bytes: %v", err)
	}
	_, err = readAnswer(bufio.NewReader(bytes.NewReader(answerBytes(4, 3, nil, payload)[:40])), 4, 3, &dst, nil, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut header: %v", err)
	}
}

// FuzzReadAnswer feeds arbitrary bytes as a strategy's output to the host's
// decoding, compute extension included: it must return (never panic,
// never block on finite input), and whatever it accepts must be valid.
func FuzzReadAnswer(f *testing.F) {
	f.Add(answerBytes(1, 3, map[string]string{"0": "a"}, []byte{0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0}), uint8(3))
	f.Add([]byte(`{"type":"error","id":1,"message":"x"}`+"\n"), uint8(3))
	f.Add([]byte(`{"type":"signals","id":1,"n":2,"columns":["enter_long","exit_long","enter_short","exit_short"],"enter_tags":{"7":"x"},"bytes":8}`+"\n\x00\x01\x00\x00\x00\x00\x02\x00"), uint8(2))
	f.Add([]byte("garbage\n"), uint8(0))
	f.Add([]byte(`{"type":"signals","id":1,"n":0,"columns":["enter_long","exit_long","enter_short","exit_short"],"bytes":0}`+"\n"), uint8(0))
	f.Add([]byte(`{"type":"signals","id":1,"n":3,"columns":["exit_long"],"bytes":0,"shm":{"offset":9,"bytes":3}}`+"\n"), uint8(3))
	f.Add([]byte(`{"type":"signals","id":1,"n":3,"columns":["exit_long"],"bytes":0,"shm":{"offset":9223372036854775807,"bytes":3}}`+"\n"), uint8(3))
	f.Add([]byte(`{"type":"compute","id":1,"ref":1,"fn":"sma","inputs":["close"],"args":[2]}`+"\n"+
		`{"type":"compute","id":1,"ref":2,"fn":"above","inputs":[1],"args":[100]}`+"\n"+
		`{"type":"fetch","id":1,"ref":2}`+"\n"+
		`{"type":"signals","id":1,"n":3,"columns":[],"bytes":0,"computed":{"enter_long":2}}`+"\n"), uint8(3))
	f.Add([]byte(`{"type":"compute","id":1,"ref":1,"fn":"crossed_above","inputs":["close","open"],"send":true}`+"\n"+
		`{"type":"compute","id":1,"ref":2,"fn":"not","inputs":[1]}`+"\n"+
		`{"type":"signals","id":1,"n":4,"columns":["exit_long"],"bytes":4,"computed":{"enter_long":2}}`+"\n\x00\x01\x00\x00"), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, n8 uint8) {
		n := int(n8)
		// The host reads from a pipe: feed the bytes through one.
		pr, pw := io.Pipe()
		go func() {
			pw.Write(data)
			pw.Close()
		}()
		defer pr.Close()
		dst := newDst(n)
		shm := make([]byte, 300) // a shared file of 0s, 1s and 2s
		for i := range shm {
			shm[i] = byte(i/7) % 3
		}
		// The compute extension answers on a writer nobody reads.
		comp := newComputer(1, walkFrame(n), DefaultComputeBytes, io.Discard, nil, 0)
		defer comp.wait()
		a, err := readAnswer(bufio.NewReaderSize(pr, 64), 1, n, &dst, bytes.NewReader(shm), comp)
		if err != nil || a.rejected != nil {
			return
		}
		for k, c := range dst {
			if len(c) != n || serve.CheckSignalBytes(c) >= 0 {
				t.Fatalf("accepted column %d: %v", k, c)
			}
		}
		for i := range a.tags {
			if i < 0 || i >= n {
				t.Fatalf("accepted tag index %d for %d candles", i, n)
			}
		}
	})
}

// A strategy may leave out signal columns without a single signal: they
// read as all false, whatever the destination held before.
func TestReadAnswerOmittedColumns(t *testing.T) {
	dst := newDst(3)
	for k := range dst {
		copy(dst[k], []byte{1, 1, 1}) // stale values from an earlier request
	}
	var b bytes.Buffer
	_ = serve.WriteHeader(&b, serve.SignalsMessage{Type: serve.TypeSignals, ID: 2, N: 3, Columns: []string{"exit_long"}, Bytes: 3})
	b.Write([]byte{0, 1, 0})
	if _, err := readAnswer(bufio.NewReader(&b), 2, 3, &dst, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst[0], []byte{0, 0, 0}) || !bytes.Equal(dst[1], []byte{0, 1, 0}) || !bytes.Equal(dst[2], []byte{0, 0, 0}) || !bytes.Equal(dst[3], []byte{0, 0, 0}) {
		t.Fatalf("columns %v", dst)
	}
	for _, cols := range [][]string{{"exit_long", "exit_long"}, {"enter_long", "buy"}} {
		b.Reset()
		_ = serve.WriteHeader(&b, serve.SignalsMessage{Type: serve.TypeSignals, ID: 2, N: 3, Columns: cols, Bytes: int64(3 * len(cols))})
		b.Write(make([]byte, 3*len(cols)))
		_, err := readAnswer(bufio.NewReader(&b), 2, 3, &dst, nil, nil)
		var pe *protocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "distinct names") {
			t.Errorf("columns %v: %v", cols, err)
		}
	}
}

// With the shm transport, the signal columns come from the shared file,
// whose region is checked against the file's size like a payload length.
func TestReadAnswerShm(t *testing.T) {
	shm := make([]byte, 64)
	copy(shm[40:], []byte{1, 0, 1, 0, 0, 1})
	hdr := func(region string, bytes int) string {
		return `{"type":"signals","id":2,"n":3,"columns":["exit_long","enter_long"],"bytes":` + strconv.Itoa(bytes) + `,"shm":` + region + "}\n"
	}
	dst := newDst(3)
	copy(dst[2], []byte{1, 1, 1})
	if _, err := readAnswer(bufio.NewReader(strings.NewReader(hdr(`{"offset":40,"bytes":6}`, 0))), 2, 3, &dst, bytes.NewReader(shm), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst[1], []byte{1, 0, 1}) || !bytes.Equal(dst[0], []byte{0, 0, 1}) || !bytes.Equal(dst[2], []byte{0, 0, 0}) {
		t.Fatalf("columns %v", dst)
	}
	for _, c := range []struct {
		head string
		shm  []byte
		want string
	}{
		{hdr(`{"offset":60,"bytes":6}`, 0), shm, "outside the 64-byte shared file"},
		{hdr(`{"offset":65,"bytes":6}`, 0), shm, "outside the 64-byte shared file"},
		{hdr(`{"offset":-1,"bytes":6}`, 0), shm, "outside the 64-byte shared file"},
		{hdr(`{"offset":9223372036854775807,"bytes":6}`, 0), shm, "outside the 64-byte shared file"},
		{hdr(`{"offset":0,"bytes":7}`, 0), shm, "7 bytes of shared memory instead of 2 × 3 = 6"},
		{hdr(`{"offset":0,"bytes":6}`, 6), shm, "both shared memory and a payload"},
		{hdr(`{"offset":0,"bytes":6}`, 0), nil, "without using the shm transport"},
		{hdr(`{"offset":58,"bytes":6}`, 0), append(make([]byte, 58), 0, 0, 0, 0, 2, 0), "signal byte 2 on candle 1 of enter_long"},
	} {
		var shm sharedFile // nil: no shm transport
		if c.shm != nil {
			shm = bytes.NewReader(c.shm)
		}
		_, err := readAnswer(bufio.NewReader(strings.NewReader(c.head)), 2, 3, &dst, shm, nil)
		var pe *protocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.head, err, c.want)
		}
	}
}
