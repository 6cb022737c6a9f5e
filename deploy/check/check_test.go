package check_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/tradai/tradai/internal/images"
)

// spec is the image table's entry for an image reference "name:tag".
func spec(t *testing.T, ref string) (images.Spec, bool) {
	t.Helper()
	name, _, _ := strings.Cut(ref, ":")
	for _, s := range images.Specs() {
		if s.Name == name {
			return s, true
		}
	}
	return images.Spec{}, false
}

// loadCompose loads compose.yaml as docker compose does, validating it
// against the compose specification's schema.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	wd, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "compose.yaml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("tradai", true) })
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

// TestCompose checks compose.yaml: valid by the compose specification, the
// topology the docs promise, and every TradAI service running its image's
// processes only (the tier rule) with a read-only root file system.
func TestCompose(t *testing.T) {
	p := loadCompose(t)
	want := map[string]int{"postgres": 1, "migrate": 1, "server": 1, "worker": 2, "runner": 1, "sim": 1}
	for name, n := range want {
		svc, ok := p.Services[name]
		if !ok {
			t.Errorf("compose.yaml has no service %s", name)
			continue
		}
		if got := svc.GetScale(); got != n {
			t.Errorf("service %s: %d replicas, want %d", name, got, n)
		}
	}
	for name, svc := range p.Services {
		s, ok := spec(t, svc.Image)
		if !ok {
			continue
		}
		args := append(slices.Clone(s.Args), svc.Command...)
		if len(svc.Command) == 0 {
			args = append(args, s.Cmd...)
		}
		if err := images.CheckTiers(s, args); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		if !svc.ReadOnly {
			t.Errorf("service %s: the root file system is writable (read_only: true)", name)
		}
		if svc.Environment["TRADAI_DATABASE"] == nil || !strings.HasPrefix(*svc.Environment["TRADAI_DATABASE"], "postgres://") {
			t.Errorf("service %s: TRADAI_DATABASE is not the PostgreSQL URL", name)
		}
	}
	if d := p.Services["server"].DependsOn["migrate"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("the server starts before the migration completed (depends_on %v)", d)
	}
}

// TestKubernetes checks the manifests in k8s/: each decodes, every
// Deployment's container runs its image's processes only (the tier rule)
// as a non-root user with a read-only root, with liveness and readiness
// probes, resources and the database URL from a Secret; the migration is
// a Job; the server has a PodDisruptionBudget.
func TestKubernetes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	kinds := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc manifest
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kinds[doc.Kind] = append(kinds[doc.Kind], doc.Metadata.Name)
			if doc.Kind != "Deployment" && doc.Kind != "Job" {
				continue
			}
			pod := doc.Spec.Template.Spec
			if pod.SecurityContext.RunAsUser == 0 || !pod.SecurityContext.RunAsNonRoot {
				t.Errorf("%s %s: not run as a non-root user", doc.Kind, doc.Metadata.Name)
			}
			for _, c := range pod.Containers {
				s, ok := spec(t, c.Image)
				if !ok {
					t.Errorf("%s: image %s is not one of TradAI's", doc.Metadata.Name, c.Image)
					continue
				}
				args := append(slices.Clone(s.Args), c.Args...)
				if len(c.Args) == 0 {
					args = append(args, s.Cmd...)
				}
				if err := images.CheckTiers(s, args); err != nil {
					t.Errorf("%s: %v", doc.Metadata.Name, err)
				}
				if !c.SecurityContext.ReadOnlyRootFilesystem {
					t.Errorf("%s: the root file system is writable", doc.Metadata.Name)
				}
				if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
					t.Errorf("%s: no memory request and limit", doc.Metadata.Name)
				}
				if !slices.ContainsFunc(c.Env, func(e env) bool {
					return e.Name == "TRADAI_DATABASE" && e.ValueFrom.SecretKeyRef.Name != ""
				}) {
					t.Errorf("%s: TRADAI_DATABASE does not come from a Secret", doc.Metadata.Name)
				}
				if doc.Kind == "Deployment" && (c.LivenessProbe.HTTPGet.Path == "" || c.ReadinessProbe.HTTPGet.Path == "") {
					t.Errorf("%s: no liveness or readiness probe", doc.Metadata.Name)
				}
				if s.Name != "tradai-sim" && doc.Kind == "Deployment" && (c.LivenessProbe.HTTPGet.Path != "/health" || c.ReadinessProbe.HTTPGet.Path != "/ready") {
					t.Errorf("%s: the probes are not /health and /ready", doc.Metadata.Name)
				}
			}
		}
	}
	if !slices.Contains(kinds["Job"], "tradai-migrate") {
		t.Errorf("no migration Job tradai-migrate (have %v)", kinds)
	}
	if !slices.Contains(kinds["PodDisruptionBudget"], "tradai-server") {
		t.Errorf("no PodDisruptionBudget for the server (have %v)", kinds)
	}
}

// manifest is the part of a Kubernetes object the test reads.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
					RunAsUser    int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []struct {
					Image           string `yaml:"image"`
					Args            []string
					Env             []env `yaml:"env"`
					LivenessProbe   probe `yaml:"livenessProbe"`
					ReadinessProbe  probe `yaml:"readinessProbe"`
					SecurityContext struct {
						ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
					} `yaml:"securityContext"`
					Resources struct {
						Requests map[string]string `yaml:"requests"`
						Limits   map[string]string `yaml:"limits"`
					} `yaml:"resources"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type env struct {
	Name      string `yaml:"name"`
	ValueFrom struct {
		SecretKeyRef struct {
			Name string `yaml:"name"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}
