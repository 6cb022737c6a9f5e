package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tradai/tradai/sdk"
)

// swapper answers with its signal columns swapped, so that they view the
// shared room at the wrong places: the answer must go on the pipe.
type swapper struct{ upDown }

func (swapper) Populate(f *sdk.Frame, p sdk.Values) error {
	if err := (upDown{}).Populate(f, p); err != nil {
		return err
	}
	f.EnterLong, f.ExitShort = f.ExitShort, f.EnterLong
	return nil
}

func TestServeShm(t *testing.T) {
	fd, err := unix.MemfdCreate("serve-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Skip(err)
	}
	file := os.NewFile(uintptr(fd), "shm")
	defer file.Close()
	closes := []float64{1, 2, 1, 3}
	if err := file.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt(Float64Bytes(closes), 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s      sdk.Strategy
		viaShm bool
	}{{upDown{}, true}, {swapper{}, false}} {
		// Serve closes the descriptor it is given: hand it a duplicate.
		dup, err := unix.Dup(fd)
		if err != nil {
			t.Fatal(err)
		}
		in := fmt.Sprintf(`{"type":"hello","protocol":1,"shm_fd":%d}`, dup) + "\n" +
			`{"type":"populate","id":1,"pair":"A/B","timeframe":"1m","n":4,"params":{},"columns":["close"],"bytes":0,"shm":{"offset":0,"bytes":32}}` + "\n"
		var out bytes.Buffer
		if err := Serve(context.Background(), strings.NewReader(in), &out, c.s); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(&out)
		line, _ := ReadHeader(br)
		var spec SpecMessage
		if err := DecodeHeader(line, &spec, TypeSpec); err != nil || strings.Join(spec.Transports, ",") != "shm" {
			t.Fatalf("spec %s: %v", line, err)
		}
		line, _ = ReadHeader(br)
		var sig SignalsMessage
		if err := DecodeHeader(line, &sig, TypeSignals); err != nil || sig.N != 4 || len(sig.Columns) != 1 {
			t.Fatalf("signals %s: %v", line, err)
		}
		payload := make([]byte, 4)
		if c.viaShm {
			if sig.Shm == nil || sig.Bytes != 0 || *sig.Shm != (ShmRegion{Offset: 64, Bytes: 4}) || sig.Columns[0] != ColEnterLong {
				t.Fatalf("signals %s, want enter_long in shared memory at 64", line)
			}
			file.ReadAt(payload, 64)
		} else {
			if sig.Shm != nil || sig.Bytes != 4 || sig.Columns[0] != ColExitShort {
				t.Fatalf("signals %s, want exit_short on the pipe", line)
			}
			br.Read(payload)
		}
		if !bytes.Equal(payload, []byte{0, 1, 0, 1}) {
			t.Fatalf("%T: signals %v", c.s, payload)
		}
	}
}
