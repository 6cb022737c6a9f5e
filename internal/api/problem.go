package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/tenancy"
)

// problem builds a Problem; detail says what failed in this request.
func problem(status int, code, detail string, errs ...*apitype.ErrorDetail) *apitype.Problem {
	return &apitype.Problem{
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
		return apitype.CodeBadRequest
	case http.StatusUnauthorized:
		return apitype.CodeUnauthenticated
	case http.StatusForbidden:
		return apitype.CodeForbidden
	case http.StatusNotFound:
		return apitype.CodeNotFound
	case http.StatusMethodNotAllowed:
		return apitype.CodeMethodNotAllowed
	case http.StatusNotAcceptable:
		return apitype.CodeNotAcceptable
	case http.StatusConflict:
		return apitype.CodeConflict
	case http.StatusRequestEntityTooLarge:
		return apitype.CodeBodyTooLarge
	case http.StatusUnsupportedMediaType:
		return apitype.CodeUnsupportedMedia
	case http.StatusUnprocessableEntity:
		return apitype.CodeInvalidRequest
	case http.StatusTooManyRequests:
		return apitype.CodeRateLimited
	case http.StatusServiceUnavailable:
		return apitype.CodeNotReady
	}
	if status >= 500 {
		return apitype.CodeInternal
	}
	return apitype.CodeBadRequest
}

// secretBody marks (in huma.Operation.Metadata) an operation whose
// request body holds credentials: its validation errors never quote it.
const secretBody = "tradai-secret-body"

// toProblem is a huma transformer: the errors huma produces itself
// (ErrorModel) leave as Problems with a code, like ours.
func toProblem(ctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		if p, ok := v.(*apitype.Problem); ok && p.Instance == "" {
			p.Instance = ctx.URL().Path
		}
		return v, nil
	}
	p := problem(em.Status, codeFor(em.Status), em.Detail, wireDetails(em.Errors)...)
	p.Instance = ctx.URL().Path
	if op := ctx.Operation(); op != nil && op.Metadata[secretBody] == true {
		// The body holds credentials: huma's errors quote what was sent.
		for _, e := range p.Errors {
			if e != nil {
				e.Value = nil
			}
		}
	}
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

// wireDetails are huma's error details as a Problem holds them.
func wireDetails(ds []*huma.ErrorDetail) []*apitype.ErrorDetail {
	out := make([]*apitype.ErrorDetail, len(ds))
	for i, d := range ds {
		if d != nil {
			out[i] = &apitype.ErrorDetail{Message: d.Message, Location: d.Location, Value: d.Value}
		}
	}
	return out
}

// writeProblem answers a plain net/http request (outside huma) with p.
func writeProblem(w http.ResponseWriter, r *http.Request, p *apitype.Problem) {
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
