package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad --artifact-store stops serve and worker before anything starts,
// with an error naming the flag and never repeating a secret.
func TestArtifactStoreFlag(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, cmd := range []string{"serve", "worker"} {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--artifact-store", "ftp://bucket/x"}, `--artifact-store: scheme "ftp"`},
			{[]string{"--artifact-store", "s3://AKIAXX:very-secret@bucket/x"}, "--artifact-store: the URL holds credentials"},
			{[]string{"--artifact-store", "s3://bucket/x?endpoint=h:1&secure=nope"}, "--artifact-store: secure"},
			{[]string{"--artifact-store", "s3://bucket/x?endpoint=h:1"}, "--artifact-store: no object store credentials: $AWS_ACCESS_KEY_ID"},
			{[]string{"--artifact-store-credentials", "creds"}, "--artifact-store-credentials is given without --artifact-store"},
		} {
			home := t.TempDir()
			args := append([]string{cmd, "--home", home, "--datadir", filepath.Join(home, "data"), "--addr", "127.0.0.1:0"}, tc.args...)
			if cmd == "worker" {
				args = append([]string{cmd, "--home", home, "--datadir", filepath.Join(home, "data"), "--database", "postgres://tradai@127.0.0.1:1/none"}, tc.args...)
			}
			_, _, err := execute(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %v: %v, want an error saying %q", cmd, tc.args, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "very-secret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		}
	}
	// Keys from a credentials file are enough to start (nothing is
	// contacted before the first artifact).
	file := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(file, []byte("[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &platformOpts{artifactStore: "s3://bucket/p?endpoint=127.0.0.1:1&secure=false", artifactCreds: file}
	st, err := o.artifacts(slog.New(slog.DiscardHandler))
	if err != nil || st.Location() != "s3://bucket/p/" {
		t.Fatalf("store from a credentials file: %v, %v", st, err)
	}
}
