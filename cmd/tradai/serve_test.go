package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/tenancy"
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
	if f, err := o.fetcher(t.TempDir(), nil); err != nil || f != nil {
		t.Fatalf("without --download: %v, %v; want no fetcher", f, err)
	}
	o.download = true
	f, err := o.fetcher(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil || f == nil || f.Exchange() != "binance" {
		t.Fatalf("with --download: %v, %v", f, err)
	}
}

// The home folder holds the database and the first API token: serve
// creates it for its user alone, and the token file and database 0600;
// market data stays readable.
func TestHomePrivate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	o := &platformOpts{dbOpts: dbOpts{home: home, logger: func() (*slog.Logger, error) { return slog.New(slog.DiscardHandler), nil }}}
	_, data, err := o.folders()
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := o.open(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := bootstrap(t.Context(), tenancy.New(d, time.Now, nil), home, io.Discard); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		home: os.ModeDir | 0o700, data: os.ModeDir | 0o755,
		filepath.Join(home, "token"): 0o600, filepath.Join(home, "tradai.db"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %s, want %s", path, fi.Mode(), want)
		}
	}
}
