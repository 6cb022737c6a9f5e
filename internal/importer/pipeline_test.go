package importer

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// Inputs of several megabytes go through the parallel pipeline; errors must
// still name the first bad row in file order, as with one CPU.
func TestLargeInputsParallelAndSerial(t *testing.T) {
	const n = 30_000 // about 4.5 MB: several chunks
	rows := genBinance(n, "1m", jan2024, false, 11)
	lines := strings.SplitAfter(string(rows), "\n")
	set := func(row int, line string) []byte {
		l := append([]string(nil), lines...)
		l[row-1] = line
		return []byte(strings.Join(l, ""))
	}
	badLate := set(25_001, strings.Replace(lines[25_000], ",", ",x", 2))
	badTwice := set(25_001, "1,2\n")
	badTwice = []byte(strings.Replace(string(badTwice), lines[9_999], lines[9_998], 1)) // row 10000 duplicates row 9999
	blanks := set(20_000, "\n"+lines[19_999])
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprint("procs", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			res, err := importBinance(makeZip(t, "a.csv", rows), "BTCUSDT-1m-2024-01.zip", Options{})
			if err != nil || res.Frame.Len() != n || res.Rows != n {
				t.Fatalf("%v", err)
			}
			want := res.Frame
			got, err := importBinance(rows, "BTCUSDT-1m-2024-01.csv", Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameFrame(t, got.Frame, want)
			_, err = importBinance(badLate, "BTCUSDT-1m-2024-01.csv", Options{})
			wantRowError(t, err, "BTCUSDT-1m-2024-01.csv", 25_001, "open", `row 25001: column 2 (open): "x`)
			_, err = importBinance(badTwice, "BTCUSDT-1m-2024-01.csv", Options{})
			wantRowError(t, err, "BTCUSDT-1m-2024-01.csv", 10_000, "open_time", "duplicate open_time")
			res, err = importBinance(blanks, "BTCUSDT-1m-2024-01.csv", Options{})
			if err != nil || res.Rows != n+1 || res.SkippedRows() != 1 || res.Skipped[0].First != "BTCUSDT-1m-2024-01.csv: row 20000" {
				t.Fatalf("%v %+v", err, res)
			}
			sameFrame(t, res.Frame, want)

			m := Mapping{Time: "1", Open: "2", High: "3", Low: "4", Close: "5", Volume: "6", NoHeader: true}
			cres, err := CSV(bytes.NewReader(rows), "k.csv", m, Options{Pair: "BTC/USDT", Timeframe: "1m"})
			if err != nil || cres.Rows != n {
				t.Fatal(err)
			}
			sameFrame(t, cres.Frame, want)
			_, err = CSV(bytes.NewReader(badLate), "k.csv", m, Options{Pair: "BTC/USDT", Timeframe: "1m"})
			wantRowError(t, err, "k.csv", 25_001, "open", `row 25001: column 2 (open): "x`)
			_, err = CSV(bytes.NewReader(badTwice), "k.csv", m, Options{Pair: "BTC/USDT", Timeframe: "1m"})
			wantRowError(t, err, "k.csv", 10_000, "time", "duplicate time")
			// With a header line, and a stream that cannot tell its size.
			hdr := append([]byte("t,o,h,l,c,v,ct,q,n,tb,tq,i\n"), rows...)
			cres, err = CSV(struct{ *bytes.Reader }{bytes.NewReader(hdr)}, "k.csv", Mapping{Time: "t", Open: "o", High: "h", Low: "l", Close: "c", Volume: "v"}, Options{Pair: "BTC/USDT", Timeframe: "1m"})
			if err != nil || cres.Rows != n {
				t.Fatal(err)
			}
			sameFrame(t, cres.Frame, want)
		})
	}
}

func TestLongLine(t *testing.T) {
	rows := genBinance(20_000, "1m", jan2024, false, 12)
	i := bytes.Index(rows, []byte(fmt.Sprint(jan2024+15_000*60_000)))
	data := append(bytes.Clone(rows[:i]), bytes.Repeat([]byte("x"), 3<<20)...)
	data = append(data, rows[i:]...)
	_, err := importBinance(data, "BTCUSDT-1m-2024-01.csv", Options{})
	wantRowError(t, err, "BTCUSDT-1m-2024-01.csv", 15_001, "open_time", `row 15001: column 1 (open_time): "xxxx`)
}
