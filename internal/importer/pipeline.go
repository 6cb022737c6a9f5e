package importer

import (
	"bytes"
	"io"
	"runtime"
	"sync"
)

// Large inputs are parsed in parallel: a producer cuts the input into
// chunks of whole lines, workers turn each chunk's lines into records
// (parsing numbers and times, the costly part), and the caller consumes the
// chunks in file order, doing the checks that depend on the previous row
// and appending to the frame. Errors are therefore reported for the first
// bad row in file order, as by a sequential reader.

// pipeChunk is the size of the chunks handed to the workers.
const pipeChunk = 1 << 20

// Record kinds.
const (
	recCandle uint8 = iota
	recBlank        // an empty line
	recNull         // a row of "null" values (Yahoo)
)

// rec is one parsed line.
type rec struct {
	t          int64 // open time, ms
	o, h, l, c float64
	v          float64
	ct         int64 // Binance: close time in the file's unit
	scale      int64 // Binance: 1 for ms, 1000 for µs
	row        int   // 1-based data row
	kind       uint8
}

// chunk is a run of whole lines and, once parsed, their records.
type chunk struct {
	buf   []byte // owned buffer (nil when data is borrowed)
	spare []rec  // a recycled record slice for parse to reuse
	data  []byte // whole lines
	row0  int    // data row of the first line, minus one
	lines int    // number of lines in data
	recs  []rec
	err   error // the first parse error, after the rows in recs
	done  chan struct{}
}

// lineParser parses the lines of c.data into c.recs, stopping at the first
// bad line with c.err set.
type lineParser func(c *chunk)

// forEachLine calls fn with each line of data (without "\n" or "\r\n") and
// its row number, until fn returns false.
func forEachLine(data []byte, row0 int, fn func(line []byte, row int) bool) {
	row := row0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		row++
		if !fn(line, row) {
			return
		}
	}
}

// run parses the rest of lr's input (data rows numbered from row0+1) with
// parse and hands the chunks to consume in order. It returns the first
// error of consume or parse in file order, or else a read error.
func run(lr *lineReader, row0 int, parse lineParser, consume func(*chunk) error) (err, readErr error) {
	workers := runtime.GOMAXPROCS(0)
	if lr.eof || workers < 2 {
		// Small input (all read) or a single CPU: no goroutines.
		for {
			if !lr.eof {
				lr.fill()
			}
			data := lr.data
			if !lr.eof {
				i := bytes.LastIndexByte(data, '\n')
				if i < 0 {
					continue // fill grows the buffer for a long line
				}
				data = data[:i+1]
			}
			if lr.err != nil {
				return nil, lr.err
			}
			lr.data = lr.data[len(data):]
			c := &chunk{data: data, row0: row0, lines: lineCount(data)}
			row0 += c.lines
			parse(c)
			if err := consume(c); err != nil {
				return err, nil
			}
			if c.err != nil {
				return c.err, nil
			}
			if lr.eof {
				return nil, nil
			}
		}
	}

	work := make(chan *chunk, workers)
	order := make(chan *chunk, 2*workers)
	stop := make(chan struct{})
	free := make(chan *chunk, 3*workers+2) // recycled buffers and records
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				parse(c)
				close(c.done)
			}
		})
	}
	wg.Go(func() {
		defer close(order)
		defer close(work)
		carry := lr.data
		eof, err := lr.eof, lr.err
		for {
			var buf []byte
			var spare []rec
			select {
			case old := <-free:
				buf, spare = old.buf, old.recs[:0]
			default:
				buf = make([]byte, max(pipeChunk, 2*len(carry)))
			}
			if len(buf) < 2*len(carry) {
				buf = make([]byte, 2*len(carry))
			}
			n := copy(buf, carry)
			for !eof && n < len(buf) {
				m, e := lr.r.Read(buf[n:])
				n += m
				if e == io.EOF {
					eof = true
				} else if e != nil {
					eof, err = true, e
				}
			}
			if err != nil {
				readErr = err
				return
			}
			data := buf[:n]
			carry = nil
			if !eof {
				i := bytes.LastIndexByte(data, '\n')
				if i < 0 { // a line longer than the buffer
					carry = data
					continue
				}
				carry = bytes.Clone(data[i+1:])
				data = data[:i+1]
			}
			if len(data) == 0 {
				return
			}
			c := &chunk{buf: buf, spare: spare, data: data, row0: row0, lines: lineCount(data), done: make(chan struct{})}
			row0 += c.lines
			select {
			case order <- c:
			case <-stop:
				return
			}
			select {
			case work <- c:
			case <-stop:
				close(c.done) // never parsed; the consumer is gone
				return
			}
			if eof {
				return
			}
		}
	})
	for c := range order {
		<-c.done
		if err == nil {
			err = consume(c)
			if err == nil {
				err = c.err
			}
			if err != nil {
				close(stop)
			}
		}
		if c.buf != nil {
			select {
			case free <- c:
			default:
			}
		}
	}
	wg.Wait()
	if err != nil {
		return err, nil
	}
	return nil, readErr
}

// records returns an empty record slice with room for the lines of c.
func (c *chunk) records() []rec {
	if cap(c.spare) >= c.lines {
		return c.spare[:0]
	}
	return make([]rec, 0, c.lines)
}

// lineCount returns the number of lines in data (a last line without "\n"
// counts).
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}
