package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/tenancy"
)

// Problem is every error answer: an RFC 9457 problem details document with
// a stable machine-readable code. Clients branch on Code, never on Title or
// Detail, which are for people and may be reworded.
type Problem struct {
	Type     string              `json:"type" doc:"URI naming the problem type: https://tradai.dev/problems/<code>"`
	Title    string              `json:"title" doc:"Short summary of the problem type"`
	Status   int                 `json:"status" doc:"HTTP status code"`
	Code     string              `json:"code" doc:"Stable error code, e.g. not_found, invalid_request, rate_limited"`
	Detail   string              `json:"detail,omitempty" doc:"What went wrong in this request"`
	Instance string              `json:"instance,omitempty" doc:"The request path"`
	Errors   []*huma.ErrorDetail `json:"errors,omitempty" doc:"Each invalid input, with where it is (e.g. body.config.stake_amount)"`
}

// Stable error codes.
const (
	CodeBadRequest        = "bad_request"
	CodeInvalidRequest    = "invalid_request"
	CodeUnauthenticated   = "unauthenticated"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeConflict          = "conflict"
	CodeIdempotency       = "idempotency_key_reused"
	CodeBodyTooLarge      = "body_too_large"
	CodeUnsupportedMedia  = "unsupported_media_type"
	CodeNotAcceptable     = "not_acceptable"
	CodeRateLimited       = "rate_limited"
	CodeInternal          = "internal"
	CodeNotReady          = "not_ready"
	CodeStrategyForbidden = "strategy_not_allowed"
)

func (p *Problem) Error() string             { return p.Title + ": " + p.Detail }
func (p *Problem) GetStatus() int            { return p.Status }
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// problem builds a Problem; detail says what failed in this request.
func problem(status int, code, detail string, errs ...*huma.ErrorDetail) *Problem {
	return &Problem{
		Type:   "https://tradai.dev/problems/" + strings.ReplaceAll(code, "_", "-"),
		Title:  http.StatusText(status),
		Status: status,
		Code:   code,
		Detail: detail,
		Errors: errs,
	}
}

// codeFor is the code of an error huma raised itself (validation, body
// size, content negotiation …).
func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusNotAcceptable:
		return CodeNotAcceptable
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeBodyTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMedia
	case http.StatusUnprocessableEntity:
		return CodeInvalidRequest
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable:
		return CodeNotReady
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeBadRequest
}

// toProblem is a huma transformer: the errors huma produces itself
// (ErrorModel) leave as Problems with a code, like ours.
func toProblem(ctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		if p, ok := v.(*Problem); ok && p.Instance == "" {
			p.Instance = ctx.URL().Path
		}
		return v, nil
	}
	p := problem(em.Status, codeFor(em.Status), em.Detail, em.Errors...)
	p.Instance = ctx.URL().Path
	if len(em.Errors) > 0 && (em.Detail == "" || em.Detail == "validation failed") {
		// huma's detail is the generic "validation failed": name the
		// first problem in it so a one-line client message says what.
		e := em.Errors[0]
		p.Detail = strings.TrimSpace(e.Location + ": " + e.Message)
		if len(em.Errors) > 1 {
			p.Detail += " (and more in errors)"
		}
	}
	return p, nil
}

// writeProblem answers a plain net/http request (outside huma) with p.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = jsonEncode(w, p)
}

type ctxKey int

const principalKey ctxKey = iota

// principalFrom is who the authenticated request acts as.
func principalFrom(ctx context.Context) (tenancy.Principal, bool) {
	p, ok := ctx.Value(principalKey).(tenancy.Principal)
	return p, ok
}
