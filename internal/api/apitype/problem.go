package apitype

// Problem is every error answer: an RFC 9457 problem details document with
// a stable machine-readable code. Clients branch on Code, never on Title or
// Detail, which are for people and may be reworded.
type Problem struct {
	Type     string         `json:"type" doc:"URI naming the problem type: https://tradai.dev/problems/<code>"`
	Title    string         `json:"title" doc:"Short summary of the problem type"`
	Status   int            `json:"status" doc:"HTTP status code"`
	Code     string         `json:"code" doc:"Stable error code, e.g. not_found, invalid_request, rate_limited"`
	Detail   string         `json:"detail,omitempty" doc:"What went wrong in this request"`
	Instance string         `json:"instance,omitempty" doc:"The request path"`
	Errors   []*ErrorDetail `json:"errors,omitempty" doc:"Each invalid input, with where it is (e.g. body.config.stake_amount)"`
}

// ErrorDetail is one invalid input of a [Problem]. It has the fields and
// the schema of huma's ErrorDetail, which the server's own validation
// errors are.
type ErrorDetail struct {
	Message  string `json:"message,omitempty" doc:"Error message text"`
	Location string `json:"location,omitempty" doc:"Where the error occurred, e.g. 'body.items[3].tags' or 'path.thing-id'"`
	Value    any    `json:"value,omitempty" doc:"The value at the given location"`
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
	// CodeOverloaded is the code of the 503 the API answers when it already
	// serves as many requests as it may (api.Options.MaxInFlight): nothing
	// of the request was done, so any request, whatever its method, may be
	// sent again after Retry-After.
	CodeOverloaded = "overloaded"
)

// Error, GetStatus and ContentType make a Problem an error that the
// server answers with its status as application/problem+json.
func (p *Problem) Error() string             { return p.Title + ": " + p.Detail }
func (p *Problem) GetStatus() int            { return p.Status }
func (p *Problem) ContentType(string) string { return "application/problem+json" }
