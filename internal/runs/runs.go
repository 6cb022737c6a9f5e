// Package runs is the run store: every backtest (and later optimization,
// deployment) is a run with an owner tenant, an idempotency key, a status
// that only moves along legal transitions, progress, attempts, steps,
// metrics and artifacts. Every mutation writes its audit row in the same
// transaction.
//
//	queued ──► running ──► completed
//	  │  ▲        │ ├────► failed        (Fail, not retryable)
//	  │  └────────┘ ├────► dead_letter   (Fail, retryable, attempts used up)
//	  │   (Fail, retryable)
//	  └──────────┴──────► cancelled     (Cancel)
package runs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/tenancy"
)

// Status is where a run is in its life.
type Status string

const (
	Queued     Status = "queued"
	Running    Status = "running"
	Completed  Status = "completed"
	Failed     Status = "failed"
	Cancelled  Status = "cancelled"
	DeadLetter Status = "dead_letter"
)

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool {
	return s == Completed || s == Failed || s == Cancelled || s == DeadLetter
}

var (
	// ErrNotFound: no such run in the caller's tenant (runs of other
	// tenants are not found either).
	ErrNotFound = errors.New("run not found")
	// ErrConflict: the idempotency key was used before with another request.
	ErrConflict = errors.New("idempotency key already used with a different request")
	// ErrIllegalTransition: the run's status does not allow the change.
	ErrIllegalTransition = errors.New("illegal run status transition")
	// ErrBadCursor: a List cursor that List did not hand out.
	ErrBadCursor = errors.New("bad cursor")
	// ErrArtifactUnreadable: the artifact's object is missing, corrupt or
	// truncated, or in an object store this process is not configured
	// for; it is never served.
	ErrArtifactUnreadable = errors.New("artifact cannot be read")
	// ErrArtifactNotStored: the artifact was written as a file by a build
	// before migration 12 and is not in the database.
	ErrArtifactNotStored = errors.New("written as a file by an earlier TradAI and not in the database: submit the run again (tradai runs show has its config)")
)

// The run kinds: a backtest, a study (the parent run of an optimisation
// whose trials internal/study keeps), a download of market data (no
// strategy), and a walk-forward analysis (one worker optimises and tests
// its windows in turn).
const (
	KindBacktest    = "backtest"
	KindStudy       = "study"
	KindDownload    = "download"
	KindWalkForward = "walkforward"
)

// RunSpec is what a caller asks to run.
type RunSpec struct {
	Kind        string            `json:"kind"`
	Strategy    string            `json:"strategy"`
	Params      json.RawMessage   `json:"params,omitempty"`
	Config      json.RawMessage   `json:"config,omitempty"`
	Fingerprint string            `json:"fingerprint"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Parent, when set, is the id of the run of the same tenant this one
	// belongs to (a study's trial, a deployment's restart).
	Parent string `json:"parent,omitempty"`
	// StrategyVersion is the registry version of Strategy (then a bare
	// name) the run runs, with CodeSHA256 the hash of its archive; 0 and
	// "" for a built-in or a file.
	StrategyVersion int    `json:"strategy_version,omitempty"`
	CodeSHA256      string `json:"code_sha256,omitempty"`
}

// Run is a stored run.
type Run struct {
	ID             string
	Tenant         string
	CreatedBy      string
	Spec           RunSpec
	IdempotencyKey string
	Status         Status
	Progress       float64
	Attempts       int
	Error          string
	Created        time.Time
	Started        time.Time // zero until first started
	Finished       time.Time // zero until terminal
	Metrics        json.RawMessage
	// DataFingerprint identifies the exact candles a completed run read
	// (empty before completion).
	DataFingerprint string
}

// Artifact is a file a run produced.
type Artifact struct {
	Name      string
	MediaType string
	Size      int64
	SHA256    string
	// Content is the artifact itself: given to Complete, and returned by
	// ArtifactContent (Artifacts leaves it nil).
	Content []byte
}

// Step is one recorded step of a run's workflow.
type Step struct {
	Name     string
	Status   Status // running, completed or failed
	Started  time.Time
	Finished time.Time
	Error    string
	// Detail says what the step did, for people (e.g. which candles it
	// downloaded); empty for most steps.
	Detail string
}

// FinishFunc is called in the transaction that moves a run into a terminal
// status (completed, failed, dead_letter, cancelled), with the run as that
// transaction stored it. Its error rolls the transition back.
type FinishFunc func(ctx context.Context, tx *db.Tx, r Run) error

// Store keeps runs in a database.
type Store struct {
	db          *db.DB
	clock       clock.Clock
	maxAttempts int
	log         *slog.Logger
	onFinish    FinishFunc
	// objects is where Complete writes artifacts; dbObjects the database's
	// store, which refs of artifacts written there name.
	objects   objstore.Store
	dbObjects *objstore.DB
}

// New returns a Store. maxAttempts bounds retryable failures: a run that
// fails retryably after maxAttempts starts goes to dead_letter. clk stamps
// the runs' times (nil: the system clock).
func New(d *db.DB, clk clock.Clock, maxAttempts int, log *slog.Logger) *Store {
	if maxAttempts < 1 {
		maxAttempts = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dbo := objstore.NewDB(d)
	return &Store{db: d, clock: clock.Or(clk), maxAttempts: maxAttempts, log: log, objects: dbo, dbObjects: dbo}
}

// WithArtifactStore returns a Store like s that writes the artifacts of
// the runs it completes to o (nil: the database) instead of the
// database. It still reads artifacts the database holds; an artifact in
// another object store is an error naming it.
func (s *Store) WithArtifactStore(o objstore.Store) *Store {
	c := *s
	c.objects = o
	if o == nil {
		c.objects = s.dbObjects
	}
	return &c
}

// MaxAttempts is how many times a run is started before a retryable
// failure dead-letters it. The job queue gives its jobs the same limit.
func (s *Store) MaxAttempts() int { return s.maxAttempts }

// OnFinish returns a Store like s (same database and settings) that calls
// fn on every transition into a terminal status, in its transaction. The
// job queue uses it to enqueue a run's webhook event atomically with the
// run's outcome.
func (s *Store) OnFinish(fn FinishFunc) *Store {
	c := *s
	c.onFinish = fn
	return &c
}

func normJSON(raw json.RawMessage, empty string) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return empty, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// requestHash is the SHA-256 of the spec's canonical JSON: map keys sorted
// (encoding/json does), params and config compacted.
func requestHash(spec RunSpec) string {
	b, _ := json.Marshal(spec)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Create stores a queued run for the principal's tenant, as a child of
// spec.Parent when set (a run of the same tenant, else ErrNotFound). With a non-empty
// idempotency key, a second Create with the same key and the same spec
// returns the first run (created false); with another spec it fails with
// ErrConflict.
func (s *Store) Create(ctx context.Context, p tenancy.Principal, spec RunSpec, idempotencyKey string) (Run, bool, error) {
	return s.CreateWith(ctx, p, spec, idempotencyKey, nil)
}

// CreateWith is Create with more writes in the new run's transaction: when
// a run is inserted (not when an idempotent repeat finds one), inTx runs in
// the same transaction, and its error rolls the run back. The job queue
// uses it to enqueue the run's job atomically with the run.
func (s *Store) CreateWith(ctx context.Context, p tenancy.Principal, spec RunSpec, idempotencyKey string, inTx func(tx *db.Tx, r Run) error) (Run, bool, error) {
	if spec.Kind == "" {
		spec.Kind = KindBacktest
	}
	if !slices.Contains([]string{KindBacktest, KindStudy, KindDownload, KindWalkForward}, spec.Kind) {
		return Run{}, false, fmt.Errorf("create run: unknown kind %q (want %q, %q, %q or %q)", spec.Kind, KindBacktest, KindStudy, KindDownload, KindWalkForward)
	}
	if strings.TrimSpace(spec.Strategy) == "" && spec.Kind != KindDownload {
		return Run{}, false, errors.New("create run: no strategy given")
	}
	if err := checkSpecText(spec, idempotencyKey); err != nil {
		return Run{}, false, fmt.Errorf("create run: %w", err)
	}
	params, err := normJSON(spec.Params, "{}")
	if err != nil {
		return Run{}, false, fmt.Errorf("create run: params are not valid JSON: %w", err)
	}
	config, err := normJSON(spec.Config, "{}")
	if err != nil {
		return Run{}, false, fmt.Errorf("create run: config is not valid JSON: %w", err)
	}
	spec.Params, spec.Config = json.RawMessage(params), json.RawMessage(config)
	if spec.Tags == nil {
		spec.Tags = map[string]string{}
	}
	tags, _ := json.Marshal(spec.Tags)
	hash := requestHash(spec)
	now := s.clock.Now()
	r := Run{ID: db.NewID("run", now), Tenant: p.Tenant, CreatedBy: p.User, Spec: spec, IdempotencyKey: idempotencyKey, Status: Queued, Created: now}
	var key, by, parent any
	if idempotencyKey != "" {
		key = idempotencyKey
	}
	if spec.Parent != "" {
		parent = spec.Parent
	}
	if p.User != "" {
		by = p.User
	}

	var existing *Run
	insert := func(tx *db.Tx) error {
		if key != nil {
			old, oldHash, err := s.byKey(ctx, tx, p.Tenant, idempotencyKey)
			if err == nil {
				if oldHash != hash {
					return fmt.Errorf("key %q: %w", idempotencyKey, ErrConflict)
				}
				existing = &old
				return nil
			}
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if parent != nil {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE id = ? AND tenant_id = ?`, spec.Parent, p.Tenant).Scan(&n); err != nil {
				return fmt.Errorf("read parent run: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("parent run %s: %w", spec.Parent, ErrNotFound)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO runs (id, tenant_id, created_by, kind, status, strategy, params, config, fingerprint, idempotency_key, request_hash, created_at, tags, parent_id, strategy_version, code_sha256)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, p.Tenant, by, spec.Kind, string(Queued), spec.Strategy, params, config, spec.Fingerprint, key, hash, now.UnixMilli(), string(tags), parent,
			spec.StrategyVersion, spec.CodeSHA256); err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
		if err := db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "run.create", Target: r.ID, At: now,
			Detail: map[string]string{"strategy": spec.Strategy, "idempotency_key": idempotencyKey}}); err != nil {
			return err
		}
		if inTx != nil {
			return inTx(tx, r)
		}
		return nil
	}
	err = s.db.InTx(ctx, insert)
	if err != nil && key != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
		// A concurrent Create with the same key may have won the unique
		// index: look again, and answer as if we had come second (the same
		// run, or ErrConflict for another request).
		existing = nil
		if err2 := s.db.InTx(ctx, insert); err2 == nil || errors.Is(err2, ErrConflict) {
			err = err2
		}
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("create run: %w", err)
	}
	if existing != nil {
		return *existing, false, nil
	}
	return r, true, nil
}

// checkSpecText refuses text no database should get (CheckText) in the
// fields of a spec that are names, keys or tags, naming the field.
func checkSpecText(spec RunSpec, idempotencyKey string) error {
	check := func(field, value string) error {
		if err := CheckText(value); err != nil {
			return fmt.Errorf("%s %q: %w", field, value, err)
		}
		return nil
	}
	err := errors.Join(check("kind", spec.Kind), check("strategy", spec.Strategy), check("fingerprint", spec.Fingerprint),
		check("idempotency key", idempotencyKey), check("parent", spec.Parent), check("code hash", spec.CodeSHA256))
	if spec.StrategyVersion < 0 {
		err = errors.Join(err, fmt.Errorf("strategy version %d: %w: negative", spec.StrategyVersion, ErrInvalidText))
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Tags)) {
		err = errors.Join(err, check("tag key", k), check("tag "+strconv.Quote(k), spec.Tags[k]))
	}
	return err
}

// storableID reports whether id can name anything stored: an id that
// Create would refuse finds nothing, on either database.
func storableID(ids ...string) bool {
	for _, id := range ids {
		if CheckText(id) != nil {
			return false
		}
	}
	return true
}

const runColumns = `id, tenant_id, created_by, kind, status, strategy, params, config, fingerprint, idempotency_key, progress, attempts, error, created_at, started_at, finished_at, metrics, tags, data_fingerprint, parent_id, strategy_version, code_sha256`

func scanRun(sc db.Scanner, extra ...any) (Run, error) {
	var (
		r                    Run
		by, key, metrics     sql.NullString
		parent               sql.NullString
		params, config, tags string
		status               string
		created              int64
		started, finished    sql.NullInt64
	)
	dest := append([]any{&r.ID, &r.Tenant, &by, &r.Spec.Kind, &status, &r.Spec.Strategy, &params, &config, &r.Spec.Fingerprint, &key,
		&r.Progress, &r.Attempts, &r.Error, &created, &started, &finished, &metrics, &tags, &r.DataFingerprint, &parent, &r.Spec.StrategyVersion, &r.Spec.CodeSHA256}, extra...)
	if err := sc.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Run{}, ErrNotFound
		}
		return Run{}, err
	}
	r.CreatedBy, r.IdempotencyKey, r.Status, r.Spec.Parent = by.String, key.String, Status(status), parent.String
	r.Spec.Params, r.Spec.Config = json.RawMessage(params), json.RawMessage(config)
	if err := json.Unmarshal([]byte(tags), &r.Spec.Tags); err != nil {
		return Run{}, fmt.Errorf("run %s: bad stored tags: %w", r.ID, err)
	}
	if metrics.Valid {
		r.Metrics = json.RawMessage(metrics.String)
	}
	r.Created = time.UnixMilli(created)
	if started.Valid {
		r.Started = time.UnixMilli(started.Int64)
	}
	if finished.Valid {
		r.Finished = time.UnixMilli(finished.Int64)
	}
	return r, nil
}

func (s *Store) byKey(ctx context.Context, tx *db.Tx, tenant, key string) (Run, string, error) {
	var hash string
	r, err := scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+`, request_hash FROM runs WHERE tenant_id = ? AND idempotency_key = ?`, tenant, key), &hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Run{}, "", fmt.Errorf("look up idempotency key: %w", err)
	}
	return r, hash, err
}

// Get returns the principal's tenant's run id; another tenant's run is
// ErrNotFound.
func (s *Store) Get(ctx context.Context, p tenancy.Principal, id string) (Run, error) {
	if !storableID(id) {
		return Run{}, fmt.Errorf("get run %q: %w", id, ErrNotFound)
	}
	r, err := scanRun(s.db.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ? AND tenant_id = ?`, id, p.Tenant))
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", id, err)
	}
	return r, nil
}

// Filter narrows List; empty fields match everything.
type Filter struct {
	Status   Status
	Kind     string
	Strategy string
	// Tags: only runs carrying every one of these tags with these values.
	Tags map[string]string
	// Parent: only the children of this run.
	Parent string
	// StrategyVersion: only runs of this registry version (of Strategy).
	StrategyVersion int
	// CreatedFrom and CreatedTo: only runs created at or after From and
	// before To (zero: that side open).
	CreatedFrom, CreatedTo time.Time
}

// Page is one page of List.
type Page struct {
	Runs []Run
	Next string // cursor for the next page; empty on the last
}

// List returns the tenant's runs newest first, limit at a time. The cursor
// is the position (creation time, id) of the last run seen, so runs
// created meanwhile never shift or repeat later pages.
func (s *Store) List(ctx context.Context, p tenancy.Principal, f Filter, cursor string, limit int) (Page, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if !storableID(string(f.Status), f.Strategy, f.Parent) || !storableID(slices.Collect(maps.Keys(f.Tags))...) || !storableID(slices.Collect(maps.Values(f.Tags))...) {
		// No stored run holds such text (Create refuses it).
		return Page{}, nil
	}
	q := `SELECT ` + runColumns + ` FROM runs WHERE tenant_id = ?`
	args := []any{p.Tenant}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.Strategy != "" {
		q += ` AND strategy = ?`
		args = append(args, f.Strategy)
	}
	if f.StrategyVersion > 0 {
		q += ` AND strategy_version = ?`
		args = append(args, f.StrategyVersion)
	}
	if !f.CreatedFrom.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, f.CreatedFrom.UnixMilli())
	}
	if !f.CreatedTo.IsZero() {
		q += ` AND created_at < ?`
		args = append(args, f.CreatedTo.UnixMilli())
	}
	if f.Parent != "" {
		q += ` AND parent_id = ?`
		args = append(args, f.Parent)
	}
	if len(f.Tags) > 0 {
		if s.db.Dialect() == db.Postgres {
			want, err := json.Marshal(f.Tags)
			if err != nil {
				return Page{}, fmt.Errorf("list runs: %w", err)
			}
			q += ` AND tags::jsonb @> ?::jsonb`
			args = append(args, string(want))
		} else {
			for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
				q += ` AND EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.key = ? AND json_each.value = ?)`
				args = append(args, k, f.Tags[k])
			}
		}
	}
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, fmt.Errorf("list runs: %w", err)
		}
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, id)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	var page Page
	var err error
	if page.Runs, err = db.Collect(ctx, s.db, func(sc db.Scanner) (Run, error) { return scanRun(sc) }, q, args...); err != nil {
		return Page{}, fmt.Errorf("list runs: %w", err)
	}
	if len(page.Runs) > limit {
		page.Runs = page.Runs[:limit]
		last := page.Runs[limit-1]
		page.Next = encodeCursor(last.Created.UnixMilli(), last.ID)
	}
	return page, nil
}

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if at, id, ok := strings.Cut(string(b), ":"); ok {
			if n, err := strconv.ParseInt(at, 10, 64); err == nil && id != "" && storableID(id) {
				return n, id, nil
			}
		}
	}
	return 0, "", fmt.Errorf("%w %q", ErrBadCursor, c)
}

// CountByStatus returns how many runs of every tenant are in each status
// (statuses without runs are absent), for the operator's metrics.
func (s *Store) CountByStatus(ctx context.Context) (map[string]int, error) {
	out, err := s.db.Counts(ctx, `SELECT status, COUNT(*) FROM runs GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count runs by status: %w", err)
	}
	return out, nil
}
