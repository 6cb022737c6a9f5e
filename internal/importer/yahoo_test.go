package importer

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testdata = "../../testdata/import"

func day(s string) int64 {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func TestYahooRealFiles(t *testing.T) {
	for _, c := range []struct {
		file        string
		rows        int
		first, last string
		firstOpen   float64
		lastClose   float64
		lastVolume  float64
	}{
		{"nvda-1999-2014.txt", 4012, "1999-01-22", "2014-12-31", 1.75, 20.049999, 4157500},
		{"orcl-1995-01.csv", 20, "1995-01-03", "1995-01-30", 2.179012, 2.061728, 44440000},
	} {
		t.Run(c.file, func(t *testing.T) {
			res, err := File(filepath.Join(testdata, c.file), "", Mapping{}, Options{Pair: "NVDA/USD"})
			if err != nil {
				t.Fatal(err)
			}
			f := res.Frame
			if res.Format != FormatYahoo || f.Timeframe != "1d" || f.Pair != "NVDA/USD" {
				t.Fatalf("format %s timeframe %s pair %s", res.Format, f.Timeframe, f.Pair)
			}
			if f.Len() != c.rows || res.Rows != c.rows || res.SkippedRows() != 0 {
				t.Fatalf("%d candles from %d rows (%d skipped), want %d", f.Len(), res.Rows, res.SkippedRows(), c.rows)
			}
			if f.Time[0] != day(c.first) || f.Time[f.Len()-1] != day(c.last) {
				t.Errorf("dates %s..%s, want %s..%s", fmtTime(f.Time[0]), fmtTime(f.Time[f.Len()-1]), c.first, c.last)
			}
			if f.Open[0] != c.firstOpen || f.Close[f.Len()-1] != c.lastClose || f.Volume[f.Len()-1] != c.lastVolume {
				t.Errorf("first open %v last close %v volume %v", f.Open[0], f.Close[f.Len()-1], f.Volume[f.Len()-1])
			}
		})
	}
}

func TestYahooAllSharedFiles(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/data/yahoo/*.txt")
	if len(files) == 0 {
		t.Skip("no shared Yahoo files")
	}
	for _, path := range files {
		res, err := File(path, FormatYahoo, Mapping{}, Options{})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if res.Frame.Len() < 4000 {
			t.Errorf("%s: %d candles", path, res.Frame.Len())
		}
	}
}

func TestYahooNullRows(t *testing.T) {
	res, err := File(filepath.Join(testdata, "yhoo-1996-04-nulls.csv"), "", Mapping{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 12 || res.Frame.Len() != 10 || res.SkippedRows() != 2 || len(res.Skipped) != 1 {
		t.Fatalf("rows %d candles %d skipped %+v", res.Rows, res.Frame.Len(), res.Skipped)
	}
	s := res.Skipped[0]
	if !strings.Contains(s.Reason, "null") || !strings.HasSuffix(s.First, "yhoo-1996-04-nulls.csv: row 7") {
		t.Errorf("skip %+v", s)
	}
	if f := res.Frame; f.Time[6] != day("1996-04-22") {
		t.Errorf("candle 6 at %s", fmtTime(f.Time[6]))
	}
}

func TestYahooAdjusted(t *testing.T) {
	path := filepath.Join(testdata, "orcl-1995-01.csv")
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	res, err := Yahoo(fh, path, Options{Adjusted: true})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Frame
	// 1995-01-03,2.179012,2.191358,2.117284,2.117284,1.883304,36301200
	k := 1.883304 / 2.117284
	for _, c := range []struct{ got, want float64 }{{f.Open[0], 2.179012 * k}, {f.High[0], 2.191358 * k}, {f.Low[0], 2.117284 * k}, {f.Close[0], 1.883304}, {f.Volume[0], 36301200}} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
}

func TestYahooWeekly(t *testing.T) {
	// Weekly exports are dated on Mondays.
	in := "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-01,10,12,9,11,11,100\n2024-01-08,11,13,10,12,12,100\n"
	res, err := Yahoo(strings.NewReader(in), "w.csv", Options{Timeframe: "1w"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Frame.Timeframe != "1w" || res.Frame.Len() != 2 {
		t.Fatalf("%s %d", res.Frame.Timeframe, res.Frame.Len())
	}
	// A Sunday is not the start of a week.
	in = "Date,Open,High,Low,Close,Adj Close,Volume\n2023-12-31,10,12,9,11,11,100\n"
	_, err = Yahoo(strings.NewReader(in), "w.csv", Options{Timeframe: "1w"})
	wantRowError(t, err, "w.csv", 1, "Date", "2023-12-31T00:00:00Z is not the start of a 1w candle")
}

func TestYahooErrors(t *testing.T) {
	const h = "Date,Open,High,Low,Close,Adj Close,Volume\n"
	for _, c := range []struct {
		name, in string
		row      int
		col      string
		parts    []string
	}{
		{"bad number", h + "2024-01-02,10,12,9,11,11,100\n2024-01-03,10,1x2,9,11,11,100\n", 2, "High", []string{`row 2: column 3 (High): "1x2" is not a number`}},
		{"bad date", h + "2024-01-02,10,12,9,11,11,100\n2024-13-03,10,12,9,11,11,100\n", 2, "Date", []string{`column 1 (Date): "2024-13-03" is not an ISO 8601 date`}},
		{"out of order", h + "2024-01-03,10,12,9,11,11,100\n2024-01-02,10,12,9,11,11,100\n", 2, "Date", []string{"is before the previous row's", "ascending"}},
		{"duplicate", h + "2024-01-02,10,12,9,11,11,100\n2024-01-02,10,12,9,11,11,100\n", 2, "Date", []string{"duplicate Date 2024-01-02"}},
		{"columns", h + "2024-01-02,10,12,9,11,11\n", 1, "", []string{"row 1: row has 6 fields but the header has 7"}},
		{"high below low", h + "2024-01-02,10,8,9,11,11,100\n", 1, "high", []string{"row 1: high 8 is below low 9"}},
		{"empty", "", 0, "", []string{"empty file"}},
		{"header only", h, 0, "", []string{"no candles"}},
		{"not yahoo", "time,o,h,l,c\n1,2,3,4,5\n", 0, "Date", []string{`no time column "Date" in the header: a Yahoo export starts with Date,Open`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Yahoo(strings.NewReader(c.in), "y.csv", Options{})
			wantRowError(t, err, "y.csv", c.row, c.col, c.parts...)
		})
	}
}
