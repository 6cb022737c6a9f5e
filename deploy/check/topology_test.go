package check_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/images"
)

// TestComposeTopology runs compose.yaml's TradAI services as real tradai
// processes on this machine, with the command lines the file gives them
// (read from it, so the test proves the file): the migration, then the
// simulator, the server, the workers (as many as the file's replicas) and
// the runner, on CI's PostgreSQL, each listening address moved to a free
// loopback port and /data to the folder the file mounts there. It waits
// for every process to be ready, submits a backtest through the API, sees
// it complete, and stops them all with SIGTERM: each must exit cleanly.
func TestComposeTopology(t *testing.T) {
	base := os.Getenv(dbtest.EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI runs the compose topology on PostgreSQL: set %s", dbtest.EnvPostgres)
		}
		t.Skipf("needs PostgreSQL: set %s", dbtest.EnvPostgres)
	}
	if testing.Short() {
		t.Skip("builds tradai and runs six processes")
	}
	database := dbtest.FreshSchema(t, base)
	p := loadCompose(t)
	bin := filepath.Join(t.TempDir(), "tradai")
	build := exec.Command("go", "build", "-o", bin, "github.com/tradai/tradai/cmd/tradai")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as make images builds it
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// Every service's listening port, moved to a free loopback one.
	addrs := map[string]string{}
	for _, name := range []string{"server", "sim"} {
		addrs[name] = freeAddr(t)
	}
	ctx := t.Context()

	migrate := start(t, bin, "migrate", commandOf(t, p, "migrate", addrs, database))
	if err := migrate.wait(ctx); err != nil {
		t.Fatalf("tradai migrate: %v\n%s", err, migrate.out.String())
	}

	var procs []*proc
	ready := map[*proc]string{}
	sim := start(t, bin, "sim", commandOf(t, p, "sim", addrs, database))
	procs, ready[sim] = append(procs, sim), "http://"+addrs["sim"]+"/api/v3/ping"
	waitReady(t, sim, ready[sim])
	server := start(t, bin, "server", commandOf(t, p, "server", addrs, database))
	procs, ready[server] = append(procs, server), "http://"+addrs["server"]+"/ready"
	for _, name := range []string{"worker", "runner"} {
		svc := p.Services[name]
		for i := range svc.GetScale() {
			addrs[name] = freeAddr(t)
			pr := start(t, bin, fmt.Sprintf("%s-%d", name, i+1), commandOf(t, p, name, addrs, database))
			procs, ready[pr] = append(procs, pr), "http://"+addrs[name]+"/ready"
		}
	}
	if n := len(procs); n != 5 {
		t.Fatalf("compose.yaml gives %d long-running TradAI processes, want 5 (sim, server, 2 workers, runner)", n)
	}
	for _, pr := range procs {
		waitReady(t, pr, ready[pr])
	}

	token, err := os.ReadFile(filepath.Join(server.home, "token"))
	if err != nil {
		t.Fatalf("the server's first start wrote no token: %v", err)
	}
	c, err := client.New("http://"+addrs["server"], strings.TrimSpace(string(token)), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "macd_trend", Config: clienttest.Config(t)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	run, err := c.Wait(wctx, tk.RunID, nil)
	if err != nil || run.Status != "completed" {
		t.Fatalf("the backtest %s: %s, %v (%s)", tk.RunID, run.Status, err, run.Error)
	}

	for _, pr := range procs {
		if err := pr.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, pr := range procs {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := pr.wait(sctx); err != nil {
			t.Errorf("%s after SIGTERM: %v\n%s", pr.name, err, pr.out.String())
		}
		cancel()
	}
}

// commandOf is the service's tradai command line from compose.yaml (the
// image's entrypoint, then the service's command, else the image's flags)
// made local: listening addresses and service URLs moved to addrs, /data
// to the folder the service mounts there, and the database.
func commandOf(t *testing.T, p *types.Project, service string, addrs map[string]string, database string) []string {
	t.Helper()
	svc, ok := p.Services[service]
	if !ok {
		t.Fatalf("compose.yaml has no service %s", service)
	}
	s, ok := spec(t, svc.Image)
	if !ok {
		t.Fatalf("service %s: %s is not a TradAI image", service, svc.Image)
	}
	args := append(slices.Clone(s.Args), svc.Command...)
	if len(svc.Command) == 0 {
		args = append(args, s.Cmd...)
	}
	if err := images.CheckTiers(s, args); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(args)-1; i++ {
		v := args[i+1]
		switch args[i] {
		case "--addr", "--metrics-addr":
			args[i+1] = addrs[service]
		case "--datadir":
			for _, vol := range svc.Volumes {
				if vol.Target == v {
					args[i+1] = vol.Source
				}
			}
			if args[i+1] == v {
				t.Fatalf("service %s: --datadir %s is no volume of the service", service, v)
			}
		default:
			for name, a := range addrs {
				if strings.HasPrefix(v, "http://"+name+":") {
					args[i+1] = "http://" + a
				}
			}
		}
	}
	if e := svc.Environment["TRADAI_DATABASE"]; e == nil || !strings.HasPrefix(*e, "postgres://") {
		t.Fatalf("service %s: TRADAI_DATABASE is not a PostgreSQL URL", service)
	}
	return append(args, "--database", database)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running tradai process.
type proc struct {
	name string
	home string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs bin args with a home folder of its own; the process is
// killed when the test ends if it still runs.
func start(t *testing.T, bin, name string, args []string) *proc {
	t.Helper()
	pr := &proc{name: name, home: t.TempDir(), out: &syncBuffer{}, done: make(chan struct{})}
	pr.cmd = exec.Command(bin, args...)
	pr.cmd.Env = append(os.Environ(), "TRADAI_HOME="+pr.home)
	pr.cmd.Stdout, pr.cmd.Stderr = pr.out, pr.out
	if err := pr.cmd.Start(); err != nil {
		t.Fatalf("start tradai %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		pr.err = pr.cmd.Wait()
		close(pr.done)
	}()
	t.Cleanup(func() {
		_ = pr.cmd.Process.Kill()
		<-pr.done
		if t.Failed() {
			t.Logf("%s (tradai %s):\n%s", name, strings.Join(args, " "), pr.out.String())
		}
	})
	return pr
}

// wait waits for the process to exit and returns how it ended.
func (pr *proc) wait(ctx context.Context) error {
	select {
	case <-pr.done:
		return pr.err
	case <-ctx.Done():
		return fmt.Errorf("%s did not exit: %w", pr.name, ctx.Err())
	}
}

// waitReady polls url until it answers 200, failing when the process
// exits first.
func waitReady(t *testing.T, pr *proc, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-pr.done:
			t.Fatalf("%s exited before it was ready (%v):\n%s", pr.name, pr.err, pr.out.String())
		default:
		}
		if err := clock.Real().Sleep(ctx, 100*time.Millisecond); err != nil {
			t.Fatalf("%s not ready at %s: %v", pr.name, url, err)
		}
	}
}
