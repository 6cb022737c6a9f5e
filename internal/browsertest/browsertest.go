// Package browsertest starts the headless Chromium that the browser tests
// and benchmarks drive through chromedp: Debian's chromium, which .ci/run
// installs. Tests only.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path is the installed chromium ("" for none).
func Path() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Tab is a new tab of a headless chromium, 1280 × 900 px, closed when tb
// ends. Without chromium a test fails under CI=true (where .ci/run
// installs it) and skips elsewhere; a benchmark skips.
func Tab(tb testing.TB) context.Context {
	tb.Helper()
	path := Path()
	if path == "" {
		if _, bench := tb.(*testing.B); !bench && os.Getenv("CI") == "true" {
			tb.Fatal("chromium is not installed: the browser tests need it in CI (.ci/run installs Debian's chromium)")
		}
		tb.Skip("chromium is not installed (apt-get install chromium): skipping the browser checks")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(cancel)
	return ctx
}
