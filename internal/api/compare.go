package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

type compareInput struct {
	IDs string `query:"ids" required:"true" maxLength:"2100" doc:"Comma-separated run ids, 2 to 20" example:"run_a,run_b"`
}

// Comparison sets runs side by side: one row per metric and per parameter,
// with a value per run in the order of runs (null where a run has none).
type Comparison struct {
	Runs    []Run           `json:"runs"`
	Metrics []ComparisonRow `json:"metrics"`
	Params  []ComparisonRow `json:"params"`
	// Differ lists the parameters and top-level config keys whose values
	// are not the same in every run.
	Differ []string `json:"differ"`
}

// ComparisonRow is one metric or parameter across the compared runs.
type ComparisonRow struct {
	Name   string            `json:"name"`
	Values []json.RawMessage `json:"values"`
}

type compareOutput struct {
	Body Comparison
}

func (s *Server) registerRuns() {
	huma.Register(s.api, huma.Operation{
		OperationID: "compare-runs", Method: http.MethodGet, Path: "/api/v1/runs/compare",
		Summary: "Compare runs side by side: metrics, parameters, and what differs", Tags: []string{"runs"}, Security: secured,
	}, s.compare)
}

func (s *Server) compare(ctx context.Context, in *compareInput) (*compareOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for id := range strings.SplitSeq(in.IDs, ",") {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 || len(ids) > 20 {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRequest, "query.ids: give 2 to 20 distinct run ids, comma-separated",
			&huma.ErrorDetail{Location: "query.ids", Message: "give 2 to 20 distinct run ids", Value: in.IDs})
	}
	out := &compareOutput{}
	metrics := make([]map[string]json.RawMessage, len(ids))
	params := make([]map[string]json.RawMessage, len(ids))
	configs := make([]map[string]json.RawMessage, len(ids))
	for i, id := range ids {
		r, err := s.d.Runs.Get(ctx, p, id)
		if err != nil {
			return nil, s.runErr("get run", id, err)
		}
		v := view(r)
		out.Body.Runs = append(out.Body.Runs, v)
		metrics[i], params[i], configs[i] = object(r.Metrics), object(r.Spec.Params), object(r.Spec.Config)
	}
	out.Body.Metrics = rows(metrics)
	out.Body.Params = rows(params)
	out.Body.Differ = []string{}
	for _, row := range out.Body.Params {
		if !same(row.Values) {
			out.Body.Differ = append(out.Body.Differ, "params."+row.Name)
		}
	}
	for _, row := range rows(configs) {
		if !same(row.Values) {
			out.Body.Differ = append(out.Body.Differ, "config."+row.Name)
		}
	}
	return out, nil
}

// object decodes a JSON object; anything else is empty.
func object(raw json.RawMessage) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(raw, &m)
	return m
}

// rows turns per-run objects into rows over the union of their keys, in
// the order keys first appear.
func rows(objs []map[string]json.RawMessage) []ComparisonRow {
	var names []string
	for _, o := range objs {
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	out := make([]ComparisonRow, 0, len(names))
	for _, n := range names {
		row := ComparisonRow{Name: n, Values: make([]json.RawMessage, len(objs))}
		for i, o := range objs {
			if v, ok := o[n]; ok {
				row.Values[i] = v
			} else {
				row.Values[i] = json.RawMessage("null")
			}
		}
		out = append(out, row)
	}
	return out
}

func same(vs []json.RawMessage) bool {
	for _, v := range vs[1:] {
		if !bytes.Equal(compact(v), compact(vs[0])) {
			return false
		}
	}
	return true
}

func compact(v json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}
