package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/jobs/downloadjob"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

const downloadsPath = "/api/v1/data/downloads"

type submitDownloadInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeat a submission safely: the same key with the same request returns the first run"`
	Body           apitype.DownloadRequest
}

type downloadInput struct {
	ID string `path:"id" maxLength:"100" doc:"Run id"`
}

func (s *Server) registerDownloads() {
	tags := []string{"data"}
	huma.Register(s.api, huma.Operation{
		OperationID: "submit-download", Method: http.MethodPost, Path: downloadsPath,
		Summary: "Download candles into the market data store (a run of kind download)", Tags: tags, Security: secured,
		Description: "Queues a run that downloads the closed candles of each pair and timeframe in the time range that the store lacks; follow status_url (its progress, and each step's detail) until it is completed or failed. " +
			"A server started without --download answers 409.",
		DefaultStatus: http.StatusAccepted, MaxBodyBytes: s.o.MaxBody, BodyReadTimeout: s.o.BodyReadTimeout,
	}, func(ctx context.Context, in *submitDownloadInput) (*submitOutput, error) {
		p, err := mustPrincipal(ctx)
		if err != nil {
			return nil, err
		}
		r, err := s.SubmitDownload(ctx, p, in.Body, in.IdempotencyKey)
		if err != nil {
			return nil, err
		}
		u := downloadsPath + "/" + r.ID
		return &submitOutput{Location: u, Body: apitype.Ticket{RunID: r.ID, Status: string(r.Status), StatusURL: u}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-download", Method: http.MethodGet, Path: downloadsPath + "/{id}",
		Summary: "A download run: status, progress and what each step did", Tags: tags, Security: secured,
	}, func(ctx context.Context, in *downloadInput) (*runOutput, error) {
		p, err := mustPrincipal(ctx)
		if err != nil {
			return nil, err
		}
		v, err := s.Download(ctx, p, in.ID)
		if err != nil {
			return nil, err
		}
		return &runOutput{Body: v}, nil
	})
}

// SubmitDownload queues a download run for req, after the checks its
// worker makes (each refusal a 422 naming its field); the one submission
// path of the API and the web app's form.
func (s *Server) SubmitDownload(ctx context.Context, p tenancy.Principal, req apitype.DownloadRequest, idempotencyKey string) (runs.Run, error) {
	exchange, ok := s.d.Jobs.DownloadsFrom()
	if !ok {
		return runs.Run{}, problem(http.StatusConflict, apitype.CodeConflict, "this server does not download market data (start it with tradai serve --download)")
	}
	dr := downloadjob.Request{Exchange: req.Exchange, Pairs: req.Pairs, Timeframes: req.Timeframes, Timerange: req.Timerange}
	if _, _, err := dr.Check(exchange); err != nil {
		return runs.Run{}, downloadProblem(err)
	}
	raw, err := json.Marshal(dr)
	if err != nil {
		return runs.Run{}, s.internal("submit download", err)
	}
	sum := sha256.Sum256(raw)
	r, err := s.d.Jobs.Submit(ctx, p, runs.RunSpec{Kind: runs.KindDownload, Config: raw, Fingerprint: "sha256:" + hex.EncodeToString(sum[:])}, idempotencyKey)
	if err != nil {
		return runs.Run{}, s.runErr("submit download", "", err)
	}
	return r, nil
}

// downloadProblem is the 422 of a request's field errors.
func downloadProblem(err error) *apitype.Problem {
	var details []*apitype.ErrorDetail
	var all interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &all) {
		errs = all.Unwrap()
	}
	for _, e := range errs {
		var fe *downloadjob.FieldError
		if errors.As(e, &fe) {
			details = append(details, &apitype.ErrorDetail{Location: "body." + fe.Field, Message: fe.Msg})
		}
	}
	if len(details) == 0 {
		return invalid("body", err.Error(), nil)
	}
	return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, details[0].Location+": "+details[0].Message, details...)
}

// Download is the tenant's download run id with its steps; another kind of
// run, or another tenant's, is a 404.
func (s *Server) Download(ctx context.Context, p tenancy.Principal, id string) (apitype.Run, error) {
	r, err := s.d.Runs.Get(ctx, p, id)
	if err == nil && r.Spec.Kind != runs.KindDownload {
		err = runs.ErrNotFound
	}
	if err != nil {
		return apitype.Run{}, s.runErr("get download", id, err)
	}
	v, err := s.detailed(ctx, p, r)
	if err != nil {
		return apitype.Run{}, err
	}
	v.Links["self"] = downloadsPath + "/" + r.ID
	return v, nil
}
