package deploy

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// State is where a deployment is in its life.
type State string

const (
	Starting State = "starting"
	Running  State = "running"
	Paused   State = "paused"
	Stopped  State = "stopped"
	Failed   State = "failed"
)

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return s == Stopped || s == Failed }

// Mode is paper (the simulator's money) or live (real money).
type Mode string

const (
	Paper Mode = "paper"
	Live  Mode = "live"
)

var (
	// ErrNotFound: no such deployment in the caller's tenant.
	ErrNotFound = errors.New("deployment not found")
	// ErrIllegalTransition: the deployment's state does not allow the change.
	ErrIllegalTransition = errors.New("illegal deployment state change")
	// ErrFenced: the lease was taken over by another runner (or released);
	// the write was refused and nothing changed.
	ErrFenced = errors.New("lease lost: another runner holds this deployment")
	// ErrInvalid: a field of a new deployment is out of range (the error
	// names it).
	ErrInvalid = errors.New("invalid deployment")
)

// FieldError is an ErrInvalid naming the field of a Spec (or of a request
// to create one) that is out of range.
type FieldError struct {
	Field string // strategy, version, mode, venue, account, pairs, timeframe, config …
	Why   string
}

func (e *FieldError) Error() string { return ErrInvalid.Error() + ": " + e.Field + " " + e.Why }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Invalid is a FieldError: field is out of range, why.
func Invalid(field, why string) error { return &FieldError{Field: field, Why: why} }

// Spec is what a caller asks to deploy.
type Spec struct {
	// Strategy, Version and CodeSHA256 are the registry's record of the
	// version (Version 0 and CodeSHA256 "" for a built-in).
	Strategy   string          `json:"strategy"`
	Version    int             `json:"version"`
	CodeSHA256 string          `json:"code_sha256"`
	Mode       Mode            `json:"mode"`
	Venue      string          `json:"venue"`
	Account    string          `json:"account"`
	Pairs      []string        `json:"pairs"`
	Timeframe  sdk.Timeframe   `json:"timeframe"`
	Config     json.RawMessage `json:"config,omitempty"`
}

// Validate names the first field out of range.
func (s Spec) Validate() error {
	bad := func(field, why string) error { return Invalid(field, why) }
	switch {
	case s.Strategy == "" || len(s.Strategy) > 200:
		return bad("strategy", "must be a name of 1 to 200 characters")
	case s.Version < 0:
		return bad("version", "must not be negative")
	case len(s.CodeSHA256) > 64:
		return bad("code_sha256", "is longer than a SHA-256")
	case s.Mode != Paper && s.Mode != Live:
		return bad("mode", "must be paper or live")
	case s.Venue == "" || len(s.Venue) > 100:
		return bad("venue", "must be a name of 1 to 100 characters")
	case s.Account == "" || len(s.Account) > 200:
		return bad("account", "must be a name of 1 to 200 characters")
	case len(s.Pairs) == 0 || len(s.Pairs) > 1000:
		return bad("pairs", "must list 1 to 1000 pairs")
	case !s.Timeframe.Valid():
		return bad("timeframe", fmt.Sprintf("%q is not a timeframe", s.Timeframe))
	}
	for i, p := range s.Pairs {
		if p == "" || len(p) > 50 || slices.Contains(s.Pairs[:i], p) {
			return bad("pairs", fmt.Sprintf("%q is empty, too long or listed twice", p))
		}
	}
	if c := bytes.TrimSpace(s.Config); len(c) > 0 && (c[0] != '{' || !json.Valid(c)) {
		return bad("config", "is not a JSON object")
	}
	return nil
}

// Deployment is a stored deployment.
type Deployment struct {
	ID        string
	Tenant    string
	CreatedBy string
	Spec      Spec
	State     State
	Error     string // why it failed
	Created   time.Time
	Updated   time.Time
	// The lease: the runner holding it (empty: none), until when, and
	// its fencing token.
	Runner       string
	LeaseToken   int64
	LeaseExpires time.Time
	Heartbeat    time.Time // the last renewal; zero before the first
	LastTick     time.Time // the last candle close the runner acted on
	// Flatten says a stop that closes the open trades first was asked
	// (StopFlatten): the runner closes them at the market, then stops
	// the deployment (MarkStopped).
	Flatten bool
	// StopAsked says the kill switch (StopAll) asked the runner to cancel
	// the open orders (and flatten, with Flatten) and stop at once.
	StopAsked bool
	// Risk is the deployment's risk state as its runner last recorded it.
	Risk RiskState
	// Cost is what its runners measured of it.
	Cost Cost
}

// Cost is a deployment's use of resources, as its runners measured it
// over its life (every runner that held it adds to it).
type Cost struct {
	// CPU is the CPU time of its strategy runtime: a process strategy's
	// process, the calls into a wasm instance or a built-in.
	CPU time.Duration
	// PeakMemory is the most memory its strategy runtime held at once, in
	// bytes: a process's peak resident set, a wasm instance's linear
	// memory; 0 for a built-in (it shares the runner's heap).
	PeakMemory int64
	// VenueWeight is the request weight of the requests its runners sent
	// to the venue (Binance's REQUEST_WEIGHT), in total; VenueWeight1m the
	// weight the venue last reported used in its minute
	// (X-MBX-USED-WEIGHT-1M, counted per IP: all the deployments of the
	// runner's address). Both 0 on a venue that counts no weight.
	VenueWeight   int64
	VenueWeight1m int64
}

// Config is what a Store needs.
type Config struct {
	DB    *db.DB
	Clock clock.Clock // nil: the system clock
	Log   *slog.Logger
	// MaxLogLines is how many log lines a deployment keeps (default
	// 10,000; older lines are dropped); MaxLogBytes bounds one line's
	// message and attributes (default 4 KiB, longer ones are cut).
	MaxLogLines int
	MaxLogBytes int
}

// Store keeps deployments in the platform database.
type Store struct {
	db       *db.DB
	clock    clock.Clock
	log      *slog.Logger
	maxLines int
	maxBytes int
	commits  committer
}

// New returns a Store.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil {
		return nil, errors.New("deployment store: no database")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxLogLines <= 0 {
		cfg.MaxLogLines = 10_000
	}
	if cfg.MaxLogBytes <= 0 {
		cfg.MaxLogBytes = 4096
	}
	return &Store{db: cfg.DB, clock: clock.Or(cfg.Clock), log: cfg.Log, maxLines: cfg.MaxLogLines, maxBytes: cfg.MaxLogBytes}, nil
}

const deploymentColumns = `id, tenant_id, COALESCE(created_by, ''), strategy, strategy_version, code_sha256, mode, venue, account, pairs, timeframe, config,
	state, error, created_at, updated_at, lease_runner, lease_token, lease_expires_at, heartbeat_at, last_tick_at, flatten, stop_asked, risk_state,
	cpu_ms, peak_memory, venue_weight, venue_weight_1m`

func scanDeployment(sc interface{ Scan(...any) error }) (Deployment, error) {
	var d Deployment
	var pairs, cfg, mode, tf, state, rs string
	var created, updated, expires, hb, tick, flatten, stopAsked, cpu int64
	err := sc.Scan(&d.ID, &d.Tenant, &d.CreatedBy, &d.Spec.Strategy, &d.Spec.Version, &d.Spec.CodeSHA256, &mode, &d.Spec.Venue, &d.Spec.Account,
		&pairs, &tf, &cfg, &state, &d.Error, &created, &updated, &d.Runner, &d.LeaseToken, &expires, &hb, &tick, &flatten, &stopAsked, &rs,
		&cpu, &d.Cost.PeakMemory, &d.Cost.VenueWeight, &d.Cost.VenueWeight1m)
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, ErrNotFound
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("read deployment: %w", err)
	}
	if err := json.Unmarshal([]byte(pairs), &d.Spec.Pairs); err != nil {
		return Deployment{}, fmt.Errorf("read deployment %s: pairs: %w", d.ID, err)
	}
	d.Spec.Mode, d.Spec.Timeframe, d.State = Mode(mode), sdk.Timeframe(tf), State(state)
	if cfg != "" {
		d.Spec.Config = json.RawMessage(cfg)
	}
	d.Created, d.Updated = time.UnixMilli(created), time.UnixMilli(updated)
	d.LeaseExpires, d.Heartbeat, d.LastTick = msTime(expires), msTime(hb), msTime(tick)
	d.Flatten, d.StopAsked = flatten != 0, stopAsked != 0
	if rs != "" {
		if err := json.Unmarshal([]byte(rs), &d.Risk); err != nil {
			return Deployment{}, fmt.Errorf("read deployment %s: risk state: %w", d.ID, err)
		}
	}
	d.Cost.CPU = time.Duration(cpu) * time.Millisecond
	return d, nil
}

// msTime is Unix ms as a time, 0 as the zero time.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Create stores a new deployment of the principal's tenant, in state
// starting and unheld, so the next runner to Acquire takes it.
func (s *Store) Create(ctx context.Context, p tenancy.Principal, spec Spec) (Deployment, error) {
	if err := spec.Validate(); err != nil {
		return Deployment{}, fmt.Errorf("create deployment: %w", err)
	}
	var d Deployment
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		d, err = insert(ctx, tx, p, spec, s.clock.Now())
		if err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "deployment.create", Target: d.ID, At: d.Created,
			Detail: map[string]any{"strategy": spec.Strategy, "version": spec.Version, "mode": spec.Mode, "venue": spec.Venue}})
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("create deployment: %w", err)
	}
	return d, nil
}

// insert stores a new deployment of spec (validated) in state starting.
func insert(ctx context.Context, tx *db.Tx, p tenancy.Principal, spec Spec, now time.Time) (Deployment, error) {
	cfg := ""
	if len(bytes.TrimSpace(spec.Config)) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, spec.Config); err != nil {
			return Deployment{}, fmt.Errorf("%w: config: %w", ErrInvalid, err)
		}
		cfg = buf.String()
	}
	pairs, _ := json.Marshal(spec.Pairs)
	id := db.NewID("dep", now)
	var createdBy any
	if p.User != "" {
		createdBy = p.User
	}
	return scanDeployment(tx.QueryRow(ctx, `INSERT INTO deployments (id, tenant_id, created_by, strategy, strategy_version, code_sha256, mode, venue, account,
		pairs, timeframe, config, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+deploymentColumns,
		id, p.Tenant, createdBy, spec.Strategy, spec.Version, spec.CodeSHA256, string(spec.Mode), spec.Venue, spec.Account,
		string(pairs), string(spec.Timeframe), cfg, string(Starting), now.UnixMilli(), now.UnixMilli()))
}

// Get returns a deployment of the principal's tenant.
func (s *Store) Get(ctx context.Context, p tenancy.Principal, id string) (Deployment, error) {
	d, err := scanDeployment(s.db.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ? AND tenant_id = ?`, id, p.Tenant))
	if err != nil {
		return Deployment{}, fmt.Errorf("deployment %s: %w", id, err)
	}
	return d, nil
}

// List returns the tenant's deployments, newest first.
func (s *Store) List(ctx context.Context, p tenancy.Principal) ([]Deployment, error) {
	out, err := db.Collect(ctx, s.db, scanDeployment, `SELECT `+deploymentColumns+` FROM deployments WHERE tenant_id = ? ORDER BY created_at DESC, id DESC`, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return out, nil
}

// transitions lists, per target state, the states it may be reached from.
var transitions = map[State][]State{
	Running: {Starting, Paused},
	Paused:  {Running},
	Stopped: {Starting, Running, Paused},
	Failed:  {Starting, Running, Paused},
}

// setState moves deployment id to state to, if its current state allows
// it, in tx: the UPDATE names the state it read, so of two racing changes
// exactly one is recorded. A terminal state releases the lease.
func setState(ctx context.Context, tx *db.Tx, id, tenant string, to State, why string, now time.Time) (from State, err error) {
	var cur string
	err = tx.QueryRow(ctx, `SELECT state FROM deployments WHERE id = ? AND tenant_id = ?`, id, tenant).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read deployment: %w", err)
	}
	if !slices.Contains(transitions[to], State(cur)) {
		return State(cur), fmt.Errorf("%w: %s is %s, cannot become %s", ErrIllegalTransition, id, cur, to)
	}
	set := `state = ?, error = ?, updated_at = ?`
	if to.Terminal() {
		set += `, lease_runner = '', lease_expires_at = 0`
	}
	res, err := tx.Exec(ctx, `UPDATE deployments SET `+set+` WHERE id = ? AND state = ?`, string(to), why, now.UnixMilli(), id, cur)
	if err != nil {
		return State(cur), fmt.Errorf("update deployment: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return State(cur), fmt.Errorf("%w: %s changed meanwhile", ErrIllegalTransition, id)
	}
	return State(cur), nil
}

// change applies a user's state change (stop, pause, resume), audited.
func (s *Store) change(ctx context.Context, p tenancy.Principal, id string, to State, action string) (Deployment, error) {
	now := s.clock.Now()
	var d Deployment
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		from, err := setState(ctx, tx, id, p.Tenant, to, "", now)
		if err != nil {
			return err
		}
		if d, err = scanDeployment(tx.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ?`, id)); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: action, Target: id, At: now,
			Detail: map[string]any{"from": from, "to": to}})
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("%s %s: %w", strings.TrimPrefix(action, "deployment."), id, err)
	}
	return d, nil
}

// Stop stops a deployment for good (its runner stops at its next check;
// closing positions first is the runner's, before it calls Stop).
func (s *Store) Stop(ctx context.Context, p tenancy.Principal, id string) (Deployment, error) {
	return s.change(ctx, p, id, Stopped, "deployment.stop")
}

// StopFlatten asks for a stop that closes the deployment's open trades
// first (stop --flatten): it records the request (Deployment.Flatten) on a
// deployment that may still stop, audited; the runner holding it closes
// the trades at the market at its next tick and then stops it
// (MarkStopped). The state is unchanged until then.
func (s *Store) StopFlatten(ctx context.Context, p tenancy.Principal, id string) (Deployment, error) {
	now := s.clock.Now()
	var d Deployment
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT state FROM deployments WHERE id = ? AND tenant_id = ?`, id, p.Tenant).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read deployment: %w", err)
		}
		if !slices.Contains(transitions[Stopped], State(cur)) {
			return fmt.Errorf("%w: %s is %s, cannot become %s", ErrIllegalTransition, id, cur, Stopped)
		}
		res, err := tx.Exec(ctx, `UPDATE deployments SET flatten = 1, updated_at = ? WHERE id = ? AND state = ?`, now.UnixMilli(), id, cur)
		if err != nil {
			return fmt.Errorf("update deployment: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: %s changed meanwhile", ErrIllegalTransition, id)
		}
		if d, err = scanDeployment(tx.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ?`, id)); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "deployment.stop_flatten", Target: id, At: now,
			Detail: map[string]any{"from": cur}})
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("stop %s: %w", id, err)
	}
	return d, nil
}

// Pause keeps a running deployment from opening trades until Resume; its
// open trades are still managed (stop-loss, exits).
func (s *Store) Pause(ctx context.Context, p tenancy.Principal, id string) (Deployment, error) {
	return s.change(ctx, p, id, Paused, "deployment.pause")
}

// Resume lets a paused deployment trade again.
func (s *Store) Resume(ctx context.Context, p tenancy.Principal, id string) (Deployment, error) {
	return s.change(ctx, p, id, Running, "deployment.resume")
}
