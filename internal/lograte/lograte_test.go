package lograte_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/lograte"
)

func TestRepeatedErrorsAreWrittenOncePerInterval(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	var buf bytes.Buffer
	log := slog.New(lograte.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), time.Minute, clk))
	diskFull := errors.New("database or disk is full")
	for i := range 1000 {
		log.Error("request failed", "path", "/api/v1/backtests", "err", diskFull, "elapsed", time.Duration(i)*time.Millisecond)
		log.Info("request", "n", i) // below warnings: all written
		clk.Advance(10 * time.Millisecond)
	}
	log.Error("request failed", "path", "/api/v1/other", "err", diskFull) // another record
	log.With("run", "r1").Warn("slow")
	log.With("run", "r2").Warn("slow")
	log.With("run", "r1").Warn("slow") // held back
	clk.Advance(time.Minute)
	log.Error("request failed", "path", "/api/v1/backtests", "err", diskFull, "elapsed", time.Second)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	count := func(sub ...string) int {
		n := 0
	line:
		for _, l := range lines {
			for _, s := range sub {
				if !strings.Contains(l, s) {
					continue line
				}
			}
			n++
		}
		return n
	}
	if n := count("request failed", "/api/v1/backtests"); n != 2 {
		t.Errorf("%d identical errors written over 70 s with a 1 min interval, want 2:\n%s", n, buf.String())
	}
	if n := count("request failed", "/api/v1/backtests", "repeated=999"); n != 1 {
		t.Errorf("the error after the interval does not say 999 were held back:\n%s", buf.String())
	}
	if n := count("level=INFO"); n != 1000 {
		t.Errorf("%d info records written, want all 1000", n)
	}
	if n := count("/api/v1/other"); n != 1 {
		t.Errorf("a different error was held back")
	}
	if n := count("slow"); n != 2 {
		t.Errorf("%d slow warnings written, want one per run (2)", n)
	}
}
