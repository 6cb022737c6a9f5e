package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/strategy"
)

// defaultRemote is the server the runs commands talk to when neither
// --remote nor $TRADAI_URL says otherwise: tradai serve's default address.
const defaultRemote = "http://127.0.0.1:8080"

// remoteOpts are the flags of the commands that talk to a TradAI server.
type remoteOpts struct {
	url, token, home string
}

func (o *remoteOpts) addFlags(fs interface {
	StringVar(p *string, name, value, usage string)
}, urlUsage string) {
	fs.StringVar(&o.url, "remote", "", urlUsage)
	fs.StringVar(&o.token, "token", "", "API token (default $TRADAI_TOKEN, else the file <home>/token tradai serve writes)")
	fs.StringVar(&o.home, "home", "", "TradAI's home folder holding the token file (default $TRADAI_HOME, else ~/.tradai)")
}

// remote is a client for the server the flags name.
type remote struct {
	c           *client.Client
	tokenSource string
}

// connect makes the client: the server from --remote, else $TRADAI_URL,
// else tradai serve's default address; the token as client.ResolveToken
// finds it.
func (o *remoteOpts) connect() (*remote, error) {
	u := o.url
	if u == "" {
		u = os.Getenv("TRADAI_URL")
	}
	if u == "" {
		u = defaultRemote
	}
	home, err := homeDir(o.home)
	if err != nil && o.token == "" && os.Getenv(client.TokenEnv) == "" {
		return nil, err
	}
	token, source, err := client.ResolveToken(o.token, home)
	if err != nil {
		return nil, err
	}
	c, err := client.New(u, token, client.Options{UserAgent: "tradai/" + version})
	if err != nil {
		return nil, err
	}
	return &remote{c: c, tokenSource: source}, nil
}

// explain adds to an error what the user can do about it.
func (r *remote) explain(err error) error {
	var ae *client.Error
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return fmt.Errorf("%w (the token came from %s)", err, r.tokenSource)
	}
	return err
}

// follower shows a run's progress while it is awaited: a progress bar on
// a terminal, otherwise a line whenever the status or the step changes.
type follower struct {
	w    io.Writer
	id   string
	tty  bool
	bar  *progressbar.ProgressBar
	done bool // the bar has ended
	last string
}

func newFollower(w io.Writer, id string) *follower {
	return &follower{w: w, id: id, tty: terminal(w) != nil}
}

// stepDoing says what a run does in a step of the backtest kind; other
// steps by their name.
func stepDoing(step string) string {
	switch step {
	case "validate":
		return "checking the submission"
	case "ensure_data":
		return "ensuring market data"
	case "run":
		return "backtesting"
	case "record":
		return "recording the results"
	}
	return step
}

// phase is the run's status with, while it runs, what its current step
// does: "running: backtesting".
func phase(r apitype.Run) string {
	if r.Status != client.Running || len(r.Steps) == 0 {
		return r.Status
	}
	cur := r.Steps[len(r.Steps)-1].Name
	for _, s := range r.Steps {
		if s.FinishedAt == nil {
			cur = s.Name
			break
		}
	}
	return r.Status + ": " + stepDoing(cur)
}

func (f *follower) show(r apitype.Run) {
	label := "run " + f.id + " " + phase(r)
	if !f.tty {
		line := label
		if r.Status == client.Running {
			line += ", " + percent(r.Progress) + " done"
		}
		if line != f.last {
			fmt.Fprintln(f.w, line)
			f.last = line
		}
		return
	}
	if f.bar == nil {
		f.bar = progressbar.NewOptions(100,
			progressbar.OptionSetWriter(f.w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(f.w) }),
		)
	}
	if client.Terminal(r.Status) {
		f.done = true
		if r.Status == client.Completed {
			// Full before it says completed: never "completed 0%".
			_ = f.bar.Set(100)
			f.bar.Describe(label)
			_ = f.bar.Finish()
		} else {
			f.bar.Describe(label)
			_ = f.bar.Exit()
		}
		return
	}
	f.bar.Describe(label)
	_ = f.bar.Set(int(r.Progress * 100))
}

// result reads a completed run's result.json: its bytes and what they say.
func (rc *remote) result(ctx context.Context, id string) ([]byte, *result.Result, metrics.Report, error) {
	js, err := rc.c.Artifact(ctx, id, "result.json")
	if err != nil {
		return nil, nil, metrics.Report{}, rc.explain(err)
	}
	res, m, err := report.ReadJSON(bytes.NewReader(js))
	if err != nil {
		return nil, nil, metrics.Report{}, fmt.Errorf("run %s's result.json: %w", id, err)
	}
	return js, res, m, nil
}

// stop ends the bar of an interrupted wait.
func (f *follower) stop() {
	if f.bar != nil && !f.done {
		f.done = true
		_ = f.bar.Exit()
	}
}

// follow waits for the run, showing its progress on w. When ctx ends
// (Ctrl-C) and cancelOnInterrupt is set, the remote run is cancelled.
func (r *remote) follow(ctx context.Context, id string, w io.Writer, cancelOnInterrupt bool) (apitype.Run, error) {
	f := newFollower(w, id)
	run, err := r.c.Wait(ctx, id, f.show)
	f.stop()
	if err == nil || ctx.Err() == nil {
		return run, r.explain(err)
	}
	if !cancelOnInterrupt {
		return run, fmt.Errorf("interrupted: stopped waiting; run %s goes on (tradai runs cancel %s stops it)", id, id)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, cerr := r.c.Cancel(cctx, id); cerr != nil {
		return run, fmt.Errorf("interrupted, but cancelling run %s failed: %w", id, r.explain(cerr))
	}
	return run, fmt.Errorf("interrupted: run %s cancelled", id)
}

// submit submits req. Interrupted (Ctrl-C) while the submission is under
// way, it cannot know whether the server created the run, so it submits
// again with the same Idempotency-Key, which names the run the first
// attempt created (or creates it), and cancels that run.
func (r *remote) submit(ctx context.Context, req apitype.SubmitRequest) (apitype.Ticket, error) {
	key := client.NewIdempotencyKey()
	t, err := r.c.SubmitWithKey(ctx, req, key)
	if err == nil || ctx.Err() == nil {
		return t, r.explain(err)
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if t, err = r.c.SubmitWithKey(bg, req, key); err == nil {
		_, err = r.c.Cancel(bg, t.RunID)
	}
	if err != nil {
		return t, fmt.Errorf("interrupted while submitting; the run may have been created: %w", r.explain(err))
	}
	return t, fmt.Errorf("interrupted: run %s cancelled", t.RunID)
}

// outcome is nil for a completed run and otherwise the run's error.
func outcome(r apitype.Run) error {
	switch r.Status {
	case client.Completed:
		return nil
	case client.Cancelled:
		return fmt.Errorf("run %s was cancelled", r.ID)
	}
	msg := r.Error
	if msg == "" {
		msg = "no error was recorded"
	}
	return fmt.Errorf("run %s %s: %s", r.ID, strings.ReplaceAll(r.Status, "_", " "), msg)
}

// remoteBacktest is "tradai backtest --remote": the local command's flags
// sent to a server as a submission.
type remoteBacktest struct {
	remoteOpts
	configPath, strategy, timerange, exportJSON, reportPath string
	pairs                                                   []string
	tags                                                    map[string]string
	noWait                                                  bool
}

func (b *remoteBacktest) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if b.configPath == "" {
		return errors.New("--config is required")
	}
	cfg, err := readConfigObject(b.configPath)
	if err != nil {
		return err
	}
	// The server reads its own data store.
	delete(cfg, "datadir")
	strat := b.strategy
	if strat == "" {
		strat, _ = cfg["strategy"].(string)
	}
	if strat == "" {
		return fmt.Errorf("no strategy: set \"strategy\" in %s or pass --strategy (built-in: %v)", b.configPath, strategy.Names())
	}
	rc, err := b.connect()
	if err != nil {
		return err
	}
	stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
	t, err := rc.submit(ctx, apitype.SubmitRequest{Strategy: strat, Config: cfg, Timerange: b.timerange, Pairs: b.pairs, Tags: b.tags})
	if err != nil {
		return err
	}
	if b.noWait {
		fmt.Fprintf(stderr, "submitted run %s (%s): follow it with tradai runs wait %s\n", t.RunID, rc.c.URL(t.StatusURL), t.RunID)
		fmt.Fprintln(stdout, t.RunID)
		return nil
	}
	fmt.Fprintf(stderr, "submitted run %s to %s\n", t.RunID, rc.c.BaseURL())
	r, err := rc.follow(ctx, t.RunID, stderr, true)
	if err != nil {
		return err
	}
	if err := outcome(r); err != nil {
		return err
	}
	js, res, m, err := rc.result(ctx, r.ID)
	if err != nil {
		return err
	}
	if err := report.WriteSummary(stdout, res, m); err != nil {
		return err
	}
	if b.exportJSON != "" {
		if err := writeBytes(b.exportJSON, js); err != nil {
			return fmt.Errorf("writing --export-json: %w", err)
		}
		fmt.Fprintf(stdout, "Results written to %s\n", b.exportJSON)
	}
	if b.reportPath != "" {
		html, err := rc.c.Artifact(ctx, r.ID, "report.html")
		if err != nil {
			return rc.explain(err)
		}
		if err := writeBytes(b.reportPath, html); err != nil {
			return fmt.Errorf("writing --report: %w", err)
		}
		fmt.Fprintf(stdout, "HTML report written to %s\n", b.reportPath)
	}
	writeLinks(stdout, rc.c, r)
	return nil
}

// readConfigObject reads a config file as the JSON object a submission
// carries; the server decodes and validates it.
func readConfigObject(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers go to the server exactly as written
	var cfg map[string]any
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("config %s: not a JSON object: %w", path, err)
	}
	if cfg == nil {
		return nil, fmt.Errorf("config %s: not a JSON object", path)
	}
	return cfg, nil
}

func writeBytes(path string, b []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeLinks lists where the run and its artifacts are on the server.
func writeLinks(w io.Writer, c *client.Client, r apitype.Run) {
	fmt.Fprintf(w, "Run %s: %s\n", r.ID, c.URL(r.Links["self"]))
	if u := r.Links["report"]; u != "" {
		fmt.Fprintf(w, "Report: %s\n", c.URL(u))
	}
}

// percent formats a 0…1 progress.
func percent(p float64) string { return strconv.Itoa(int(p*100+0.5)) + "%" }
