package api

import (
	"context"
	"errors"
	"github.com/tradai/tradai/internal/tenancy"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/registry"
)

const strategiesPath = "/api/v1/strategies"

type pushInput struct {
	Name    string   `path:"name" maxLength:"64" doc:"Strategy name: letters, digits, _ and -"`
	Message string   `query:"message" maxLength:"4096" doc:"What changed, for people"`
	Tag     []string `query:"tag,explode" maxItems:"20" doc:"A label key=value; repeat for more"`
	Runtime string   `query:"runtime" enum:"python,wasm" doc:"Default: told by the strategy's file (strategy.py, strategy.wasm, or the only top-level .py or .wasm file)"`
	RawBody []byte   `contentType:"application/octet-stream" doc:"The strategy's files as a tar, gzip-compressed tar or zip archive (told apart by their first bytes); a single top-level folder is dropped"`
}

type versionOutput struct {
	Status int
	Body   apitype.StrategyVersion
}

type nameInput struct {
	Name string `path:"name" maxLength:"64"`
}

type versionsOutput struct {
	Body apitype.StrategyVersionList
}

type versionInput struct {
	Name    string `path:"name" maxLength:"64"`
	Version string `path:"version" maxLength:"20" doc:"A number, production, staging or latest"`
}

type diffInput struct {
	Name string `path:"name" maxLength:"64"`
	From string `query:"from" required:"true" maxLength:"100" doc:"A version of this strategy (3, production, …) or another one's NAME@VERSION"`
	To   string `query:"to" required:"true" maxLength:"100" doc:"As from"`
}

type diffOutput struct {
	Body apitype.StrategyDiff
}

type promoteInput struct {
	Name    string `path:"name" maxLength:"64"`
	Version string `path:"version" maxLength:"20"`
	Body    apitype.PromoteRequest
}

type rollbackInput struct {
	Name string `path:"name" maxLength:"64"`
	Body apitype.RollbackRequest
}

type singleVersionOutput struct {
	Body apitype.StrategyVersion
}

func (s *Server) registerStrategies() {
	tags := []string{"strategies"}
	huma.Register(s.api, huma.Operation{
		OperationID: "push-strategy-version", Method: http.MethodPost, Path: strategiesPath + "/{name}/versions",
		Summary: "Push a version of a strategy", Tags: tags, Security: secured,
		Description: "Stores the uploaded files as the strategy's next version (201), or answers the version that already holds exactly these files (200). " +
			"The code is started once for the spec it declares. E.g. `tar czf - -C mystrat . | curl --data-binary @- -H 'Content-Type: application/octet-stream' " +
			"-H \"Authorization: Bearer $TOKEN\" 'http://localhost:8080/api/v1/strategies/mystrat/versions?message=first'`. " +
			"Too many files or bytes is a 413; a malformed archive, links, paths leaving the folder, no strategy file, or code that does not declare a valid spec a 422.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: registry.DefaultMaxBytes, BodyReadTimeout: s.o.BodyReadTimeout,
	}, s.pushStrategy)
	huma.Register(s.api, huma.Operation{
		OperationID: "list-strategy-versions", Method: http.MethodGet, Path: strategiesPath + "/{name}/versions",
		Summary: "The versions of a strategy, oldest first", Tags: tags, Security: secured,
	}, s.strategyVersions)
	huma.Register(s.api, huma.Operation{
		OperationID: "get-strategy-version", Method: http.MethodGet, Path: strategiesPath + "/{name}/versions/{version}",
		Summary: "One version of a strategy: by number, or the one in production or staging, or the latest", Tags: tags, Security: secured,
	}, s.strategyVersion)
	huma.Register(s.api, huma.Operation{
		OperationID: "delete-strategy-version", Method: http.MethodDelete, Path: strategiesPath + "/{name}/versions/{version}",
		Summary: "Delete a version no run used", Tags: tags, Security: secured,
		Description:   "A version a run used, or the one in production, is a 409: archive it instead (promote with stage archived).",
		DefaultStatus: http.StatusNoContent,
	}, s.deleteStrategyVersion)
	huma.Register(s.api, huma.Operation{
		OperationID: "diff-strategy-versions", Method: http.MethodGet, Path: strategiesPath + "/{name}/diff",
		Summary: "What changed between two versions: the code and the spec, as unified diffs", Tags: tags, Security: secured,
	}, s.diffStrategy)
	huma.Register(s.api, huma.Operation{
		OperationID: "promote-strategy-version", Method: http.MethodPost, Path: strategiesPath + "/{name}/versions/{version}/promote",
		Summary: "Move a version to a stage", Tags: tags, Security: secured,
		Description: "At most one version is in production: promoting one archives the previous. Every change is audited with who and why.",
	}, s.promoteStrategy)
	huma.Register(s.api, huma.Operation{
		OperationID: "rollback-strategy", Method: http.MethodPost, Path: strategiesPath + "/{name}/rollback",
		Summary: "Put the previous production version back in production", Tags: tags, Security: secured,
		Description: "The current production version is archived. A 409 when there is no production version or none before it.",
	}, s.rollbackStrategy)
}

// registryRef is the reference of a version given by name and version
// (a number, production, staging or latest).
func registryRef(name, version string) string { return name + "@" + version }

// registryPrincipal is the request's principal on a server with a
// registry, or the error to answer.
func (s *Server) registryPrincipal(ctx context.Context) (tenancy.Principal, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return p, err
	}
	if s.d.Registry == nil {
		return p, s.registryErr(nil)
	}
	return p, nil
}

// registryErr is the answer to a registry error (or, with a nil error, to a
// server without a registry).
func (s *Server) registryErr(err error) error {
	switch {
	case s.d.Registry == nil:
		return problem(http.StatusNotImplemented, apitype.CodeNotFound, "this server has no strategy registry")
	case errors.Is(err, registry.ErrNotFound):
		return problem(http.StatusNotFound, apitype.CodeNotFound, err.Error())
	case errors.Is(err, registry.ErrTooLarge):
		return problem(http.StatusRequestEntityTooLarge, apitype.CodeBodyTooLarge, err.Error())
	case errors.Is(err, registry.ErrInvalid):
		return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, err.Error())
	case errors.Is(err, registry.ErrInUse), errors.Is(err, registry.ErrConflict):
		return problem(http.StatusConflict, apitype.CodeConflict, err.Error())
	}
	return s.internal("strategy registry", err)
}

// VersionView is a registry version as the API shows it.
func VersionView(v registry.Version) apitype.StrategyVersion {
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return apitype.StrategyVersion{Name: v.Name, Version: v.Number, Ref: v.Ref(), SHA256: v.SHA256, Runtime: string(v.Runtime), Entry: v.Entry,
		Spec: v.Spec, Author: v.Author, CreatedAt: v.Created.UTC(), Message: v.Message, Tags: tags, Stage: string(v.Stage), Size: v.Size, Files: v.Files}
}

func (s *Server) pushStrategy(ctx context.Context, in *pushInput) (*versionOutput, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for i, t := range in.Tag {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, invalid("query.tag["+strconv.Itoa(i)+"]", "want key=value", t)
		}
		tags[k] = v
	}
	files, err := registry.ReadArchive(in.RawBody, s.d.Registry.Limits())
	if err != nil {
		return nil, s.registryErr(err)
	}
	v, created, err := s.d.Registry.Push(ctx, p, in.Name, files, registry.PushOptions{Message: in.Message, Tags: tags, Runtime: in.Runtime})
	if err != nil {
		return nil, s.registryErr(err)
	}
	out := &versionOutput{Status: http.StatusOK, Body: VersionView(v)}
	out.Body.Created = created
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}

func (s *Server) strategyVersions(ctx context.Context, in *nameInput) (*versionsOutput, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.d.Registry.Versions(ctx, p, in.Name)
	if err != nil {
		return nil, s.registryErr(err)
	}
	out := &versionsOutput{Body: apitype.StrategyVersionList{Versions: []apitype.StrategyVersion{}}}
	for _, v := range vs {
		out.Body.Versions = append(out.Body.Versions, VersionView(v))
	}
	return out, nil
}

func (s *Server) strategyVersion(ctx context.Context, in *versionInput) (*singleVersionOutput, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.d.Registry.Get(ctx, p, registryRef(in.Name, in.Version))
	if err != nil {
		return nil, s.registryErr(err)
	}
	return &singleVersionOutput{Body: VersionView(v)}, nil
}

func (s *Server) deleteStrategyVersion(ctx context.Context, in *versionInput) (*struct{}, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.d.Registry.Delete(ctx, p, registryRef(in.Name, in.Version)); err != nil {
		return nil, s.registryErr(err)
	}
	return nil, nil
}

func (s *Server) diffStrategy(ctx context.Context, in *diffInput) (*diffOutput, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ref := func(v string) string {
		if strings.Contains(v, "@") {
			return v
		}
		return registryRef(in.Name, v)
	}
	d, err := s.d.Registry.Diff(ctx, p, ref(in.From), ref(in.To))
	if err != nil {
		return nil, s.registryErr(err)
	}
	return &diffOutput{Body: apitype.StrategyDiff{From: d.From.Ref(), To: d.To.Ref(), Code: d.Code, Spec: d.Spec}}, nil
}

func (s *Server) promoteStrategy(ctx context.Context, in *promoteInput) (*singleVersionOutput, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if pr := checkText("body.reason", in.Body.Reason); pr != nil {
		return nil, pr
	}
	v, err := s.d.Registry.Promote(ctx, p, registryRef(in.Name, in.Version), registry.Stage(in.Body.Stage), in.Body.Reason)
	if err != nil {
		return nil, s.registryErr(err)
	}
	return &singleVersionOutput{Body: VersionView(v)}, nil
}

func (s *Server) rollbackStrategy(ctx context.Context, in *rollbackInput) (*singleVersionOutput, error) {
	p, err := s.registryPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if pr := checkText("body.reason", in.Body.Reason); pr != nil {
		return nil, pr
	}
	v, err := s.d.Registry.Rollback(ctx, p, in.Name, in.Body.Reason)
	if err != nil {
		return nil, s.registryErr(err)
	}
	return &singleVersionOutput{Body: VersionView(v)}, nil
}
