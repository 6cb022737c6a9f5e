package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
)

// ErrNotFound: no such schedule or challenger in the tenant.
var ErrNotFound = errors.New("not found")

// ErrConflict: a challenger is not in the state the request needs (an
// approval of one that is not pending).
var ErrConflict = errors.New("conflict")

// Deployments is what the service reads of deployments (*deploy.Store).
type Deployments interface {
	Get(ctx context.Context, p tenancy.Principal, id string) (deploy.Deployment, error)
}

// Submitter submits runs the way users do (*api.Server): its checks,
// its fingerprints, its idempotency keys.
type Submitter interface {
	Submit(ctx context.Context, p tenancy.Principal, req apitype.SubmitRequest, idempotencyKey string) (runs.Run, error)
	SubmitDownload(ctx context.Context, p tenancy.Principal, req apitype.DownloadRequest, idempotencyKey string) (runs.Run, error)
	SubmitStudy(ctx context.Context, p tenancy.Principal, req apitype.StudyRequest, idempotencyKey string) (*study.Study, error)
}

// Studies is what the service needs of the study store (*study.Store):
// a study, its overfitting figures, its export as a version.
type Studies interface {
	Get(ctx context.Context, p tenancy.Principal, id string) (*study.Study, error)
	Overfitting(ctx context.Context, p tenancy.Principal, st *study.Study) (optimize.Overfitting, error)
	ExportVersion(ctx context.Context, p tenancy.Principal, st *study.Study, reg study.Versions) (registry.Version, bool, error)
}

// Registry is the strategy registry (*registry.Registry): a version's
// declared parameters are what a study searches, the study's export
// pushes to it, a winning challenger is promoted in it.
type Registry interface {
	study.Versions
	Get(ctx context.Context, p tenancy.Principal, ref string) (registry.Version, error)
	Promote(ctx context.Context, p tenancy.Principal, ref string, stage registry.Stage, reason string) (registry.Version, error)
}

// Runs reads runs (*runs.Store).
type Runs interface {
	Get(ctx context.Context, p tenancy.Principal, id string) (runs.Run, error)
}

// Config is what a Service needs.
type Config struct {
	DB          *db.DB
	Deployments Deployments
	Submitter   Submitter
	Studies     Studies
	Registry    Registry
	Runs        Runs
	// Exchange is the exchange whose candles in the data store a
	// deployment's backtests and downloads are of when its config names
	// none (DefaultExchange): the simulator's.
	Exchange string
	Clock    clock.Clock
	Log      *slog.Logger
}

// DefaultExchange is Config.Exchange's default: the simulator replays
// Binance's candles unless told otherwise.
const DefaultExchange = "binance"

// Service keeps schedules and challengers and moves them on (Tick).
type Service struct {
	c Config
}

// New is a Service on c; DB, Deployments, Submitter, Studies, Registry
// and Runs are required.
func New(c Config) (*Service, error) {
	if c.DB == nil || c.Deployments == nil || c.Submitter == nil || c.Studies == nil || c.Registry == nil || c.Runs == nil {
		return nil, errors.New("lifecycle: the database, deployments, submitter, studies, registry and runs are required")
	}
	c.Clock = clock.Or(c.Clock)
	if c.Exchange == "" {
		c.Exchange = DefaultExchange
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{c: c}, nil
}

// Schedule is a stored schedule.
type Schedule struct {
	ID        string
	Tenant    string
	CreatedBy string
	Spec      Spec
	Created   time.Time
	Next      time.Time // when it is due next
	Last      time.Time // when it last fired (zero: never)
	LastError string    // what went wrong then
}

// CreateSchedule stores a schedule of p's deployment (another tenant's
// is a FieldError on "deployment"), due first at the cron's next time.
func (s *Service) CreateSchedule(ctx context.Context, p tenancy.Principal, spec Spec) (Schedule, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return Schedule{}, fmt.Errorf("create schedule: %w", err)
	}
	d, err := s.c.Deployments.Get(ctx, p, spec.Deployment)
	if errors.Is(err, deploy.ErrNotFound) {
		return Schedule{}, fmt.Errorf("create schedule: %w", &FieldError{Field: "deployment", Why: fmt.Sprintf("no deployment %q", spec.Deployment)})
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("create schedule: %w", err)
	}
	if spec.Action == ActionReoptimise && d.Spec.Version == 0 {
		return Schedule{}, fmt.Errorf("create schedule: %w", &FieldError{Field: "action",
			Why: fmt.Sprintf("deployment %s runs the built-in strategy %s; a re-optimisation makes a registry version, so deploy a registry version", d.ID, d.Spec.Strategy)})
	}
	sched, _ := ParseCron(spec.Cron)
	now := s.c.Clock.Now()
	raw, err := json.Marshal(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("create schedule: %w", err)
	}
	sc := Schedule{ID: db.NewID("sch", now), Tenant: p.Tenant, CreatedBy: p.User, Spec: spec, Created: now.Truncate(time.Millisecond),
		Next: sched.Next(now.UTC()).Truncate(time.Millisecond)}
	err = s.c.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO schedules (id, tenant_id, created_by, deployment, action, cron, spec, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sc.ID, sc.Tenant, sc.CreatedBy, spec.Deployment, spec.Action, spec.Cron, string(raw), sc.Created.UnixMilli(), sc.Next.UnixMilli()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "schedule.create", Target: sc.ID, At: now, Detail: spec})
	})
	if err != nil {
		return Schedule{}, fmt.Errorf("create schedule: %w", err)
	}
	return sc, nil
}

const scheduleColumns = `id, tenant_id, created_by, spec, created_at, next_at, last_at, last_error`

func scanSchedule(row interface{ Scan(...any) error }) (Schedule, error) {
	var sc Schedule
	var spec string
	var created, next int64
	var last sql.NullInt64
	if err := row.Scan(&sc.ID, &sc.Tenant, &sc.CreatedBy, &spec, &created, &next, &last, &sc.LastError); err != nil {
		return Schedule{}, err
	}
	if err := json.Unmarshal([]byte(spec), &sc.Spec); err != nil {
		return Schedule{}, fmt.Errorf("schedule %s: stored spec: %w", sc.ID, err)
	}
	sc.Created, sc.Next = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
	if last.Valid {
		sc.Last = time.UnixMilli(last.Int64).UTC()
	}
	return sc, nil
}

// Schedules lists p's tenant's schedules, oldest first.
func (s *Service) Schedules(ctx context.Context, p tenancy.Principal) ([]Schedule, error) {
	return s.schedules(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE tenant_id = ? ORDER BY created_at, id`, p.Tenant)
}

func (s *Service) schedules(ctx context.Context, q string, args ...any) ([]Schedule, error) {
	out, err := db.Collect(ctx, s.c.DB, scanSchedule, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// DeleteSchedule deletes p's schedule id (its challengers stay).
func (s *Service) DeleteSchedule(ctx context.Context, p tenancy.Principal, id string) error {
	err := s.c.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM schedules WHERE id = ? AND tenant_id = ?`, id, p.Tenant)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, ErrNotFound)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "schedule.delete", Target: id, At: s.c.Clock.Now()})
	})
	if err != nil {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	return nil
}
