// Package check validates TradAI's deployment files in deploy/: compose.yaml (the team
// topology for docker compose) and k8s/ (Kubernetes manifests). It has no
// code; its tests validate the files (compose-spec's schema through
// compose-go; kubeconform on the Kubernetes schemas in testdata/k8s; the
// compose topology run as real processes with the file's command lines; the
// tier rule of internal/images on every command line; Prometheus scraping
// every tier that serves /metrics — prometheus.yml, the pods' annotations —
// and OTEL_EXPORTER_OTLP_ENDPOINT reaching each, off by default).
package check
