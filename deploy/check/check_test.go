package check_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
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
				if slices.Contains(metricsTiers, s.Name) {
					checkObservable(t, doc.Metadata.Name, doc.Spec.Template.Metadata.Annotations, metricsPort(c.Args), c.Env)
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

// checkObservable checks the pod of a tier serving /metrics at port:
// Prometheus's scrape annotations name that port and path, and
// OTEL_EXPORTER_OTLP_ENDPOINT comes from an optional ConfigMap key (no
// ConfigMap: no traces).
func checkObservable(t *testing.T, name string, annotations map[string]string, port string, envs []env) {
	t.Helper()
	if port == "" || annotations["prometheus.io/scrape"] != "true" || annotations["prometheus.io/port"] != port || annotations["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: scrape annotations %v, want /metrics on port %q", name, annotations, port)
	}
	if !slices.ContainsFunc(envs, func(e env) bool {
		ref := e.ValueFrom.ConfigMapKeyRef
		return e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT" && ref.Name != "" && ref.Key != "" && ref.Optional
	}) {
		t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT does not come from an optional ConfigMap key", name)
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
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
					RunAsUser    int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []struct {
					Image string `yaml:"image"`
					Args  []string
					Ports []struct {
						ContainerPort int `yaml:"containerPort"`
					} `yaml:"ports"`
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
		ConfigMapKeyRef struct {
			Name     string `yaml:"name"`
			Key      string `yaml:"key"`
			Optional bool   `yaml:"optional"`
		} `yaml:"configMapKeyRef"`
	} `yaml:"valueFrom"`
}

// metricsPort is the port of the listening address a serve, worker or
// runner command line gives its /metrics (--addr, --metrics-addr), ""
// for none.
func metricsPort(args []string) string {
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == "--addr" || a == "--metrics-addr" {
			_, port, _ := strings.Cut(args[i+1], ":")
			return port
		}
	}
	return ""
}

// metricsTiers are the images whose processes serve /metrics.
var metricsTiers = []string{"tradai-server", "tradai-worker", "tradai-runner"}

// prometheusConfig is the part of prometheus.yml the test reads.
type prometheusConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Type  string   `yaml:"type"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

// scrapes are the host:port targets of c: static ones as written, DNS
// ones as name:port.
func (c prometheusConfig) scrapes() []string {
	var out []string
	for _, sc := range c.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			out = append(out, st.Targets...)
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				out = append(out, fmt.Sprintf("%s:%d", n, d.Port))
			}
		}
	}
	return out
}

// TestComposeObservability checks compose.yaml's observability, off by
// default: the monitoring profile's Prometheus scrapes every replica of
// every tier that serves /metrics, at the port its command line gives,
// with the alert rules; every such tier passes OTEL_EXPORTER_OTLP_ENDPOINT
// through, empty unless set.
func TestComposeObservability(t *testing.T) {
	p := loadCompose(t)
	prom, ok := p.DisabledServices["prometheus"]
	if !ok || !slices.Contains(prom.Profiles, "monitoring") {
		t.Fatalf("no prometheus service in the monitoring profile (disabled services %v)", slices.Collect(maps.Keys(p.DisabledServices)))
	}
	if !slices.ContainsFunc(prom.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Target == "/etc/prometheus" && filepath.Base(v.Source) == "prometheus"
	}) {
		t.Errorf("prometheus does not mount deploy/prometheus at /etc/prometheus: %+v", prom.Volumes)
	}
	b, err := os.ReadFile(filepath.Join("..", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg prometheusConfig
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	if !slices.Contains(cfg.RuleFiles, "/etc/prometheus/alerts.yaml") {
		t.Errorf("prometheus.yml loads the rules %v, want /etc/prometheus/alerts.yaml", cfg.RuleFiles)
	}
	for name, svc := range p.Services {
		s, ok := spec(t, svc.Image)
		if !ok || !slices.Contains(metricsTiers, s.Name) {
			continue
		}
		port := metricsPort(svc.Command)
		if want := name + ":" + port; port == "" || !slices.Contains(cfg.scrapes(), want) {
			t.Errorf("service %s: prometheus.yml scrapes %v, not %s", name, cfg.scrapes(), want)
		}
		if v := svc.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]; v == nil || *v != "" {
			t.Errorf("service %s: OTEL_EXPORTER_OTLP_ENDPOINT is not passed through, empty by default (%v)", name, svc.Environment)
		}
	}
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}
