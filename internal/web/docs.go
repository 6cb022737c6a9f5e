package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The API reference at /docs: the OpenAPI document rendered on the server
// into plain HTML (operations by tag, their parameters, bodies and
// answers, and the schemas), so it needs no script and nothing from
// another site.

type oaDoc struct {
	Info struct {
		Title, Version, Description string
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*oaSchema `json:"schemas"`
	} `json:"components"`
}

type oaOp struct {
	OperationID string              `json:"operationId"`
	Summary     string              `json:"summary"`
	Description string              `json:"description"`
	Tags        []string            `json:"tags"`
	Parameters  []oaParam           `json:"parameters"`
	RequestBody *oaBody             `json:"requestBody"`
	Responses   map[string]oaAnswer `json:"responses"`
	Security    []map[string][]string
}

type oaParam struct {
	Name, In, Description string
	Required              bool
	Schema                *oaSchema
}

type oaBody struct {
	Content  map[string]struct{ Schema *oaSchema } `json:"content"`
	Required bool                                  `json:"required"`
}

type oaAnswer struct {
	Description string                                `json:"description"`
	Content     map[string]struct{ Schema *oaSchema } `json:"content"`
}

type oaSchema struct {
	Ref         string               `json:"$ref"`
	Type        json.RawMessage      `json:"type"`
	Format      string               `json:"format"`
	Description string               `json:"description"`
	Properties  map[string]*oaSchema `json:"properties"`
	Required    []string             `json:"required"`
	Items       *oaSchema            `json:"items"`
	Enum        []any                `json:"enum"`
	Default     any                  `json:"default"`
	Minimum     *float64             `json:"minimum"`
	Maximum     *float64             `json:"maximum"`
	MaxLength   *int                 `json:"maxLength"`
}

// typeRef is a schema's type as the page shows it: a link for a named one.
type typeRef struct{ Text, Link string }

func (s *oaSchema) typeRef() typeRef {
	if s == nil {
		return typeRef{Text: "any"}
	}
	if s.Ref != "" {
		name := s.Ref[strings.LastIndex(s.Ref, "/")+1:]
		return typeRef{Text: name, Link: "#schema-" + name}
	}
	var types []string
	if err := json.Unmarshal(s.Type, &types); err != nil {
		var one string
		if json.Unmarshal(s.Type, &one) == nil {
			types = []string{one}
		}
	}
	types = slices.DeleteFunc(types, func(t string) bool { return t == "null" })
	t := strings.Join(types, " | ")
	if t == "array" && s.Items != nil {
		in := s.Items.typeRef()
		return typeRef{Text: "array of " + in.Text, Link: in.Link}
	}
	if t == "" {
		t = "any"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	return typeRef{Text: t}
}

// notes are a schema's bounds and choices, for people.
func (s *oaSchema) notes() string {
	if s == nil {
		return ""
	}
	var n []string
	if len(s.Enum) > 0 {
		var vs []string
		for _, e := range s.Enum {
			vs = append(vs, fmt.Sprint(e))
		}
		n = append(n, "one of "+strings.Join(vs, ", "))
	}
	if s.Minimum != nil {
		n = append(n, "≥ "+strconv.FormatFloat(*s.Minimum, 'g', -1, 64))
	}
	if s.Maximum != nil {
		n = append(n, "≤ "+strconv.FormatFloat(*s.Maximum, 'g', -1, 64))
	}
	if s.MaxLength != nil {
		n = append(n, "at most "+strconv.Itoa(*s.MaxLength)+" characters")
	}
	if s.Default != nil {
		n = append(n, "default "+fmt.Sprint(s.Default))
	}
	return strings.Join(n, "; ")
}

type docsParam struct {
	Name, In, Description, Notes string
	Required                     bool
	Type                         typeRef
}

type docsAnswer struct {
	Status, Description, Media string
	Type                       typeRef
}

type docsOp struct {
	Anchor, Method, Path, Summary, Description string
	Secured                                    bool
	Params                                     []docsParam
	Body                                       *typeRef
	BodyMedia                                  string
	Answers                                    []docsAnswer
}

type docsTag struct {
	Name string
	Ops  []docsOp
}

type docsField struct {
	Name, Description, Notes string
	Required                 bool
	Type                     typeRef
}

type docsSchema struct {
	Name, Description string
	Fields            []docsField
	Type              typeRef
}

type docsPage struct {
	Title, Version, Description string
	Tags                        []docsTag
	Schemas                     []docsSchema
}

// parseDocs turns the OpenAPI document into the page (an empty page
// without one).
func parseDocs(raw []byte) (docsPage, error) {
	var page docsPage
	if len(raw) == 0 {
		return page, nil
	}
	var d oaDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return page, fmt.Errorf("web: read the OpenAPI document: %w", err)
	}
	page.Title, page.Version, page.Description = d.Info.Title, d.Info.Version, d.Info.Description
	byTag := map[string][]docsOp{}
	for _, p := range slices.Sorted(maps.Keys(d.Paths)) {
		for _, m := range []string{"get", "post", "put", "patch", "delete"} {
			raw, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			var op oaOp
			if err := json.Unmarshal(raw, &op); err != nil {
				return page, fmt.Errorf("web: read the OpenAPI operation %s %s: %w", m, p, err)
			}
			o := docsOp{Anchor: "op-" + op.OperationID, Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description, Secured: len(op.Security) > 0}
			for _, pa := range op.Parameters {
				o.Params = append(o.Params, docsParam{Name: pa.Name, In: pa.In, Description: pa.Description, Required: pa.Required, Type: pa.Schema.typeRef(), Notes: pa.Schema.notes()})
			}
			if op.RequestBody != nil {
				for _, media := range slices.Sorted(maps.Keys(op.RequestBody.Content)) {
					t := op.RequestBody.Content[media].Schema.typeRef()
					o.Body, o.BodyMedia = &t, media
					break
				}
			}
			for _, status := range slices.Sorted(maps.Keys(op.Responses)) {
				a := op.Responses[status]
				da := docsAnswer{Status: status, Description: a.Description}
				for _, media := range slices.Sorted(maps.Keys(a.Content)) {
					da.Media, da.Type = media, a.Content[media].Schema.typeRef()
					break
				}
				o.Answers = append(o.Answers, da)
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], o)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(byTag)) {
		page.Tags = append(page.Tags, docsTag{Name: t, Ops: byTag[t]})
	}
	for _, name := range slices.Sorted(maps.Keys(d.Components.Schemas)) {
		sc := d.Components.Schemas[name]
		ds := docsSchema{Name: name, Description: sc.Description, Type: sc.typeRef()}
		for _, f := range slices.Sorted(maps.Keys(sc.Properties)) {
			p := sc.Properties[f]
			ds.Fields = append(ds.Fields, docsField{Name: f, Description: p.Description, Required: slices.Contains(sc.Required, f), Type: p.typeRef(), Notes: p.notes()})
		}
		page.Schemas = append(page.Schemas, ds)
	}
	return page, nil
}

func (s *Server) docsHandler(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.session(r)
	s.render(w, r, http.StatusOK, s.page(sess, "API reference", "docs", docsBody(s.docs)))
}
