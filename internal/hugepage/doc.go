// Package hugepage owns the advice that large, freshly allocated buffers
// be backed by transparent huge pages (Linux): a buffer the runtime has
// just taken from the system is not yet backed by memory, and filling it
// costs one page fault per 4 KB page — in a fresh process a large part of
// reading a candle file or computing an indicator over a million candles,
// and far more on virtual machines whose page faults are expensive. With
// the advice, it costs one per 2 MB.
package hugepage
