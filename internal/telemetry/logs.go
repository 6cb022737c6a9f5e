package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Logger is the process's logger: lines to w in format "text" (slog's
// key=value lines) or "json" (one JSON object a line), from level on
// ("debug", "info", "warn", "error").
func Logger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
