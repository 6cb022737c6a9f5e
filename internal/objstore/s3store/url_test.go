package s3store_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/objstore/s3store"
)

func TestParseURL(t *testing.T) {
	good := map[string]s3store.Config{
		"s3://my-bucket":                              {Bucket: "my-bucket", Endpoint: s3store.DefaultEndpoint, Secure: true},
		"s3://my-bucket/a/b/?region=eu-west-1":        {Bucket: "my-bucket", Prefix: "a/b", Endpoint: s3store.DefaultEndpoint, Region: "eu-west-1", Secure: true},
		"s3://art/p?endpoint=minio:9000&secure=false": {Bucket: "art", Prefix: "p", Endpoint: "minio:9000", Secure: false},
	}
	for raw, want := range good {
		got, err := s3store.ParseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
		again, err := s3store.ParseURL(got.String())
		if err != nil || again != got {
			t.Errorf("ParseURL(%q.String()=%q) = %+v, %v", raw, got.String(), again, err)
		}
	}
	bad := map[string]string{
		"https://bucket/x":              "scheme",
		"s3://ab":                       "3 to 63",
		"s3://Bucket":                   "lower-case",
		"s3://bucket/a//b":              "segment",
		"s3://bucket?endpoint=h:99999":  "port",
		"s3://bucket?secure=maybe":      "true or false",
		"s3://bucket?endpont=h:1":       "unknown query parameter",
		"s3://bucket?region=a&region=b": "2 times",
		"s3://AKIA:s3cr3t@bucket/p":     "credentials",
		"s3://bucket/p#frag":            "s3://bucket/prefix",
	}
	for raw, want := range bad {
		_, err := s3store.ParseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error saying %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("ParseURL(%q): the error shows the secret: %v", raw, err)
		}
	}
}

func TestCredentials(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, err := s3store.Credentials("", getenv); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("no keys: %v, want an error naming AWS_ACCESS_KEY_ID", err)
	}
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "id", "hush-hush"
	c, err := s3store.Credentials("", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.GetWithContext(nil); v.AccessKeyID != "id" || v.SecretAccessKey != "hush-hush" {
		t.Fatalf("keys from the environment: %+v", v)
	}
}

// FuzzParseURL: any text is a Config or an error, never a panic; an
// accepted URL reads back the same from its String; no error repeats a
// password given in the URL.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bucket/prefix?endpoint=127.0.0.1:9000&region=us-east-1&secure=false", "s3://u:pw@b/x", "s3://b..c/%2e%2e", "s3://bucket?endpoint=[::1]:9000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := s3store.ParseURL(raw)
		if err != nil {
			if u, perr := url.Parse(raw); perr == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && len(pw) > 3 && strings.Contains(err.Error(), pw) {
					t.Fatalf("the error repeats the password %q: %v", pw, err)
				}
			}
			return
		}
		again, err := s3store.ParseURL(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseURL(%q) = %+v; its String %q reads back as %+v, %v", raw, c, c.String(), again, err)
		}
	})
}
