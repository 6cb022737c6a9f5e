package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
)

// Bounds on a submission's tags.
const (
	maxTags        = 50
	maxTagKeyLen   = 100
	maxTagValueLen = 500
)

// invalid is the 422 for the input at loc (e.g. body.tags).
func invalid(loc, msg string, value any) *apitype.Problem {
	return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, loc+": "+msg,
		&apitype.ErrorDetail{Location: loc, Message: msg, Value: value})
}

// checkText is the 422 for text at loc that is not valid UTF-8 or holds a
// control character (runs.CheckText), or nil. The value is not echoed:
// it is what the client sent and cannot be shown as it is.
func checkText(loc, s string) *apitype.Problem {
	if err := runs.CheckText(s); err != nil {
		return invalid(loc, strings.TrimPrefix(err.Error(), runs.ErrInvalidText.Error()+": "), nil)
	}
	return nil
}

// checkParams is huma middleware: every path, query and header parameter
// of the operation is valid UTF-8 without control characters (a 422 naming
// the parameter otherwise), so no handler and no database sees a NUL byte
// or invalid UTF-8 from them.
func (s *Server) checkParams(ctx huma.Context, next func(huma.Context)) {
	u := ctx.URL()
	query := u.Query()
	for _, p := range ctx.Operation().Parameters {
		var values []string
		switch p.In {
		case "path":
			values = []string{ctx.Param(p.Name)}
		case "query":
			values = query[p.Name]
		case "header":
			values = []string{ctx.Header(p.Name)}
		}
		for _, v := range values {
			if pr := checkText(p.In+"."+p.Name, v); pr != nil {
				d := pr.Errors[0]
				_ = huma.WriteErr(s.api, ctx, pr.Status, pr.Detail, &huma.ErrorDetail{Location: d.Location, Message: d.Message, Value: d.Value})
				return
			}
		}
	}
	next(ctx)
}

// readBody is huma middleware for operations with a request body: it reads
// the body (up to the operation's limit, and one byte more so that huma
// still answers 413 beyond it) before the handler does, so that a body
// that cannot be read — malformed chunked encoding, a client hanging up
// mid-body — is a 400, not the 500 huma answers for a read error. It runs
// after authentication: only a tenant's requests are buffered.
func (s *Server) readBody(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op.RequestBody == nil || ctx.BodyReader() == nil {
		next(ctx)
		return
	}
	limit := op.MaxBodyBytes
	if limit <= 0 {
		limit = s.o.MaxBody
	}
	// The deadline is the connection's, so it is wall-clock time. It must
	// not outlive the read: net/http cancels the request's context when a
	// read deadline passes while the handler runs.
	if op.BodyReadTimeout > 0 {
		_ = ctx.SetReadDeadline(time.Now().Add(op.BodyReadTimeout))
	}
	body, err := io.ReadAll(io.LimitReader(ctx.BodyReader(), limit+1))
	_ = ctx.SetReadDeadline(time.Time{})
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		_ = huma.WriteErr(s.api, ctx, http.StatusRequestTimeout, "the request body was not sent in time")
		return
	}
	if err != nil {
		_ = huma.WriteErr(s.api, ctx, http.StatusBadRequest, "the request body could not be read (malformed chunked encoding, or the connection closed before its end): "+err.Error())
		return
	}
	next(bodyContext{humaContext: ctx, body: body})
}

// bodyContext is a huma context whose body was read already.
type bodyContext struct {
	humaContext
	body []byte
}

// humaContext is huma.Context under a name that can be embedded (as
// "Context" the field would clash with the interface's method).
type humaContext huma.Context

func (c bodyContext) BodyReader() io.Reader { return bytes.NewReader(c.body) }

// SetReadDeadline does nothing: the body is in memory, and a deadline set
// now (huma sets one before it decodes the body) would cancel the
// request's context mid-handler when it passed.
func (c bodyContext) SetReadDeadline(time.Time) error { return nil }
func (c bodyContext) Unwrap() huma.Context            { return c.humaContext }

// checkExchange says why a submission's exchange name cannot be run, or
// nil: it must pass the data store's name check (market.ValidateExchange,
// the one check of every name that becomes a path), and the exchange must
// have a folder in the data store or be one TradAI downloads from (the
// worker fetches missing candles from it). An empty name reads series
// straight from the data folder.
func (s *Server) checkExchange(name string) error {
	if name == "" {
		return nil
	}
	if err := market.ValidateExchange(name); err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Join(s.d.DataDir, name)); err == nil && st.IsDir() {
		return nil
	}
	if downloadable := (*download.Binance)(nil).Exchange(); strings.EqualFold(name, downloadable) {
		return nil
	}
	return fmt.Errorf("unknown exchange %q: the data store has no candles of it and TradAI downloads from %s only", name, (*download.Binance)(nil).Exchange())
}
