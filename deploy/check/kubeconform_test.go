package check_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yannh/kubeconform/pkg/validator"
)

// The JSON schemas of the Kubernetes kinds the manifests use live in
// testdata/k8s, made from Kubernetes' OpenAPI document (no network here to
// fetch kubeconform's): standalone (one file per kind with the definitions
// it reaches), strict (an object refuses fields its schema does not name).
// Regenerate them, e.g. for a new kind, with
//
//	go mod download -json k8s.io/kubernetes@v1.33.5   # "Dir" below
//	go test ./deploy/check -run TestKubeconform -k8s-openapi DIR/api/openapi-spec/swagger.json
var openAPI = flag.String("k8s-openapi", "", "regenerate testdata/k8s from this Kubernetes swagger.json")

// k8sVersion is the Kubernetes release the schemas come from.
const k8sVersion = "1.33.5"

// kinds are the kinds the manifests use: schema file name → definition.
var kinds = map[string]string{
	"deployment-apps-v1":            "io.k8s.api.apps.v1.Deployment",
	"service-v1":                    "io.k8s.api.core.v1.Service",
	"poddisruptionbudget-policy-v1": "io.k8s.api.policy.v1.PodDisruptionBudget",
	"job-batch-v1":                  "io.k8s.api.batch.v1.Job",
	"persistentvolumeclaim-v1":      "io.k8s.api.core.v1.PersistentVolumeClaim",
}

// TestKubeconform validates every manifest in k8s/ with kubeconform in
// strict mode against the schemas in testdata/k8s; a kind without a schema
// fails.
func TestKubeconform(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	if *openAPI != "" {
		if err := writeSchemas(*openAPI, dir); err != nil {
			t.Fatal(err)
		}
	}
	v, err := validator.New([]string{dir + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"}, validator.Opts{Strict: true, KubernetesVersion: k8sVersion})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	n := 0
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range v.Validate(f, r) {
			n++
			if res.Status != validator.Valid {
				sig, _ := res.Resource.Signature()
				t.Errorf("%s: %v: status %d: %v %v", f, sig, res.Status, res.Err, res.ValidationErrors)
			}
		}
	}
	if n < len(files) {
		t.Errorf("validated %d objects in %d files", n, len(files))
	}
}

// writeSchemas writes a standalone strict schema per kind from the
// Kubernetes OpenAPI (swagger 2.0) document.
func writeSchemas(swagger, dir string) error {
	b, err := os.ReadFile(swagger)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", swagger, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for file, root := range kinds {
		defs := map[string]any{}
		var reach func(name string) error
		reach = func(name string) error {
			if _, ok := defs[name]; ok {
				return nil
			}
			d, ok := doc.Definitions[name]
			if !ok {
				return fmt.Errorf("%s: no definition %s", swagger, name)
			}
			defs[name] = nil // reached; filled below
			s, refs := strictCopy(d)
			defs[name] = s
			for _, r := range refs {
				if err := reach(r); err != nil {
					return err
				}
			}
			return nil
		}
		if err := reach(root); err != nil {
			return err
		}
		// The special string types accept numbers, as the API server does.
		defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
		out, err := json.MarshalIndent(map[string]any{
			"description": "generated from Kubernetes " + k8sVersion + "'s OpenAPI document by deploy/check's TestKubeconform",
			"allOf":       []any{map[string]any{"$ref": "#/definitions/" + root}},
			"definitions": defs,
		}, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, file+".json"), append(out, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// strictCopy copies a schema, refusing undeclared fields on every object
// with declared properties, and lists the definitions it refers to.
func strictCopy(v any) (any, []string) {
	var refs []string
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			m := map[string]any{}
			for k, e := range x {
				if strings.HasPrefix(k, "x-kubernetes-") {
					continue
				}
				if k == "$ref" {
					if s, ok := e.(string); ok {
						refs = append(refs, strings.TrimPrefix(s, "#/definitions/"))
					}
				}
				m[k] = walk(e)
			}
			if _, ok := m["properties"]; ok {
				if _, ok := m["additionalProperties"]; !ok {
					m["additionalProperties"] = false
				}
			}
			return m
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e)
			}
			return out
		}
		return v
	}
	return walk(v), refs
}
