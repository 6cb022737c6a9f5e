// Package lograte keeps a bad day from flooding the log: a slog.Handler
// that writes a warning or error once per interval when it repeats, and
// says with the next one written how many were held back. On a full disk
// every request failed the same way and the log got ~1,750 identical error
// lines a minute.
package lograte

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// maxTracked bounds the records remembered; beyond it records are written.
const maxTracked = 10_000

// Handler wraps another handler. Records below slog.LevelWarn pass
// through; a warning or error identical to one written less than the
// interval ago is held back. Identical means the same level, message and
// attributes (with those of WithAttrs and WithGroup), timings aside:
// attributes holding a time or a duration do not count. The next one
// written after the interval carries "repeated": how many were held back.
type Handler struct {
	inner  slog.Handler
	state  *state
	prefix string // attributes and groups added to this handler
}

type state struct {
	every time.Duration
	clock clock.Clock

	mu   sync.Mutex
	seen map[string]*entry
}

type entry struct {
	written time.Time
	held    int
}

// New returns a Handler writing to inner at most one of each repeated
// warning or error per interval; clk is the clock (nil: the system clock).
func New(inner slog.Handler, interval time.Duration, clk clock.Clock) *Handler {
	return &Handler{inner: inner, state: &state{every: interval, clock: clock.Or(clk), seen: map[string]*entry{}}}
}

// Enabled is the wrapped handler's.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// WithAttrs returns a Handler whose records carry attrs, sharing h's
// memory of what was written.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		writeAttr(&b, a)
	}
	return &Handler{inner: h.inner.WithAttrs(attrs), state: h.state, prefix: b.String()}
}

// WithGroup returns a Handler whose attributes are in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), state: h.state, prefix: h.prefix + "\x00group=" + name}
}

// Handle writes r, or holds it back when it repeats.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.inner.Handle(ctx, r)
	}
	var b strings.Builder
	b.WriteString(h.prefix)
	fmt.Fprintf(&b, "\x00%d\x00%s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, a)
		return true
	})
	key := b.String()
	s := h.state
	s.mu.Lock()
	now := s.clock.Now()
	e, ok := s.seen[key]
	if ok && now.Sub(e.written) < s.every {
		e.held++
		s.mu.Unlock()
		return nil
	}
	held := 0
	if ok {
		held = e.held
	}
	if len(s.seen) >= maxTracked {
		for k, e := range s.seen {
			if now.Sub(e.written) >= s.every {
				delete(s.seen, k)
			}
		}
	}
	if ok || len(s.seen) < maxTracked {
		s.seen[key] = &entry{written: now}
	}
	s.mu.Unlock()
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", held))
	}
	return h.inner.Handle(ctx, r)
}

// writeAttr adds a to a record's key, leaving out timings.
func writeAttr(b *strings.Builder, a slog.Attr) {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindTime, slog.KindDuration:
		return
	case slog.KindGroup:
		b.WriteString("\x00" + a.Key + "{")
		for _, g := range v.Group() {
			writeAttr(b, g)
		}
		b.WriteString("}")
		return
	}
	b.WriteString("\x00" + a.Key + "=" + v.String())
}
