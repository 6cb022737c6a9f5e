package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
)

type compareInput struct {
	IDs string `query:"ids" required:"true" maxLength:"2100" doc:"Comma-separated run ids, 2 to 20" example:"run_a,run_b"`
}

type compareOutput struct {
	Body apitype.Comparison
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
		return nil, problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, "query.ids: give 2 to 20 distinct run ids, comma-separated",
			&apitype.ErrorDetail{Location: "query.ids", Message: "give 2 to 20 distinct run ids", Value: in.IDs})
	}
	out := &compareOutput{}
	metrics := make([]object, len(ids))
	params := make([]object, len(ids))
	configs := make([]object, len(ids))
	for i, id := range ids {
		r, err := s.d.Runs.Get(ctx, p, id)
		if err != nil {
			return nil, s.runErr("get run", id, err)
		}
		v := view(r)
		out.Body.Runs = append(out.Body.Runs, v)
		metrics[i], params[i], configs[i] = decodeObject(r.Metrics), decodeObject(r.Spec.Params), decodeObject(r.Spec.Config)
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
	for _, r := range out.Body.Runs[1:] {
		if r.Strategy != out.Body.Runs[0].Strategy || r.StrategyVersion != out.Body.Runs[0].StrategyVersion || r.CodeSHA256 != out.Body.Runs[0].CodeSHA256 {
			out.Body.Differ = append(out.Body.Differ, "code")
			break
		}
	}
	for _, r := range out.Body.Runs[1:] {
		if r.DataFingerprint != out.Body.Runs[0].DataFingerprint {
			out.Body.Differ = append(out.Body.Differ, "data")
			break
		}
	}
	return out, nil
}

// object is a JSON object's members in their order.
type object struct {
	keys   []string
	values map[string]json.RawMessage
}

// decodeObject decodes a JSON object keeping its key order (the metrics
// summary's order is meaningful); anything else is empty.
func decodeObject(raw json.RawMessage) object {
	o := object{values: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return o
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return o
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return o
		}
		if _, seen := o.values[k]; !seen {
			o.keys = append(o.keys, k)
		}
		o.values[k] = v
	}
	return o
}

// rows turns per-run objects into rows over the union of their keys, in
// the order keys first appear.
func rows(objs []object) []apitype.ComparisonRow {
	var names []string
	seen := map[string]bool{}
	for _, o := range objs {
		for _, k := range o.keys {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	out := make([]apitype.ComparisonRow, 0, len(names))
	for _, n := range names {
		row := apitype.ComparisonRow{Name: n, Values: make([]json.RawMessage, len(objs))}
		for i, o := range objs {
			if v, ok := o.values[n]; ok {
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
