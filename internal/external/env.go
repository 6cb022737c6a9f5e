package external

import (
	"os"
	"slices"
	"strings"

	"github.com/tradai/tradai/internal/sandbox"
)

// defaultPath is the PATH of a strategy process when TradAI's own has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// environment is the whole environment of a strategy process: PATH (as
// TradAI's own), HOME and TMPDIR (home, a folder of the process's own),
// LANG and LC_ALL (C.UTF-8), then extra, whose entries override these.
// Nothing else of TradAI's environment is passed on: it may hold secrets
// (database URLs, the webhook secret, tokens).
func environment(home string, extra []string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env := []string{"PATH=" + path, "HOME=" + home, "TMPDIR=" + home, "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	return append(env, extra...) // exec.Cmd keeps the last value of a name
}

// sandboxEnvironment is the whole environment of a sandboxed strategy
// process: as environment's, with the sandbox's PATH and its scratch
// space as HOME and TMPDIR.
func sandboxEnvironment(extra []string) []string {
	env := []string{"PATH=" + sandbox.Path, "HOME=" + sandbox.Scratch, "TMPDIR=" + sandbox.Scratch, "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	return append(env, extra...)
}

// minSecret is the length below which a value is not treated as a
// secret: shorter ones would be replaced where they only happen to occur.
const minSecret = 8

// redactor removes the values of TradAI's secret-looking environment
// variables from text a strategy wrote (its standard error, its error
// messages). A strategy does not inherit them, but it may run as the same
// user as TradAI and read them from /proc.
type redactor struct {
	secrets []string // longest first, so that a value containing another goes whole
}

// newRedactor collects the values of the variables in env (as
// os.Environ) whose names look secret, except those also in passed (the
// strategy got them anyway).
func newRedactor(env, passed []string) redactor {
	var r redactor
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || len(val) < minSecret || !secretName(name) || slices.Contains(passed, kv) {
			continue
		}
		r.secrets = append(r.secrets, val)
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	r.secrets = slices.Compact(r.secrets)
	return r
}

// secretName reports whether an environment variable's name suggests a
// secret: TradAI's own variables, PostgreSQL's, and names with one of the
// usual words between underscores (DATABASE_URL, AWS_SECRET_ACCESS_KEY,
// but not CURL_CA_BUNDLE).
func secretName(name string) bool {
	n := strings.ToUpper(name)
	if strings.HasPrefix(n, "TRADAI_") || strings.HasPrefix(n, "PG") {
		return true
	}
	for _, w := range strings.Split(n, "_") {
		switch w {
		case "SECRET", "SECRETS", "TOKEN", "PASSWORD", "PASSWD", "PASS", "KEY", "APIKEY",
			"DATABASE", "DSN", "CREDENTIAL", "CREDENTIALS", "AUTH", "URL", "URI":
			return true
		}
	}
	return false
}

// text returns s without any secret value.
func (r redactor) text(s string) string {
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

// err returns err with its message redacted; errors.Is and errors.As see
// through it. A nil err stays nil.
func (r redactor) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.text(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
