package datafile

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors wrapped by [*RowError] (test with errors.Is).
var (
	// ErrEmpty means the file holds no candles.
	ErrEmpty = errors.New("no candles")
	// ErrMissingColumn means a required column is absent.
	ErrMissingColumn = errors.New("missing column")
	// ErrCorrupt means the file could not be decoded: it is truncated,
	// malformed, or not in the format its name says.
	ErrCorrupt = errors.New("corrupt or truncated file")
	// ErrTooLarge means the file decompresses to more than its
	// [InflateLimit] allows.
	ErrTooLarge = errors.New("decompresses beyond the limit")
)

// RowError describes a problem with a data file, usually with one row of it.
type RowError struct {
	// File names the data source (usually its path).
	File string
	// Row is the 1-based data row (not counting a CSV header), or 0 when the
	// problem concerns the file as a whole.
	Row int
	// Column names the column concerned, or is empty.
	Column string
	// Msg describes the problem.
	Msg string
	// Err is an underlying cause, such as [ErrCorrupt], or nil.
	Err error
}

// Error formats the error as "FILE: row ROW: MSG".
func (e *RowError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Row > 0 {
		b.WriteString("row ")
		b.WriteString(strconv.Itoa(e.Row))
		b.WriteString(": ")
	}
	switch {
	case e.Msg != "":
		b.WriteString(e.Msg)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("invalid data")
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *RowError) Unwrap() error { return e.Err }

func corruptf(file string, row int, column, msg string) *RowError {
	return &RowError{File: file, Row: row, Column: column, Msg: msg, Err: ErrCorrupt}
}
