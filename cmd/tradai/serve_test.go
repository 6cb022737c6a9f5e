package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sandbox"
)

func TestWebhookFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		url, file, env   string
		wantSecret, want string // want: a part of the error
	}{
		{name: "off"},
		{name: "secret from file", url: "https://hooks.example.com/x", file: file, env: "from-env", wantSecret: "from-file"},
		{name: "secret from env", url: "https://hooks.example.com/x", env: " from-env ", wantSecret: "from-env"},
		{name: "no secret", url: "https://hooks.example.com/x", want: "needs a signing secret"},
		{name: "unreadable file", url: "https://hooks.example.com/x", file: filepath.Join(dir, "none"), want: "read the webhook secret"},
		{name: "file without url", file: file, want: "needs --webhook-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envWebhookSecret, tc.env)
			o := &platformOpts{webhookURL: tc.url, webhookSecretFile: tc.file}
			wh, err := o.webhook()
			switch {
			case tc.want != "":
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one saying %q", err, tc.want)
				}
			case err != nil:
				t.Fatal(err)
			case string(wh.Secret) != tc.wantSecret || wh.URL != tc.url:
				t.Fatalf("webhook %q with secret %q, want %q", wh.URL, wh.Secret, tc.wantSecret)
			}
		})
	}
}

func TestServeFlagsListDownloadAndWebhook(t *testing.T) {
	for _, name := range []string{"serve", "worker"} {
		out, _, err := execute(t, name, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"--download ", "--webhook-url", "--webhook-secret-file", "--public-url"} {
			if !strings.Contains(out, flag) {
				t.Errorf("%s --help lacks %s", name, flag)
			}
		}
	}
}

func TestDownloadFlag(t *testing.T) {
	o := &platformOpts{}
	if f, err := o.fetcher(t.TempDir(), market.Options{}, nil); err != nil || f != nil {
		t.Fatalf("without --download: %v, %v; want no fetcher", f, err)
	}
	o.download = true
	f, err := o.fetcher(t.TempDir(), market.Options{}, slog.New(slog.DiscardHandler))
	if err != nil || f == nil || f.Exchange() != "binance" {
		t.Fatalf("with --download: %v, %v", f, err)
	}
}

// The server and the workers run every tenant program in the sandbox;
// --sandbox-missing only chooses what a host missing a layer does.
func TestServeSandboxesStrategies(t *testing.T) {
	logger := func() (*slog.Logger, error) { return slog.New(slog.DiscardHandler), nil }
	for _, tc := range []struct {
		flag string
		want sandbox.Missing
		err  string
	}{
		{"refuse", sandbox.Refuse, ""},
		{"warn", sandbox.Warn, ""},
		{"ignore", "", "sandbox-missing \"ignore\""},
	} {
		o := &platformOpts{dbOpts: dbOpts{logger: logger, home: t.TempDir()}, orphanAfter: time.Minute,
			datadir: t.TempDir(), allowExternal: true, sandboxMissing: tc.flag}
		cfg, err := o.config()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("--sandbox-missing=%s: error %v, want one saying %q", tc.flag, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sb := cfg.Jobs.Strategies.External.Sandbox
		if sb == nil || sb.Missing != tc.want {
			t.Errorf("--sandbox-missing=%s: the runs' strategies get sandbox %+v, want one with Missing %q", tc.flag, sb, tc.want)
		}
	}
	out, _, err := execute(t, "serve", "--help")
	if err != nil || !strings.Contains(out, "--sandbox-missing") {
		t.Errorf("serve --help lacks --sandbox-missing (%v)", err)
	}
}
