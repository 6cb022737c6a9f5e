package study

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// ErrNotFound: no such study of the tenant (another tenant's study is
// not found either).
var ErrNotFound = errors.New("study not found")

// Trial statuses. A trial is running while a batch holds it, pending when
// its batch was given up (a cancelled study) and it waits for another,
// completed or failed when told.
const (
	TrialRunning   = "running"
	TrialPending   = "pending"
	TrialCompleted = "completed"
	TrialFailed    = "failed"
)

// Store keeps studies and their trials beside their parent runs.
type Store struct {
	db    *db.DB
	runs  *runs.Store
	clock clock.Clock
}

// NewStore returns the study store on d (migrated) and its run store.
func NewStore(d *db.DB, rs *runs.Store, clk clock.Clock) *Store {
	return &Store{db: d, runs: rs, clock: clock.Or(clk)}
}

// Runs is the run store the studies' parent runs live in.
func (s *Store) Runs() *runs.Store { return s.runs }

// Request is a study to create: the parent run's strategy, config, fixed
// parameters and tags, and the study's Spec.
type Request struct {
	Strategy        string
	StrategyVersion int
	CodeSHA256      string
	Config          json.RawMessage
	Params          json.RawMessage
	Tags            map[string]string
	Spec            Spec
}

// Space is the search space of a study as the first worker that opened
// its strategy recorded it: what show, best and export need without
// opening the strategy again.
type Space struct {
	Spaces   []string     `json:"spaces"`
	Dims     sample.Space `json:"dims"`
	Strategy sdk.Spec     `json:"strategy"`
}

// Counts are a study's trials by status.
type Counts struct {
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Running   int `json:"running"`
	Pending   int `json:"pending"`
}

// Done is the number of told trials.
func (c Counts) Done() int { return c.Completed + c.Failed }

// Study is a study as stored.
type Study struct {
	Run       runs.Run
	Spec      Spec
	Space     *Space // nil until a worker opened the strategy
	Asked     int
	Exhausted bool
	Counts    Counts
}

// ID is the study's id: its parent run's.
func (st *Study) ID() string { return st.Run.ID }

// Trial is a stored trial.
type Trial struct {
	Number int
	Status string
	Point  []float64
	// Told is how many trials the sampler had been told when it proposed
	// this one (the rest of what it knew were trials in flight).
	Told int
	// Params are the decoded point: the strategy parameters (the searched
	// ones over the run's fixed ones) and the risk settings.
	Params   TrialParams
	Figures  optimize.Figures
	Loss     float64 // +Inf unless completed
	Duration time.Duration
	Error    string
}

// TrialParams is a trial's point decoded.
type TrialParams struct {
	Params map[string]any `json:"params"`
	Risk   sdk.Risk       `json:"risk"`
}

// Create stores a queued study: its parent run (kind study) and its row,
// then runs inTx in the same transaction (the job queue enqueues the
// study's first batch jobs there). The idempotency key is the run's.
func (s *Store) Create(ctx context.Context, p tenancy.Principal, req Request, idempotencyKey string, inTx func(tx *db.Tx, st *Study) error) (*Study, error) {
	spec := req.Spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("create study: %w", err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("create study: %w", err)
	}
	var st *Study
	r, created, err := s.runs.CreateWith(ctx, p, runs.RunSpec{Kind: runs.KindStudy, Strategy: req.Strategy, StrategyVersion: req.StrategyVersion,
		CodeSHA256: req.CodeSHA256, Config: req.Config, Params: req.Params, Tags: req.Tags, Fingerprint: string(raw)},
		idempotencyKey, func(tx *db.Tx, r runs.Run) error {
			if _, err := tx.Exec(ctx, `INSERT INTO studies (run_id, tenant_id, spec) VALUES (?, ?, ?)`, r.ID, p.Tenant, string(raw)); err != nil {
				return fmt.Errorf("insert study: %w", err)
			}
			st = &Study{Run: r, Spec: spec}
			if inTx != nil {
				return inTx(tx, st)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("create study: %w", err)
	}
	if !created {
		return s.Get(ctx, p, r.ID)
	}
	return st, nil
}

// Get returns the tenant's study id with its trial counts.
func (s *Store) Get(ctx context.Context, p tenancy.Principal, id string) (*Study, error) {
	r, err := s.runs.Get(ctx, p, id)
	if errors.Is(err, runs.ErrNotFound) || (err == nil && r.Spec.Kind != runs.KindStudy) {
		return nil, fmt.Errorf("study %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", id, err)
	}
	st := &Study{Run: r}
	var spec, space string
	var exhausted int
	err = s.db.QueryRow(ctx, `SELECT spec, space, asked, exhausted FROM studies WHERE run_id = ? AND tenant_id = ?`, id, p.Tenant).
		Scan(&spec, &space, &st.Asked, &exhausted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("study %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", id, err)
	}
	st.Exhausted = exhausted != 0
	if err := json.Unmarshal([]byte(spec), &st.Spec); err != nil {
		return nil, fmt.Errorf("study %s: its stored spec: %w", id, err)
	}
	if space != "" {
		st.Space = &Space{}
		if err := json.Unmarshal([]byte(space), st.Space); err != nil {
			return nil, fmt.Errorf("study %s: its stored space: %w", id, err)
		}
	}
	counts, err := s.db.Counts(ctx, `SELECT status, COUNT(*) FROM study_trials WHERE study_id = ? GROUP BY status`, id)
	if err != nil {
		return nil, fmt.Errorf("study %s: count its trials: %w", id, err)
	}
	st.Counts = Counts{Completed: counts[TrialCompleted], Failed: counts[TrialFailed], Running: counts[TrialRunning], Pending: counts[TrialPending]}
	return st, nil
}

// List returns a page of the tenant's studies, newest first, as the run
// store lists runs (cursor and limit are runs.Store.List's).
func (s *Store) List(ctx context.Context, p tenancy.Principal, status runs.Status, cursor string, limit int) ([]*Study, string, error) {
	page, err := s.runs.List(ctx, p, runs.Filter{Status: status, Kind: runs.KindStudy}, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list studies: %w", err)
	}
	out := make([]*Study, 0, len(page.Runs))
	for _, r := range page.Runs {
		st, err := s.Get(ctx, p, r.ID)
		if err != nil {
			return nil, "", fmt.Errorf("list studies: %w", err)
		}
		out = append(out, st)
	}
	return out, page.Next, nil
}

// Order of a trial listing.
const (
	ByNumber = "number"
	ByLoss   = "loss"
)

// Trials returns the study's trials by number, or by loss (the completed
// ones only, lowest first, ties by number), from offset, at most limit.
func (s *Store) Trials(ctx context.Context, p tenancy.Principal, id, order string, offset, limit int) ([]Trial, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	q := `SELECT ` + trialColumns + ` FROM study_trials WHERE study_id = ?`
	args := []any{id}
	switch order {
	case ByLoss:
		q += ` AND status = ? AND loss IS NOT NULL ORDER BY loss, number`
		args = append(args, TrialCompleted)
	case ByNumber, "":
		q += ` ORDER BY number`
	default:
		return nil, fmt.Errorf("order: %q is neither %q nor %q", order, ByNumber, ByLoss)
	}
	q += ` LIMIT ? OFFSET ?`
	args = append(args, limit, offset)
	out, err := db.Collect(ctx, s.db, scanTrial, q, args...)
	if err != nil {
		return nil, fmt.Errorf("trials of study %s: %w", id, err)
	}
	return out, nil
}

const trialColumns = `number, status, point, told, params, metrics, loss, duration_ms, error`

func scanTrial(rows db.Scanner) (Trial, error) {
	var t Trial
	var point, params, metrics string
	var loss sql.NullFloat64
	var ms int64
	if err := rows.Scan(&t.Number, &t.Status, &point, &t.Told, &params, &metrics, &loss, &ms, &t.Error); err != nil {
		return Trial{}, err
	}
	t.Loss, t.Duration = math.Inf(1), time.Duration(ms)*time.Millisecond
	if loss.Valid {
		t.Loss = loss.Float64
	}
	if err := json.Unmarshal([]byte(point), &t.Point); err != nil {
		return Trial{}, fmt.Errorf("trial %d's point: %w", t.Number, err)
	}
	if err := json.Unmarshal([]byte(params), &t.Params); err != nil {
		return Trial{}, fmt.Errorf("trial %d's parameters: %w", t.Number, err)
	}
	if err := json.Unmarshal([]byte(metrics), &t.Figures); err != nil {
		return Trial{}, fmt.Errorf("trial %d's figures: %w", t.Number, err)
	}
	return t, nil
}

// SetSpace records the study's search space unless a worker already did.
func (s *Store) SetSpace(ctx context.Context, p tenancy.Principal, id string, sp Space) error {
	raw, err := json.Marshal(sp)
	if err != nil {
		return fmt.Errorf("record the space of study %s: %w", id, err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE studies SET space = ? WHERE run_id = ? AND tenant_id = ? AND space = ''`, string(raw), id, p.Tenant); err != nil {
		return fmt.Errorf("record the space of study %s: %w", id, err)
	}
	return nil
}

// Claimed is a trial a batch is to run.
type Claimed struct {
	Number int
	Point  []float64
}

// Claim hands batch (a name unique to one job: the same name after a
// crash finds its trials again) the trials it is to run, in one
// transaction that holds the study's row, so concurrent claims are
// serialised: first the trials batch already holds and has not told (a
// re-run after a crash runs them again, under their numbers), else
// pending trials, else new ones the sampler proposes (ask). It returns
// none when the study is not queued or running, or when every trial has
// been asked.
//
// The sampler is rebuilt for every claim from the stored trials: a fresh
// sampler of the study's kind seeded with Seed + the number of trials
// asked so far, told the finished trials in number order (all that its
// model reads: for TPE the 250 best and the 200 latest, so a claim costs
// the same after 100,000 trials as after 1,000) and every trial in flight
// as failed (TPE's constant liar); a grid skips the points already asked. The points are therefore a function of the seed and the
// stored trials alone (see docs/optimisation.md).
func (s *Store) Claim(ctx context.Context, p tenancy.Principal, id, batch string, dims sample.Space) ([]Claimed, error) {
	out, _, err := s.claim(ctx, p, id, batch, dims, 1)
	return out, err
}

// maxUnits is the most Spec.Batch-sized units a claim takes at once.
const maxUnits = 16

// claim is Claim for up to units batches' worth of trials at once (a
// worker asks for as many as it runs in about claimWork): each unit of
// Spec.Batch trials is asked as a claim of its own would ask it, so the
// points are those of claims of one unit; a study whose sampler learns
// from the trials told (tpe, cmaes) gets one unit, as which trials had
// finished when a unit was asked would depend on it, and the units are
// capped at the study's units left to ask shared among Spec.Parallel
// claimants, so that its last claims are spread over the workers. claim
// also returns the status the study's run had (a worker marks a queued
// study running: Worker.RunBatch).
func (s *Store) claim(ctx context.Context, p tenancy.Principal, id, batch string, dims sample.Space, units int) ([]Claimed, runs.Status, error) {
	var out []Claimed
	var status string
	// The commit does not wait for the disk (it holds the study's row, which
	// other workers wait for): a database crash may lose the claim, whose
	// trials no finish can then record (their rows are gone with it), and
	// the study asks them again.
	err := s.db.InTxNoWait(ctx, func(tx *db.Tx) error {
		out = nil
		var specRaw string
		var asked, exhausted int
		// The study's row is locked and the run's status read in one
		// statement.
		err := tx.QueryRow(ctx, `UPDATE studies SET claims = claims + 1 WHERE run_id = ? AND tenant_id = ?
			RETURNING spec, asked, exhausted, (SELECT status FROM runs WHERE runs.id = studies.run_id)`, id, p.Tenant).
			Scan(&specRaw, &asked, &exhausted, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock study: %w", err)
		}
		if runs.Status(status) != runs.Queued && runs.Status(status) != runs.Running {
			return nil
		}
		var spec Spec
		if err := json.Unmarshal([]byte(specRaw), &spec); err != nil {
			return fmt.Errorf("read study spec: %w", err)
		}
		if spec.Sampler != "random" && spec.Sampler != "grid" {
			units = 1
		}
		left := (spec.Epochs - asked + spec.Batch - 1) / spec.Batch
		units = max(1, min(units, maxUnits, MaxBatch/spec.Batch, left/spec.Parallel))
		// The trials batch holds (at most maxUnits batches of them) come
		// first, then pending ones: both in one read.
		held, err := heldRows(ctx, tx, `SELECT number, point, status FROM study_trials WHERE study_id = ? AND (status = ? AND batch = ? OR status = ?)
			ORDER BY CASE WHEN status = ? THEN 0 ELSE 1 END, number LIMIT ?`, id, TrialRunning, batch, TrialPending, TrialRunning, max(maxUnits, units)*spec.Batch)
		if err != nil {
			return err
		}
		if len(held) > 0 && held[0].status == TrialRunning {
			for _, c := range held {
				if c.status == TrialRunning {
					out = append(out, c.Claimed)
				}
			}
			return nil
		}
		if len(held) > 0 {
			held = held[:min(len(held), units*spec.Batch)]
			args := []any{TrialRunning, batch, id, TrialPending}
			for _, c := range held {
				args = append(args, c.Number)
				out = append(out, c.Claimed)
			}
			if _, err := tx.Exec(ctx, `UPDATE study_trials SET status = ?, batch = ? WHERE study_id = ? AND status = ? AND number IN (?`+strings.Repeat(", ?", len(held)-1)+`)`, args...); err != nil {
				return fmt.Errorf("claim pending trials: %w", err)
			}
			return nil
		}
		if exhausted != 0 || asked >= spec.Epochs {
			return nil
		}
		// The claim's trials go in with one statement: a round trip per
		// claim, not per trial.
		var args []any
		var smp sample.Sampler
		var told int
		for n := asked + 1; n <= min(asked+units*spec.Batch, spec.Epochs); n++ {
			if (n-asked-1)%spec.Batch == 0 && (smp == nil || spec.Sampler == "random") {
				// A unit's sampler as a claim of its own would rebuild it
				// (a grid's goes on walking: the same points).
				var err error
				if smp, told, err = s.rebuild(ctx, tx, id, spec, dims, n-1); err != nil {
					return err
				}
			}
			x, err := smp.Ask()
			if errors.Is(err, sample.ErrExhausted) {
				exhausted = 1
				break
			}
			if err != nil {
				return fmt.Errorf("sampler: %w", err)
			}
			raw, err := json.Marshal(x)
			if err != nil {
				return fmt.Errorf("trial %d: %w", n, err)
			}
			args = append(args, id, n, TrialRunning, batch, string(raw), told)
			out = append(out, Claimed{Number: n, Point: x})
		}
		if len(out) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO study_trials (study_id, number, status, batch, point, told) VALUES `+rowsOf(len(out), 6), args...); err != nil {
				return fmt.Errorf("insert trials %d to %d: %w", out[0].Number, out[len(out)-1].Number, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET asked = ?, exhausted = ? WHERE run_id = ?`, asked+len(out), exhausted, id); err != nil {
			return fmt.Errorf("update study: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("claim trials of study %s: %w", id, err)
	}
	return out, runs.Status(status), nil
}

// rowsOf is the VALUES list of n rows of k placeholders each.
func rowsOf(n, k int) string {
	row := "(?" + strings.Repeat(", ?", k-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// heldTrial is a trial read for a claim: its number, point and status.
type heldTrial struct {
	Claimed
	status string
}

// heldRows reads the number, point and status of the trials q finds.
func heldRows(ctx context.Context, tx *db.Tx, q string, args ...any) ([]heldTrial, error) {
	out, err := db.Collect(ctx, tx, func(rows db.Scanner) (heldTrial, error) {
		var c heldTrial
		var point string
		if err := rows.Scan(&c.Number, &point, &c.status); err != nil {
			return c, err
		}
		if err := json.Unmarshal([]byte(point), &c.Point); err != nil {
			return c, fmt.Errorf("trial %d's point: %w", c.Number, err)
		}
		return c, nil
	}, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read trials: %w", err)
	}
	return out, nil
}

// rebuild returns the study's sampler as of asked trials, and how many
// finished trials it was told.
func (s *Store) rebuild(ctx context.Context, tx *db.Tx, id string, spec Spec, dims sample.Space, asked int) (sample.Sampler, int, error) {
	smp, err := sample.New(spec.Sampler, dims, spec.Seed+uint64(asked))
	if err != nil {
		return nil, 0, fmt.Errorf("sampler: %w", err)
	}
	if _, ok := smp.(*sample.Grid); ok {
		// A grid walks its points in order: skip those asked.
		for range asked {
			if _, err := smp.Ask(); err != nil {
				return smp, 0, nil //nolint:nilerr // exhausted: the next Ask says so
			}
		}
		return smp, 0, nil
	}
	if _, ok := smp.(*sample.Random); ok {
		return smp, 0, nil // learns nothing
	}
	// What TPE's model reads of its history: the good group comes from
	// the best trials, the rest from the latest ones (its History). The
	// study tells it the tpeBest best completed trials, the History latest
	// finished ones and every trial in flight, in number order: the model
	// of telling every trial (the good group is the 25 best of all, the
	// bad group the History latest) but for failed trials older than the
	// History latest, at a cost flat in the number of trials. Its restarts
	// and refinements (sample.TPEConfig.Restart, Refine) are judged on the
	// trials told, so either may come at another trial than in a TPE told
	// every trial.
	hist := max(sample.DefaultTPEConfig().History, 1)
	picked := map[int]bool{}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT number FROM study_trials WHERE study_id = ? AND status = ? ORDER BY loss, number LIMIT ?`, []any{id, TrialCompleted, tpeBest}},
		{`SELECT number FROM study_trials WHERE study_id = ? AND status IN (?, ?) ORDER BY number DESC LIMIT ?`, []any{id, TrialCompleted, TrialFailed, hist}},
		{`SELECT number FROM study_trials WHERE study_id = ? AND status IN (?, ?)`, []any{id, TrialRunning, TrialPending}},
	} {
		if err := numbers(ctx, tx, picked, q.sql, q.args...); err != nil {
			return nil, 0, err
		}
	}
	var told int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM study_trials WHERE study_id = ? AND status IN (?, ?)`, id, TrialCompleted, TrialFailed).Scan(&told); err != nil {
		return nil, 0, fmt.Errorf("count the study's trials: %w", err)
	}
	if len(picked) == 0 {
		return smp, told, nil
	}
	nums := slices.Sorted(maps.Keys(picked))
	args := make([]any, 0, len(nums)+1)
	args = append(args, id)
	for _, n := range nums {
		args = append(args, n)
	}
	rows, err := tx.Query(ctx, `SELECT number, status, point, loss FROM study_trials WHERE study_id = ? AND number IN (?`+strings.Repeat(", ?", len(nums)-1)+`) ORDER BY number`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read the study's trials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var status, point string
		var loss sql.NullFloat64
		if err := rows.Scan(&n, &status, &point, &loss); err != nil {
			return nil, 0, fmt.Errorf("read the study's trials: %w", err)
		}
		var x []float64
		if err := json.Unmarshal([]byte(point), &x); err != nil {
			return nil, 0, fmt.Errorf("a trial's point: %w", err)
		}
		l := math.Inf(1)
		if status == TrialCompleted && loss.Valid {
			l = loss.Float64
		}
		if err := smp.Tell(x, l); err != nil {
			return nil, 0, fmt.Errorf("sampler: %w", err)
		}
	}
	return smp, told, rows.Err()
}

// tpeBest is how many of the best completed trials a rebuilt TPE is told:
// well past the 125 told trials at which its good group reaches its cap
// (25, a fifth of the told trials: sample's gamma), so the rebuilt sampler's
// good group is the 25 best of the whole study.
const tpeBest = 250

// numbers adds the trial numbers q finds to set.
func numbers(ctx context.Context, tx *db.Tx, set map[int]bool, q string, args ...any) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read the study's trials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("read the study's trials: %w", err)
		}
		set[n] = true
	}
	return rows.Err()
}

// Result is a trial a batch ran.
type Result struct {
	Trial optimize.Trial
	Point optimize.Point
	// Returns are the trial's daily returns (optimize.Evaluator.Trial):
	// Finish keeps their optimize.DailySharpe, and the returns themselves
	// when the overfitting figures may need them (keptReturns).
	Returns []float64
}

// Progress is a study's state after a Finish.
type Progress struct {
	Counts    Counts
	Asked     int
	Epochs    int
	Exhausted bool
	// More: the study has trials left to ask (a job of it should follow).
	More bool
	// Ran is how many trials the batch that returned it ran and recorded
	// (Worker.RunBatch; 0 from the store's reads).
	Ran int
}

// Finish records the results of batch's trials, in one transaction: a
// trial is written only while batch still holds it (running), so a
// result never counts twice. With trials left to ask, next runs in the
// same transaction (the job queue enqueues the study's next batch job
// there). Then the study's run is completed once every trial is told, or
// failed when more than FailShare of at least optimize.FailMinTrials
// finished trials failed.
//
// On PostgreSQL the transaction's commit does not wait for the disk
// (db.InTxNoWait): a database crash may lose the latest Finish, never
// part of one, and what it loses is run again and counted once. The job
// whose batch it records is marked done by the queue after Finish, in a
// commit that waits for the disk and so makes every earlier commit
// durable with it (the log is written in order); while that has not
// happened, the job is still running in the queue, which runs it again
// after the crash, and its batch (the same name) finds the trials it
// holds, still running as the lost Finish never happened, and runs them
// again under their numbers. The next batch's job, enqueued in the same
// transaction, is lost or kept with it.
func (s *Store) Finish(ctx context.Context, p tenancy.Principal, id, batch string, results []Result, next func(tx *db.Tx) error) (Progress, error) {
	var pr Progress
	var spec Spec
	var lastErr string
	now := s.clock.Now().UnixMilli()
	err := s.db.InTxNoWait(ctx, func(tx *db.Tx) error {
		// The trials are recorded before the study's row is taken (they
		// are the batch's alone), so that other workers' claims and
		// finishes wait for this one only while it counts them.
		var specRaw string
		err := tx.QueryRow(ctx, `SELECT spec FROM studies WHERE run_id = ? AND tenant_id = ?`, id, p.Tenant).Scan(&specRaw)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read study: %w", err)
		}
		if err := json.Unmarshal([]byte(specRaw), &spec); err != nil {
			return fmt.Errorf("read study spec: %w", err)
		}
		completed, failed, err := s.record(ctx, tx, id, batch, spec.Epochs, now, results)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Trial.Failed() {
				lastErr = r.Trial.Err
			}
		}
		var exhausted int
		var counts Counts
		// The study's row is taken here, so no claim changes the pending
		// trials counted next.
		if err := tx.QueryRow(ctx, `UPDATE studies SET completed = completed + ?, failed = failed + ? WHERE run_id = ? RETURNING asked, exhausted, completed, failed`,
			completed, failed, id).Scan(&pr.Asked, &exhausted, &counts.Completed, &counts.Failed); err != nil {
			return fmt.Errorf("update study: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM study_trials WHERE study_id = ? AND status = ?`, id, TrialPending).Scan(&counts.Pending); err != nil {
			return fmt.Errorf("count pending trials: %w", err)
		}
		pr.Epochs, pr.Exhausted = spec.Epochs, exhausted != 0
		counts.Running = pr.Asked - counts.Done() - counts.Pending
		pr.Counts = counts
		pr.More = !pr.Exhausted && (pr.Asked < pr.Epochs || counts.Pending > 0) && !failing(spec, counts)
		if pr.More && next != nil {
			return next(tx)
		}
		return nil
	})
	if err != nil {
		return Progress{}, fmt.Errorf("record trials of study %s: %w", id, err)
	}
	c := pr.Counts
	switch {
	case failing(spec, c):
		if lastErr == "" {
			lastErr = s.lastError(ctx, id)
		}
		cause := fmt.Errorf("%d of %d trials failed (more than %.0f%%), the last with: %s", c.Failed, c.Done(), spec.FailShare*100, lastErr)
		if _, err := s.runs.Fail(ctx, p, id, cause, false); err != nil && !errors.Is(err, runs.ErrIllegalTransition) {
			return pr, fmt.Errorf("fail study %s: %w", id, err)
		}
	case c.Running == 0 && c.Pending == 0 && (c.Done() >= pr.Epochs || pr.Exhausted):
		if err := s.complete(ctx, p, id); err != nil {
			return pr, err
		}
	}
	return pr, nil
}

// GiveUp records that batch will not run again (its job's last attempt
// failed with cause): the trials it holds and did not tell are told as
// failed with cause, as Finish records results (next in its transaction
// when the study wants more trials), so the study moves on, or fails past
// its FailShare, rather than waiting on trials left running.
func (s *Store) GiveUp(ctx context.Context, p tenancy.Principal, id, batch string, cause error, next func(tx *db.Tx) error) (Progress, error) {
	var held []heldTrial
	if err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		held, err = heldRows(ctx, tx, `SELECT t.number, t.point, t.status FROM study_trials t JOIN studies s ON s.run_id = t.study_id
			WHERE t.study_id = ? AND s.tenant_id = ? AND t.status = ? AND t.batch = ? ORDER BY t.number`, id, p.Tenant, TrialRunning, batch)
		return err
	}); err != nil {
		return Progress{}, fmt.Errorf("give up a batch of study %s: %w", id, err)
	}
	msg := "its batch was given up: " + cause.Error()
	results := make([]Result, len(held))
	for i, c := range held {
		results[i] = Result{Trial: optimize.Trial{Number: c.Number, Point: c.Point, Loss: math.Inf(1), Err: msg}}
	}
	return s.Finish(ctx, p, id, batch, results, next)
}

// record writes the results of batch's trials that it still holds, in
// one statement (a round trip per batch, not per trial), and returns how
// many it recorded as completed and as failed.
func (s *Store) record(ctx context.Context, tx *db.Tx, id, batch string, epochs int, now int64, results []Result) (completed, failed int, err error) {
	if len(results) == 0 {
		return 0, 0, nil
	}
	var top []float64
	if sampleStride(epochs) > 1 {
		// Only a study of more epochs than its sample keeps returns by
		// rank (overfitData).
		if top, err = bestLosses(ctx, tx, id); err != nil {
			return 0, 0, err
		}
	}
	const cols = 10
	args := make([]any, 0, len(results)*cols+3)
	for _, r := range results {
		t := r.Trial
		params, err := json.Marshal(TrialParams{Params: r.Point.Params, Risk: r.Point.Risk})
		if err != nil {
			return 0, 0, fmt.Errorf("trial %d: %w", t.Number, err)
		}
		figures, err := json.Marshal(t.Figures)
		if err != nil {
			return 0, 0, fmt.Errorf("trial %d: %w", t.Number, err)
		}
		status, loss := TrialCompleted, any(t.Loss)
		if t.Failed() || math.IsInf(t.Loss, 0) || math.IsNaN(t.Loss) {
			status, loss = TrialFailed, nil
		}
		sharpe, returns, err := overfitData(epochs, r, status, top)
		if err != nil {
			return 0, 0, fmt.Errorf("trial %d: %w", t.Number, err)
		}
		if status == TrialCompleted {
			top = addLoss(top, t.Loss)
		}
		args = append(args, t.Number, status, string(params), string(figures), loss, t.Duration.Milliseconds(), t.Err, now, sharpe, returns)
	}
	// A row of VALUES names its columns column1, column2, … on both
	// databases; the casts give PostgreSQL their types.
	row := `(CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT))`
	q := `UPDATE study_trials SET status = v.column2, params = v.column3, metrics = v.column4, loss = v.column5, duration_ms = v.column6,
		error = v.column7, finished_at = v.column8, daily_sharpe = v.column9, daily_returns = v.column10
		FROM (VALUES ` + row + strings.Repeat(", "+row, len(results)-1) + `) AS v
		WHERE study_trials.study_id = ? AND study_trials.number = v.column1 AND study_trials.status = ? AND study_trials.batch = ?
		RETURNING study_trials.status`
	args = append(args, id, TrialRunning, batch)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return 0, 0, fmt.Errorf("record trials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		if err := rows.Scan(&status); err != nil {
			return 0, 0, fmt.Errorf("record trials: %w", err)
		}
		if status == TrialCompleted {
			completed++
		} else {
			failed++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("record trials: %w", err)
	}
	return completed, failed, nil
}

// bestLosses is the losses of the study's optimize.OverfitTop best
// completed trials, lowest first.
func bestLosses(ctx context.Context, tx *db.Tx, id string) ([]float64, error) {
	out, err := db.Collect(ctx, tx, func(rows db.Scanner) (l float64, err error) {
		return l, rows.Scan(&l)
	}, `SELECT loss FROM study_trials WHERE study_id = ? AND status = ? ORDER BY loss LIMIT ?`, id, TrialCompleted, optimize.OverfitTop)
	if err != nil {
		return nil, fmt.Errorf("rank trials: %w", err)
	}
	return out, nil
}

// addLoss puts loss into top (lowest first), keeping at most
// optimize.OverfitTop.
func addLoss(top []float64, loss float64) []float64 {
	i, _ := slices.BinarySearch(top, loss)
	top = slices.Insert(top, i, loss)
	return top[:min(len(top), optimize.OverfitTop)]
}

// overfitData is what Finish keeps of a trial for the study's
// overfitting figures (optimize.RestoreStudy): the DailySharpe of a
// completed trial (nil: none to judge) and its daily returns as JSON when
// the figures may need them: the trial is among the optimize.OverfitTop
// best finished so far (top: the lowest losses recorded before it, the
// batch's earlier trials included, so the best at the end are all kept),
// or in the sample of about optimize.OverfitSample trials spread evenly
// over the study's epochs (every trial of a study of no more epochs).
func overfitData(epochs int, r Result, status string, top []float64) (any, string, error) {
	if status != TrialCompleted {
		return nil, "", nil
	}
	sr, ok := optimize.DailySharpe(r.Returns)
	if !ok {
		return nil, "", nil
	}
	if better, _ := slices.BinarySearch(top, r.Trial.Loss); (r.Trial.Number-1)%sampleStride(epochs) != 0 && better >= optimize.OverfitTop {
		return sr, "", nil
	}
	return sr, encodeReturns(r.Returns), nil
}

// encodeReturns is how a trial's daily returns are stored: every value's
// float64 bits, little-endian, in base64: exact, and about half the size
// of their JSON (10.7 characters a value instead of about 20), so that
// PostgreSQL has half as much to compress and store per trial, and the
// worker no number to format.
func encodeReturns(rs []float64) string {
	raw := make([]byte, 8*len(rs))
	for i, r := range rs {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(r))
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// decodeReturns reads what encodeReturns stored, or the JSON array of
// numbers that studies stored before it.
func decodeReturns(s string) ([]float64, error) {
	var out []float64
	if strings.HasPrefix(s, "[") {
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(raw)%8 != 0 {
		return nil, fmt.Errorf("%d bytes are not whole numbers", len(raw))
	}
	out = make([]float64, len(raw)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, nil
}

// sampleStride is the step between the trials whose daily returns a
// study of epochs trials keeps as its sample.
func sampleStride(epochs int) int {
	return max(1, (epochs+optimize.OverfitSample-1)/optimize.OverfitSample)
}

// failing reports whether the study's failure rule is broken.
func failing(spec Spec, c Counts) bool {
	return c.Done() >= optimize.FailMinTrials && float64(c.Failed) > spec.FailShare*float64(c.Done())
}

func (s *Store) lastError(ctx context.Context, id string) string {
	var msg string
	_ = s.db.QueryRow(ctx, `SELECT error FROM study_trials WHERE study_id = ? AND status = ? ORDER BY number DESC LIMIT 1`, id, TrialFailed).Scan(&msg)
	return msg
}

// Summary is a finished study's outcome, the parent run's metrics.
type Summary struct {
	Trials    int     `json:"trials"`
	Failed    int     `json:"failed"`
	BestTrial int     `json:"best_trial,omitempty"`
	BestLoss  float64 `json:"best_loss,omitempty"`
}

// complete completes the study's run with its Summary.
func (s *Store) complete(ctx context.Context, p tenancy.Principal, id string) error {
	st, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	sum := Summary{Trials: st.Counts.Done(), Failed: st.Counts.Failed}
	best, err := s.Trials(ctx, p, id, ByLoss, 0, 1)
	if err != nil {
		return err
	}
	if len(best) == 1 {
		sum.BestTrial, sum.BestLoss = best[0].Number, best[0].Loss
	}
	raw, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("complete study %s: %w", id, err)
	}
	if _, err := s.runs.Complete(ctx, p, id, runs.Outcome{Metrics: raw}); err != nil && !errors.Is(err, runs.ErrIllegalTransition) {
		return fmt.Errorf("complete study %s: %w", id, err)
	}
	return nil
}

// Cancel cancels a queued or running study: no batch claims trials of it
// any more; batches running finish their trials and record them.
func (s *Store) Cancel(ctx context.Context, p tenancy.Principal, id string) (*Study, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	if _, err := s.runs.Cancel(ctx, p, id); err != nil {
		return nil, fmt.Errorf("cancel study %s: %w", id, err)
	}
	return s.Get(ctx, p, id)
}

// Resume puts a cancelled or failed study back in the queue: the trials
// its batches held and did not tell become pending (asked again first,
// under their numbers), and inTx runs in the same transaction (the job
// queue enqueues Parallel batch jobs there).
func (s *Store) Resume(ctx context.Context, p tenancy.Principal, id string, inTx func(tx *db.Tx, st *Study) error) (*Study, error) {
	st, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.runs.Retry(ctx, p, id, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE study_trials SET status = ?, batch = '' WHERE study_id = ? AND status = ?`, TrialPending, id, TrialRunning); err != nil {
			return fmt.Errorf("release trials: %w", err)
		}
		if inTx != nil {
			return inTx(tx, st)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("resume study %s: %w", id, err)
	}
	return s.Get(ctx, p, id)
}

// BatchName is the batch name of a job: unique to it, the same on every
// attempt at it.
func BatchName(jobID int64) string { return fmt.Sprintf("job-%d", jobID) }

// IsNotFound reports whether err says the study does not exist (for the
// tenant).
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, runs.ErrNotFound)
}
