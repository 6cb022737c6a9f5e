// Package registry owns the strategy registry: a tenant's named strategies
// and their immutable, numbered versions, stored in the platform database.
// A version is the canonical archive of the uploaded files (Canonical: a
// deterministic tar), content-addressed by its SHA-256, with the runtime
// that runs it (python or wasm), the file that is the strategy, the
// sdk.Spec the code declared when started once (SpecReader), its author,
// time, message and tags, and its stage (none, staging, production,
// archived, as in MLflow's model registry). Pushing identical content
// returns the existing version; Promote moves a version between stages
// (at most one in production per name; the previous one is archived),
// audited with who and why; Rollback brings back the previous production
// version; Delete refuses a version a run used. References (Ref: NAME,
// NAME@3, NAME@production, NAME@staging) resolve per tenant, cached, and
// Materialise writes a version's files once into a read-only folder named
// by its hash, for strategyref to run. Another tenant's names and versions
// are ErrNotFound.
package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// Errors of the registry beyond the upload's.
var (
	// ErrNotFound: no such name or version in the tenant (404).
	ErrNotFound = errors.New("not found")
	// ErrInUse: the version is recorded by a run and cannot be deleted (409).
	ErrInUse = errors.New("version in use")
	// ErrConflict: the change is not possible in the version's state (409).
	ErrConflict = errors.New("conflict")
)

// SpecReader reads the spec a version's code declares, from its files in
// dir (entry is the strategy's file), by starting it once in runtime
// ("python", "wasm"). strategyref.Specs is the one for process runtimes.
type SpecReader interface {
	ReadSpec(ctx context.Context, runtime, dir, entry string) (sdk.Spec, error)
}

// Config is what a Registry needs.
type Config struct {
	DB *db.DB
	// Dir holds the materialised versions, one read-only folder per
	// archive hash (<home>/strategies).
	Dir string
	// Specs starts pushed code once for its spec; nil: Push refuses code
	// (this process runs no tenant code).
	Specs  SpecReader
	Limits Limits
	// CacheTTL bounds how long a resolved NAME, NAME@production or
	// NAME@staging is reused (default 2 s; this process's own changes
	// invalidate it at once, other processes' after at most this long).
	CacheTTL time.Duration
	Clock    clock.Clock
	Log      *slog.Logger
}

// Registry is the strategy registry on a database.
type Registry struct {
	db     *db.DB
	dir    string
	specs  SpecReader
	limits Limits
	ttl    time.Duration
	clock  clock.Clock
	log    *slog.Logger

	mu    sync.Mutex
	cache map[cacheKey]cached
}

type cacheKey struct{ tenant, ref string }

type cached struct {
	v  Version
	at time.Time
}

// maxCached bounds the resolve cache; it is emptied when full.
const maxCached = 10000

// New returns a registry.
func New(cfg Config) (*Registry, error) {
	if cfg.DB == nil {
		return nil, errors.New("strategy registry: no database")
	}
	if cfg.Dir == "" {
		return nil, errors.New("strategy registry: no folder for the versions' files")
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Registry{db: cfg.DB, dir: cfg.Dir, specs: cfg.Specs, limits: cfg.Limits.withDefaults(), ttl: cfg.CacheTTL,
		clock: clock.Or(cfg.Clock), log: cfg.Log, cache: map[cacheKey]cached{}}, nil
}

// Version is one stored version of a strategy (without its files).
type Version struct {
	Name    string
	Number  int
	SHA256  string // of the canonical archive
	Runtime Runtime
	Entry   string // the file that is the strategy
	Spec    sdk.Spec
	Author  string // user id; empty for the system
	Created time.Time
	Message string
	Tags    map[string]string
	Stage   Stage
	Size    int64 // bytes of the files
	Files   int
}

// Ref is the version's exact reference, NAME@N.
func (v Version) Ref() string { return fmt.Sprintf("%s@%d", v.Name, v.Number) }

// PushOptions describe a pushed version.
type PushOptions struct {
	Message string
	Tags    map[string]string
	// Runtime: "" tells it from the entry file (.py, .wasm).
	Runtime string
}

// Push stores files as the next version of name for the principal's
// tenant, or returns the version that already holds exactly these files
// (created false). The code is started once for its spec, which must
// validate. Nothing is stored when anything fails.
func (r *Registry) Push(ctx context.Context, p tenancy.Principal, name string, files []File, o PushOptions) (v Version, created bool, err error) {
	if err := CheckName(name); err != nil {
		return Version{}, false, err
	}
	if err := checkTags(o.Tags); err != nil {
		return Version{}, false, err
	}
	if err := checkText("message", o.Message, 4096); err != nil {
		return Version{}, false, err
	}
	files, err = normalise(slices.Clone(files))
	if err != nil {
		return Version{}, false, err
	}
	var size int64
	for _, f := range files {
		size += int64(len(f.Data))
	}
	if len(files) > r.limits.MaxFiles {
		return Version{}, false, fmt.Errorf("%w: more than %d files", ErrTooLarge, r.limits.MaxFiles)
	}
	if size > r.limits.MaxBytes {
		return Version{}, false, fmt.Errorf("%w: more than %d bytes in all", ErrTooLarge, r.limits.MaxBytes)
	}
	runtime, entry, err := entryOf(files, o.Runtime)
	if err != nil {
		return Version{}, false, err
	}
	archive, err := Canonical(files)
	if err != nil {
		return Version{}, false, err
	}
	sum := sha256.Sum256(archive)
	sha := hex.EncodeToString(sum[:])
	if old, err := r.bySHA(ctx, p.Tenant, name, sha); err == nil {
		return old, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Version{}, false, err
	}

	if r.specs == nil {
		return Version{}, false, fmt.Errorf("%w: this server runs no tenant code, so it cannot read the strategy's spec", ErrInvalid)
	}
	dir, made, err := r.materialise(sha, files)
	if err != nil {
		return Version{}, false, err
	}
	spec, err := r.specs.ReadSpec(ctx, string(runtime), dir, entry)
	if err == nil {
		err = spec.Validate()
	}
	if err != nil && made {
		// Files of code that is not stored do not stay on disk.
		removeTree(dir)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Version{}, false, fmt.Errorf("push %s: %w", name, ctx.Err())
		}
		return Version{}, false, fmt.Errorf("%w: %s: %w", ErrInvalid, entry, err)
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return Version{}, false, fmt.Errorf("push %s: encode the spec: %w", name, err)
	}
	tags := o.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	tagsJSON, _ := json.Marshal(tags)
	now := r.clock.Now()
	v = Version{Name: name, SHA256: sha, Runtime: runtime, Entry: entry, Spec: spec, Author: p.User, Created: time.UnixMilli(now.UnixMilli()),
		Message: o.Message, Tags: tags, Stage: StageNone, Size: size, Files: len(files)}
	var existing *Version
	insert := func(tx *db.Tx) error {
		existing = nil
		if _, err := tx.Exec(ctx, `INSERT INTO strategies (tenant_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id, name) DO NOTHING`, p.Tenant, name, now.UnixMilli()); err != nil {
			return fmt.Errorf("insert strategy: %w", err)
		}
		// Pushes of one name take turns from here (the row's lock on
		// PostgreSQL; SQLite has one writer anyway), so each sees the
		// versions the one before it stored.
		if err := lockName(ctx, tx, p.Tenant, name); err != nil {
			return err
		}
		if old, err := scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM strategy_versions WHERE tenant_id = ? AND name = ? AND sha256 = ?`, p.Tenant, name, sha)); err == nil {
			existing = &old
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM strategy_versions WHERE tenant_id = ? AND name = ?`, p.Tenant, name).Scan(&v.Number); err != nil {
			return fmt.Errorf("number the version: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO strategy_versions (tenant_id, name, number, sha256, runtime, entry, spec, created_by, created_at, message, tags, stage, size, files, archive)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Tenant, name, v.Number, sha, string(runtime), entry, string(specJSON), nullable(p.User), now.UnixMilli(), o.Message, string(tagsJSON), string(StageNone), size, len(files), archive); err != nil {
			return fmt.Errorf("insert version: %w", err)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "strategy.push", Target: v.Ref(), At: now,
			Detail: map[string]any{"sha256": sha, "runtime": runtime, "message": o.Message}})
	}
	err = r.db.InTx(ctx, insert)
	if err != nil {
		return Version{}, false, fmt.Errorf("push %s: %w", name, err)
	}
	r.invalidate(p.Tenant, name)
	if existing != nil {
		return *existing, false, nil
	}
	return v, true, nil
}

// lockName makes the changes of one name's versions take turns: the
// strategy's row is locked until tx ends (on PostgreSQL; SQLite has one
// writer at a time anyway).
func lockName(ctx context.Context, tx *db.Tx, tenant, name string) error {
	if _, err := tx.Exec(ctx, `UPDATE strategies SET created_at = created_at WHERE tenant_id = ? AND name = ?`, tenant, name); err != nil {
		return fmt.Errorf("lock strategy %s: %w", name, err)
	}
	return nil
}

// entryOf finds the strategy's file and runtime: strategy.py or
// strategy.wasm at the top, else the only top-level .py or .wasm file.
func entryOf(files []File, want string) (Runtime, string, error) {
	var rt Runtime
	if want != "" {
		var err error
		if rt, err = ParseRuntime(want); err != nil {
			return "", "", err
		}
	}
	byRuntime := map[Runtime][]string{}
	for _, f := range files {
		if strings.Contains(f.Name, "/") {
			continue
		}
		switch path.Ext(f.Name) {
		case ".py":
			byRuntime[Python] = append(byRuntime[Python], f.Name)
		case ".wasm":
			byRuntime[Wasm] = append(byRuntime[Wasm], f.Name)
		}
	}
	pick := func(rt Runtime) (string, bool) {
		names := byRuntime[rt]
		if slices.Contains(names, "strategy."+map[Runtime]string{Python: "py", Wasm: "wasm"}[rt]) {
			return "strategy." + map[Runtime]string{Python: "py", Wasm: "wasm"}[rt], true
		}
		if len(names) == 1 {
			return names[0], true
		}
		return "", false
	}
	if rt != "" {
		if e, ok := pick(rt); ok {
			return rt, e, nil
		}
	} else {
		var found []Runtime
		var entry string
		for _, cand := range []Runtime{Python, Wasm} {
			if e, ok := pick(cand); ok {
				found, entry = append(found, cand), e
			}
		}
		if len(found) == 1 {
			return found[0], entry, nil
		}
	}
	return "", "", fmt.Errorf("%w: cannot tell which file is the strategy: put it at the top as strategy.py (Python) or strategy.wasm (WebAssembly)", ErrInvalid)
}

const versionColumns = `name, number, sha256, runtime, entry, spec, created_by, created_at, message, tags, stage, size, files`

func scanVersion(sc interface{ Scan(...any) error }) (Version, error) {
	var (
		v                          Version
		runtime, spec, tags, stage string
		by                         sql.NullString
		created                    int64
	)
	if err := sc.Scan(&v.Name, &v.Number, &v.SHA256, &runtime, &v.Entry, &spec, &by, &created, &v.Message, &tags, &stage, &v.Size, &v.Files); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Version{}, ErrNotFound
		}
		return Version{}, fmt.Errorf("read version: %w", err)
	}
	v.Runtime, v.Stage, v.Author, v.Created = Runtime(runtime), Stage(stage), by.String, time.UnixMilli(created)
	if err := json.Unmarshal([]byte(spec), &v.Spec); err != nil {
		return Version{}, fmt.Errorf("version %s: stored spec: %w", v.Ref(), err)
	}
	if err := json.Unmarshal([]byte(tags), &v.Tags); err != nil {
		return Version{}, fmt.Errorf("version %s: stored tags: %w", v.Ref(), err)
	}
	return v, nil
}

func (r *Registry) bySHA(ctx context.Context, tenant, name, sha string) (Version, error) {
	return scanVersion(r.db.QueryRow(ctx, `SELECT `+versionColumns+` FROM strategy_versions WHERE tenant_id = ? AND name = ? AND sha256 = ?`, tenant, name, sha))
}

// Names lists the names of the tenant's strategies, sorted.
func (r *Registry) Names(ctx context.Context, p tenancy.Principal) ([]string, error) {
	out, err := db.Collect(ctx, r.db, func(sc db.Scanner) (string, error) {
		var n string
		err := sc.Scan(&n)
		return n, err
	}, `SELECT DISTINCT name FROM strategy_versions WHERE tenant_id = ? ORDER BY name`, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("list strategies: %w", err)
	}
	return out, nil
}

// Versions lists the tenant's versions of name, oldest first.
func (r *Registry) Versions(ctx context.Context, p tenancy.Principal, name string) ([]Version, error) {
	if CheckName(name) != nil {
		return nil, fmt.Errorf("strategy %s: %w", quote(name), ErrNotFound)
	}
	out, err := db.Collect(ctx, r.db, scanVersion, `SELECT `+versionColumns+` FROM strategy_versions WHERE tenant_id = ? AND name = ? ORDER BY number`, p.Tenant, name)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("strategy %s: %w", name, ErrNotFound)
	}
	return out, nil
}

// Get returns the version ref names (NAME, NAME@3, NAME@production,
// NAME@staging), read from the database.
func (r *Registry) Get(ctx context.Context, p tenancy.Principal, ref string) (Version, error) {
	rf, err := ParseRef(ref)
	if err != nil {
		return Version{}, err
	}
	return r.get(ctx, r.db.QueryRow, p.Tenant, rf)
}

type queryRow func(ctx context.Context, q string, args ...any) *sql.Row

func (r *Registry) get(ctx context.Context, qr queryRow, tenant string, rf Ref) (Version, error) {
	q := `SELECT ` + versionColumns + ` FROM strategy_versions WHERE tenant_id = ? AND name = ?`
	args := []any{tenant, rf.Name}
	switch {
	case rf.Number > 0:
		q += ` AND number = ?`
		args = append(args, rf.Number)
	case rf.Stage != "":
		q += ` AND stage = ? ORDER BY number DESC LIMIT 1`
		args = append(args, string(rf.Stage))
	default:
		q += ` ORDER BY number DESC LIMIT 1`
	}
	v, err := scanVersion(qr(ctx, q, args...))
	if errors.Is(err, ErrNotFound) {
		if rf.Stage != "" {
			return Version{}, fmt.Errorf("strategy %s has no version in %s: %w", rf.Name, rf.Stage, ErrNotFound)
		}
		return Version{}, fmt.Errorf("strategy %s: %w", rf, ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("strategy %s: %w", rf, err)
	}
	return v, nil
}

// Resolve is Get through a cache: a numbered version is immutable; NAME
// and NAME@stage are reused for the cache's time to live, and this
// registry's own pushes, promotions and deletions invalidate them at once.
func (r *Registry) Resolve(ctx context.Context, tenant, ref string) (Version, error) {
	rf, err := ParseRef(ref)
	if err != nil {
		return Version{}, err
	}
	key := cacheKey{tenant, rf.String()}
	now := r.clock.Now()
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && (rf.Number > 0 || now.Sub(c.at) < r.ttl) {
		return c.v, nil
	}
	v, err := r.get(ctx, r.db.QueryRow, tenant, rf)
	if err != nil {
		return Version{}, err
	}
	r.mu.Lock()
	if len(r.cache) >= maxCached {
		clear(r.cache)
	}
	r.cache[key] = cached{v: v, at: now}
	r.mu.Unlock()
	return v, nil
}

func (r *Registry) invalidate(tenant, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.cache {
		if k.tenant == tenant && (k.ref == name || strings.HasPrefix(k.ref, name+"@")) {
			delete(r.cache, k)
		}
	}
}

// Files returns the files of the version ref names.
func (r *Registry) Files(ctx context.Context, p tenancy.Principal, ref string) (Version, []File, error) {
	v, err := r.Get(ctx, p, ref)
	if err != nil {
		return Version{}, nil, err
	}
	files, err := r.files(ctx, p.Tenant, v)
	return v, files, err
}

func (r *Registry) files(ctx context.Context, tenant string, v Version) ([]File, error) {
	var archive []byte
	if err := r.db.QueryRow(ctx, `SELECT archive FROM strategy_versions WHERE tenant_id = ? AND name = ? AND number = ?`, tenant, v.Name, v.Number).Scan(&archive); err != nil {
		return nil, fmt.Errorf("strategy %s: read its files: %w", v.Ref(), err)
	}
	if sum := sha256.Sum256(archive); hex.EncodeToString(sum[:]) != v.SHA256 {
		return nil, fmt.Errorf("strategy %s: the stored archive does not match its hash %s", v.Ref(), v.SHA256)
	}
	files, err := ReadArchive(archive, Limits{MaxFiles: v.Files, MaxBytes: v.Size})
	if err != nil {
		return nil, fmt.Errorf("strategy %s: stored archive: %w", v.Ref(), err)
	}
	return files, nil
}

// Promote moves the version ref names to stage, recording who (p) and why.
// Promoting to production archives the version that was in production.
func (r *Registry) Promote(ctx context.Context, p tenancy.Principal, ref string, stage Stage, reason string) (Version, error) {
	if _, err := ParseStage(string(stage)); err != nil {
		return Version{}, err
	}
	if err := checkText("reason", reason, 1000); err != nil {
		return Version{}, err
	}
	rf, err := ParseRef(ref)
	if err != nil {
		return Version{}, err
	}
	var v Version
	err = r.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lockName(ctx, tx, p.Tenant, rf.Name); err != nil {
			return err
		}
		var err error
		if v, err = r.get(ctx, tx.QueryRow, p.Tenant, rf); err != nil {
			return err
		}
		return r.setStage(ctx, tx, p, &v, stage, reason)
	})
	if err != nil {
		return Version{}, fmt.Errorf("promote %s: %w", ref, err)
	}
	r.invalidate(p.Tenant, rf.Name)
	return v, nil
}

// setStage moves v to stage in tx, the production one first to archived
// when v goes to production.
func (r *Registry) setStage(ctx context.Context, tx *db.Tx, p tenancy.Principal, v *Version, stage Stage, reason string) error {
	if v.Stage == stage {
		return fmt.Errorf("%s is already in %s: %w", v.Ref(), stage, ErrConflict)
	}
	if stage == StageProduction {
		cur, err := r.get(ctx, tx.QueryRow, p.Tenant, Ref{Name: v.Name, Stage: StageProduction})
		if err == nil {
			if err := r.change(ctx, tx, p, &cur, StageArchived, "replaced in production by "+v.Ref()); err != nil {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return r.change(ctx, tx, p, v, stage, reason)
}

func (r *Registry) change(ctx context.Context, tx *db.Tx, p tenancy.Principal, v *Version, stage Stage, reason string) error {
	now := r.clock.Now()
	if _, err := tx.Exec(ctx, `UPDATE strategy_versions SET stage = ? WHERE tenant_id = ? AND name = ? AND number = ?`, string(stage), p.Tenant, v.Name, v.Number); err != nil {
		return fmt.Errorf("set the stage of %s: %w", v.Ref(), err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO strategy_stage_changes (id, tenant_id, name, seq, number, from_stage, to_stage, changed_by, reason, at)
		VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM strategy_stage_changes WHERE tenant_id = ? AND name = ?), ?, ?, ?, ?, ?, ?)`,
		db.NewID("stg", now), p.Tenant, v.Name, p.Tenant, v.Name, v.Number, string(v.Stage), string(stage), nullable(p.User), reason, now.UnixMilli()); err != nil {
		return fmt.Errorf("record the stage change of %s: %w", v.Ref(), err)
	}
	if err := db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "strategy.stage", Target: v.Ref(), At: now,
		Detail: map[string]string{"from": string(v.Stage), "to": string(stage), "reason": reason}}); err != nil {
		return err
	}
	v.Stage = stage
	return nil
}

// Rollback puts back in production the version that was there before the
// current one (the current one is archived), recording who and why.
func (r *Registry) Rollback(ctx context.Context, p tenancy.Principal, name, reason string) (Version, error) {
	if err := checkText("reason", reason, 1000); err != nil {
		return Version{}, err
	}
	if CheckName(name) != nil {
		return Version{}, fmt.Errorf("strategy %s: %w", quote(name), ErrNotFound)
	}
	var v Version
	err := r.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lockName(ctx, tx, p.Tenant, name); err != nil {
			return err
		}
		cur, err := r.get(ctx, tx.QueryRow, p.Tenant, Ref{Name: name, Stage: StageProduction})
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%s has no version in production to roll back: %w", name, ErrConflict)
			}
			return err
		}
		var prev int
		err = tx.QueryRow(ctx, `SELECT number FROM strategy_stage_changes WHERE tenant_id = ? AND name = ? AND to_stage = ? AND number <> ? ORDER BY seq DESC LIMIT 1`,
			p.Tenant, name, string(StageProduction), cur.Number).Scan(&prev)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: no earlier production version than %s: %w", name, cur.Ref(), ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("find the previous production version: %w", err)
		}
		if v, err = r.get(ctx, tx.QueryRow, p.Tenant, Ref{Name: name, Number: prev}); err != nil {
			return err
		}
		if reason == "" {
			reason = "rollback from " + cur.Ref()
		}
		return r.setStage(ctx, tx, p, &v, StageProduction, reason)
	})
	if err != nil {
		return Version{}, fmt.Errorf("roll back %s: %w", name, err)
	}
	r.invalidate(p.Tenant, name)
	return v, nil
}

// StageChange is one recorded stage change.
type StageChange struct {
	Number   int
	From, To Stage
	By       string // user id
	Reason   string
	At       time.Time
}

// History lists the stage changes of name, oldest first.
func (r *Registry) History(ctx context.Context, p tenancy.Principal, name string) ([]StageChange, error) {
	out, err := db.Collect(ctx, r.db, func(sc db.Scanner) (StageChange, error) {
		var (
			c        StageChange
			from, to string
			by       sql.NullString
			at       int64
		)
		err := sc.Scan(&c.Number, &from, &to, &by, &c.Reason, &at)
		c.From, c.To, c.By, c.At = Stage(from), Stage(to), by.String, time.UnixMilli(at)
		return c, err
	}, `SELECT number, from_stage, to_stage, changed_by, reason, at FROM strategy_stage_changes WHERE tenant_id = ? AND name = ? ORDER BY seq`, p.Tenant, name)
	if err != nil {
		return nil, fmt.Errorf("stage history of %s: %w", name, err)
	}
	return out, nil
}

// Delete removes a version no run recorded and that is not in production;
// one a run used is ErrInUse (archive it instead).
func (r *Registry) Delete(ctx context.Context, p tenancy.Principal, ref string) error {
	rf, err := ParseRef(ref)
	if err != nil {
		return err
	}
	err = r.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lockName(ctx, tx, p.Tenant, rf.Name); err != nil {
			return err
		}
		v, err := r.get(ctx, tx.QueryRow, p.Tenant, rf)
		if err != nil {
			return err
		}
		var used int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE tenant_id = ? AND strategy = ? AND strategy_version = ?`, p.Tenant, v.Name, v.Number).Scan(&used); err != nil {
			return fmt.Errorf("count the runs of %s: %w", v.Ref(), err)
		}
		if used > 0 {
			return fmt.Errorf("%s was used by %d run(s); archive it instead: %w", v.Ref(), used, ErrInUse)
		}
		if v.Stage == StageProduction {
			return fmt.Errorf("%s is in production; promote another version first: %w", v.Ref(), ErrInUse)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM strategy_stage_changes WHERE tenant_id = ? AND name = ? AND number = ?`, p.Tenant, v.Name, v.Number); err != nil {
			return fmt.Errorf("delete %s: %w", v.Ref(), err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM strategy_versions WHERE tenant_id = ? AND name = ? AND number = ?`, p.Tenant, v.Name, v.Number); err != nil {
			return fmt.Errorf("delete %s: %w", v.Ref(), err)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "strategy.delete", Target: v.Ref(), At: r.clock.Now(),
			Detail: map[string]string{"sha256": v.SHA256}})
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", ref, err)
	}
	r.invalidate(p.Tenant, rf.Name)
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkText refuses text the databases disagree on (NUL, invalid UTF-8)
// and text longer than max bytes.
func checkText(field, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%w: %s is %d bytes; at most %d", ErrInvalid, field, len(s), max)
	case strings.ContainsRune(s, 0) || !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8 text", ErrInvalid, field)
	}
	return nil
}

func checkTags(tags map[string]string) error {
	if len(tags) > 20 {
		return fmt.Errorf("%w: %d tags; at most 20", ErrInvalid, len(tags))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if k == "" || strings.Contains(k, "=") {
			return fmt.Errorf("%w: tag key %s: must be non-empty and without '='", ErrInvalid, quote(k))
		}
		if err := errors.Join(checkText("tag key", k, 64), checkText("tag "+quote(k), tags[k], 256)); err != nil {
			return err
		}
	}
	return nil
}

// Limits are the bounds of one version, for reading an upload.
func (r *Registry) Limits() Limits { return r.limits }
