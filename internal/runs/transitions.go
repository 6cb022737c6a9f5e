package runs

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/tenancy"
)

// change is one guarded status change.
type change struct {
	action string   // audit action, e.g. "run.complete"
	from   []Status // statuses it may leave
	// update returns the SET clause (with `?`), its arguments and the new
	// status, given the run's current status and attempts.
	update func(cur Status, attempts int) (set string, args []any, to Status)
	extra  func(tx *db.Tx, now time.Time) error // more writes in the same transaction
	detail any
}

// apply runs c on the tenant's run id in one transaction: it reads the
// status, refuses a transition not allowed from it, updates the row only if
// the status is still the one read (so of two racing transitions exactly one
// wins), writes c.extra and the audit row, and returns the run as stored.
func (s *Store) apply(ctx context.Context, p tenancy.Principal, id string, c change) (Run, error) {
	now := s.clock.Now()
	var r Run
	if !storableID(id) {
		return Run{}, fmt.Errorf("%s %q: %w", c.action, id, ErrNotFound)
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var cur string
		var attempts int
		err := tx.QueryRow(ctx, `SELECT status, attempts FROM runs WHERE id = ? AND tenant_id = ?`, id, p.Tenant).Scan(&cur, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read run: %w", err)
		}
		if !slices.Contains(c.from, Status(cur)) {
			return fmt.Errorf("%w: run is %s", ErrIllegalTransition, cur)
		}
		set, args, to := c.update(Status(cur), attempts)
		args = append(args, id, p.Tenant, cur)
		r, err = scanRun(tx.QueryRow(ctx, `UPDATE runs SET status = ?, `+set+` WHERE id = ? AND tenant_id = ? AND status = ? RETURNING `+runColumns,
			append([]any{string(to)}, args...)...))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: run changed meanwhile", ErrIllegalTransition)
		}
		if err != nil {
			return fmt.Errorf("update run: %w", err)
		}
		if c.extra != nil {
			if err := c.extra(tx, now); err != nil {
				return err
			}
		}
		if to.Terminal() && s.onFinish != nil {
			if err := s.onFinish(ctx, tx, r); err != nil {
				return err
			}
		}
		detail := map[string]any{"from": cur, "to": string(to)}
		if c.detail != nil {
			detail["detail"] = c.detail
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: c.action, Target: id, At: now, Detail: detail})
	})
	if err != nil {
		return Run{}, fmt.Errorf("%s %s: %w", c.action, id, err)
	}
	return r, nil
}

// MarkRunning starts a queued run: status running, one more attempt, the
// start time (of this attempt) and first heartbeat recorded, the previous
// error cleared, and, unless firstStep is empty, step firstStep started, all
// in one transaction.
func (s *Store) MarkRunning(ctx context.Context, p tenancy.Principal, id, firstStep string) (Run, error) {
	now := s.clock.Now().UnixMilli()
	c := change{action: "run.start", from: []Status{Queued},
		update: func(Status, int) (string, []any, Status) {
			return `attempts = attempts + 1, started_at = ?, heartbeat_at = ?, progress = 0, error = ''`, []any{now, now}, Running
		}}
	if firstStep != "" {
		c.extra = func(tx *db.Tx, _ time.Time) error { return startStep(ctx, tx, id, firstStep, now) }
	}
	return s.apply(ctx, p, id, c)
}

// Outcome is what a completed run leaves.
type Outcome struct {
	Metrics         json.RawMessage // the metrics summary, a JSON object
	DataFingerprint string          // of the market data the run read
	// Artifacts: name, media type and content; the store works out size
	// and SHA-256.
	Artifacts []Artifact
	// Step, when set, is the running step that ends with the run (the
	// worker's last step).
	Step string
}

// Complete finishes a running run with its outcome, in one transaction. It
// succeeds once: completing again fails with ErrIllegalTransition and
// leaves the stored result as it was.
func (s *Store) Complete(ctx context.Context, p tenancy.Principal, id string, o Outcome) (Run, error) {
	m, err := normJSON(o.Metrics, "{}")
	if err != nil {
		return Run{}, fmt.Errorf("complete run %s: metrics are not valid JSON: %w", id, err)
	}
	batch := db.NewID("art", s.clock.Now())
	inTx, isTx := s.objects.(txObjects)
	var refs []string
	if !isTx {
		// An external store is written first, the run completed after;
		// a run that is not running is refused before anything is written.
		if st, err := s.Status(ctx, p, id); err != nil {
			return Run{}, fmt.Errorf("complete run %s: %w", id, err)
		} else if st != Running {
			return Run{}, fmt.Errorf("complete run %s: %w: run is %s", id, ErrIllegalTransition, st)
		}
		if refs, err = s.putArtifacts(ctx, id, batch, o.Artifacts); err != nil {
			return Run{}, fmt.Errorf("complete run %s: %w", id, err)
		}
	}
	now := s.clock.Now().UnixMilli()
	r, err := s.apply(ctx, p, id, change{action: "run.complete", from: []Status{Running},
		update: func(Status, int) (string, []any, Status) {
			return `progress = 1, finished_at = ?, metrics = ?, data_fingerprint = ?`, []any{now, m, o.DataFingerprint}, Completed
		},
		extra: func(tx *db.Tx, _ time.Time) error {
			if o.Step != "" {
				if _, err := tx.Exec(ctx, `UPDATE run_steps SET status = ?, finished_at = ? WHERE run_id = ? AND name = ? AND status = ?`,
					string(Completed), now, id, o.Step, string(Running)); err != nil {
					return fmt.Errorf("complete step %q: %w", o.Step, err)
				}
			}
			for i, a := range o.Artifacts {
				sum := objstore.SHA256(a.Content)
				var ref string
				if isTx {
					key, err := artifactKey(id, batch, a.Name)
					if err != nil {
						return err
					}
					if err := inTx.PutTx(ctx, tx, key, bytes.NewReader(a.Content), int64(len(a.Content)), sum); err != nil {
						return fmt.Errorf("store artifact %q: %w", a.Name, err)
					}
					ref = objstore.Ref(s.objects, key)
				} else {
					ref = refs[i]
				}
				if _, err := tx.Exec(ctx, `INSERT INTO artifacts (run_id, name, media_type, size, sha256, ref) VALUES (?, ?, ?, ?, ?, ?)`,
					id, a.Name, a.MediaType, int64(len(a.Content)), sum, ref); err != nil {
					return fmt.Errorf("record artifact %q: %w", a.Name, err)
				}
			}
			return nil
		},
		detail: map[string]int{"artifacts": len(o.Artifacts)}})
	if err != nil {
		// The run was not completed: its objects go again.
		s.deleteObjects(ctx, id, refs)
	}
	return r, err
}

// txObjects is an artifact store that writes in the run store's
// transaction (the database's): artifacts are then stored exactly when
// the run's completion commits.
type txObjects interface {
	PutTx(ctx context.Context, tx *db.Tx, key string, r io.Reader, size int64, sum string) error
}

// artifactKey is where artifact name of run runID goes: runs/RUN/BATCH/NAME,
// BATCH one Complete call's own, so that a second worker completing the
// same run never overwrites the first's objects.
func artifactKey(runID, batch, name string) (string, error) {
	if err := CheckText(name); err != nil {
		return "", fmt.Errorf("artifact %q: %w", name, err)
	}
	key := "runs/" + runID + "/" + batch + "/" + name
	if err := objstore.CheckKey(key); err != nil {
		return "", fmt.Errorf("artifact %q: %w", name, err)
	}
	return key, nil
}

// putArtifacts writes the artifacts to the artifact store and returns
// their refs. On an error nothing it wrote is left.
func (s *Store) putArtifacts(ctx context.Context, runID, batch string, arts []Artifact) ([]string, error) {
	refs := make([]string, 0, len(arts))
	for _, a := range arts {
		key, err := artifactKey(runID, batch, a.Name)
		if err == nil {
			err = s.objects.Put(ctx, key, bytes.NewReader(a.Content), int64(len(a.Content)), objstore.SHA256(a.Content))
		}
		if err != nil {
			s.deleteObjects(ctx, runID, refs)
			return nil, fmt.Errorf("store artifact %q in the artifact store %s: %w", a.Name, s.objects.Location(), err)
		}
		refs = append(refs, objstore.Ref(s.objects, key))
	}
	return refs, nil
}

// deleteObjects removes the objects refs name, even when ctx has ended;
// what cannot be removed is logged (an orphaned object, no harm to runs).
func (s *Store) deleteObjects(ctx context.Context, runID string, refs []string) {
	ctx = context.WithoutCancel(ctx)
	for _, ref := range refs {
		st, key, err := s.objectsOf(ref)
		if err == nil {
			err = st.Delete(ctx, key)
		}
		if err != nil {
			s.log.Warn("artifact object left behind", "run", runID, "ref", ref, "err", err)
		}
	}
}

// objectsOf returns the store holding ref and its key there.
func (s *Store) objectsOf(ref string) (objstore.Store, string, error) {
	for _, st := range []objstore.Store{s.objects, s.dbObjects} {
		if key, ok := objstore.KeyOf(st, ref); ok {
			return st, key, nil
		}
	}
	return nil, "", fmt.Errorf("it is in %s, which is not this process's artifact store (--artifact-store)", ref)
}

// Fail records a running run's failure. A retryable failure puts the run
// back in the queue while attempts remain, and in dead_letter when they
// are used up; any other failure is final (failed).
func (s *Store) Fail(ctx context.Context, p tenancy.Principal, id string, cause error, retryable bool) (Run, error) {
	return s.fail(ctx, p, id, cause, retryable, nil)
}

// Requeue is a retryable Fail whose inQueue runs in the same transaction
// when the run goes back to the queue (not when its attempts are used up
// and it is dead-lettered), given the attempts the run has used: the job
// queue inserts the run's new job there, and its error rolls the whole
// change back, so a run is never queued without the job that runs it.
func (s *Store) Requeue(ctx context.Context, p tenancy.Principal, id string, cause error, inQueue func(tx *db.Tx, attempts int) error) (Run, error) {
	return s.fail(ctx, p, id, cause, true, inQueue)
}

func (s *Store) fail(ctx context.Context, p tenancy.Principal, id string, cause error, retryable bool, inQueue func(tx *db.Tx, attempts int) error) (Run, error) {
	msg := "unknown error"
	if cause != nil {
		msg = cleanMessage(cause.Error())
	}
	now := s.clock.Now().UnixMilli()
	var (
		to   Status
		used int
	)
	return s.apply(ctx, p, id, change{action: "run.fail", from: []Status{Running},
		update: func(_ Status, attempts int) (string, []any, Status) {
			used = attempts
			switch {
			case retryable && attempts < s.maxAttempts:
				to = Queued
				return `error = ?`, []any{msg}, to
			case retryable:
				to = DeadLetter
				return `error = ?, finished_at = ?`, []any{msg, now}, to
			default:
				to = Failed
				return `error = ?, finished_at = ?`, []any{msg, now}, to
			}
		},
		extra: func(tx *db.Tx, _ time.Time) error {
			if to != Queued || inQueue == nil {
				return nil
			}
			return inQueue(tx, used)
		},
		detail: map[string]any{"error": msg, "retryable": retryable}})
}

// Cancel cancels a queued or running run.
func (s *Store) Cancel(ctx context.Context, p tenancy.Principal, id string) (Run, error) {
	now := s.clock.Now().UnixMilli()
	return s.apply(ctx, p, id, change{action: "run.cancel", from: []Status{Queued, Running},
		update: func(Status, int) (string, []any, Status) { return `finished_at = ?`, []any{now}, Cancelled }})
}

// Retry puts a failed, dead-lettered or cancelled run back in the queue
// as if new: attempts, progress, error and times are reset (the audit log
// keeps the history). inTx runs in the same transaction (the job queue
// enqueues the run's job there); its error rolls the retry back.
func (s *Store) Retry(ctx context.Context, p tenancy.Principal, id string, inTx func(tx *db.Tx) error) (Run, error) {
	return s.apply(ctx, p, id, change{action: "run.retry", from: []Status{Failed, DeadLetter, Cancelled},
		update: func(Status, int) (string, []any, Status) {
			return `attempts = 0, progress = 0, error = '', started_at = NULL, finished_at = NULL, heartbeat_at = NULL`, nil, Queued
		},
		extra: func(tx *db.Tx, _ time.Time) error {
			if inTx == nil {
				return nil
			}
			return inTx(tx)
		}})
}

// DeadLetter moves a queued or running run to dead_letter, e.g. when the
// queue gives up on its job.
func (s *Store) DeadLetter(ctx context.Context, p tenancy.Principal, id, reason string) (Run, error) {
	reason = cleanMessage(reason)
	now := s.clock.Now().UnixMilli()
	return s.apply(ctx, p, id, change{action: "run.dead_letter", from: []Status{Queued, Running},
		update: func(Status, int) (string, []any, Status) {
			return `error = ?, finished_at = ?`, []any{reason, now}, DeadLetter
		},
		detail: map[string]string{"reason": reason}})
}

// startStep (re)starts step name of run id, whose status the caller has
// checked, in tx.
func startStep(ctx context.Context, tx *db.Tx, id, name string, now int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO run_steps (run_id, name, status, started_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, started_at = excluded.started_at,
			finished_at = NULL, error = '', detail = ''`, id, name, string(Running), now); err != nil {
		return fmt.Errorf("start step %q: %w", name, err)
	}
	return nil
}

// FinishStep records the end of a started step: completed, or failed with
// cause; detail (may be empty) says what it did. A completed step sets the
// run's progress to progress (clamped to [0, 1]) and, unless next is empty,
// starts step next, in the same transaction.
func (s *Store) FinishStep(ctx context.Context, p tenancy.Principal, runID, name, detail string, cause error, progress float64, next string) error {
	status, msg := Completed, ""
	if cause != nil {
		status, msg = Failed, cleanMessage(cause.Error())
	}
	detail = cleanMessage(detail)
	now := s.clock.Now().UnixMilli()
	err := s.db.InTxNoWait(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE run_steps SET status = ?, finished_at = ?, error = ?, detail = ?
			WHERE run_id = ? AND name = ? AND status = ? AND EXISTS (SELECT 1 FROM runs WHERE id = ? AND tenant_id = ? AND status = ?)`,
			string(status), now, msg, detail, runID, name, string(Running), runID, p.Tenant, string(Running))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: no running step of that name in a running run", ErrIllegalTransition)
		}
		if cause != nil {
			return nil
		}
		if _, err = tx.Exec(ctx, `UPDATE runs SET progress = ? WHERE id = ?`, min(max(progress, 0), 1), runID); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		return startStep(ctx, tx, runID, next, now)
	})
	if err != nil {
		return fmt.Errorf("finish step %q of run %s: %w", name, runID, err)
	}
	return nil
}

// PutStep records step st of a run whatever the run's status, replacing a
// step of the same name: for work that follows the run's end, such as
// delivering its webhook event. A zero st.Finished leaves the step
// unfinished.
func (s *Store) PutStep(ctx context.Context, p tenancy.Principal, runID string, st Step) error {
	st.Error, st.Detail = cleanMessage(st.Error), cleanMessage(st.Detail)
	var finished any
	if !st.Finished.IsZero() {
		finished = st.Finished.UnixMilli()
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE id = ? AND tenant_id = ?`, runID, p.Tenant).Scan(&n); err != nil {
			return fmt.Errorf("read run: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		if _, err := tx.Exec(ctx, `DELETE FROM run_steps WHERE run_id = ? AND name = ?`, runID, st.Name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO run_steps (run_id, name, status, started_at, finished_at, error, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			runID, st.Name, string(st.Status), st.Started.UnixMilli(), finished, st.Error, st.Detail)
		return err
	})
	if err != nil {
		return fmt.Errorf("record step %q of run %s: %w", st.Name, runID, err)
	}
	return nil
}

// Steps lists a run's steps in the order they started.
func (s *Store) Steps(ctx context.Context, p tenancy.Principal, runID string) ([]Step, error) {
	if !storableID(runID) {
		return nil, nil
	}
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Step, error) {
		var st Step
		var status string
		var started int64
		var finished sql.NullInt64
		err := r.Scan(&st.Name, &status, &started, &finished, &st.Error, &st.Detail)
		st.Status, st.Started = Status(status), time.UnixMilli(started)
		if finished.Valid {
			st.Finished = time.UnixMilli(finished.Int64)
		}
		return st, err
	}, `SELECT s.name, s.status, s.started_at, s.finished_at, s.error, s.detail FROM run_steps s JOIN runs r ON r.id = s.run_id
		WHERE s.run_id = ? AND r.tenant_id = ? ORDER BY s.started_at, s.name`, runID, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("list steps of run %s: %w", runID, err)
	}
	return out, nil
}

// Artifacts lists a run's artifacts by name.
func (s *Store) Artifacts(ctx context.Context, p tenancy.Principal, runID string) ([]Artifact, error) {
	if !storableID(runID) {
		return nil, nil
	}
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Artifact, error) {
		var a Artifact
		err := r.Scan(&a.Name, &a.MediaType, &a.Size, &a.SHA256)
		return a, err
	}, `SELECT a.name, a.media_type, a.size, a.sha256 FROM artifacts a JOIN runs r ON r.id = a.run_id
		WHERE a.run_id = ? AND r.tenant_id = ? ORDER BY a.name`, runID, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %s: %w", runID, err)
	}
	return out, nil
}

// ArtifactContent returns the tenant's artifact name of run runID with its
// content; ErrNotFound when the run (for this tenant) or the artifact does
// not exist.
func (s *Store) ArtifactContent(ctx context.Context, p tenancy.Principal, runID, name string) (Artifact, error) {
	a := Artifact{Name: name}
	if !storableID(runID, name) {
		return Artifact{}, fmt.Errorf("artifact %q of run %q: %w", name, runID, ErrNotFound)
	}
	var ref string
	err := s.db.QueryRow(ctx, `SELECT a.media_type, a.size, a.sha256, a.content, a.ref FROM artifacts a JOIN runs r ON r.id = a.run_id
		WHERE a.run_id = ? AND a.name = ? AND r.tenant_id = ?`, runID, name, p.Tenant).Scan(&a.MediaType, &a.Size, &a.SHA256, &a.Content, &ref)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Artifact{}, fmt.Errorf("artifact %q of run %s: %w", name, runID, ErrNotFound)
	case err != nil:
		return Artifact{}, fmt.Errorf("read artifact %q of run %s: %w", name, runID, err)
	case ref != "":
		st, key, err := s.objectsOf(ref)
		if err == nil {
			a.Content, err = objstore.ReadAll(ctx, st, key, a.Size, a.SHA256)
		}
		if err != nil {
			return Artifact{}, fmt.Errorf("artifact %q of run %s: %w: %w", name, runID, ErrArtifactUnreadable, err)
		}
	case a.Content == nil && a.Size > 0:
		return Artifact{}, fmt.Errorf("artifact %q of run %s: %w", name, runID, ErrArtifactNotStored)
	}
	return a, nil
}

// Delete removes a finished run (completed, failed, dead-lettered or
// cancelled) of the tenant with its steps, artifacts and webhook
// deliveries; the audit log keeps a run.delete row. The artifacts'
// objects are deleted from their object store once the run is gone (one
// that cannot be is logged and left behind, unreferenced). A queued or running run,
// or one with child runs, is ErrIllegalTransition (cancel it, delete them
// first).
func (s *Store) Delete(ctx context.Context, p tenancy.Principal, id string) error {
	if !storableID(id) {
		return fmt.Errorf("delete run %q: %w", id, ErrNotFound)
	}
	var refs []string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		refs = nil
		var cur string
		err := tx.QueryRow(ctx, `SELECT status FROM runs WHERE id = ? AND tenant_id = ?`, id, p.Tenant).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read run: %w", err)
		}
		if !Status(cur).Terminal() {
			return fmt.Errorf("%w: run is %s (cancel it first)", ErrIllegalTransition, cur)
		}
		var children int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE parent_id = ?`, id).Scan(&children); err != nil {
			return fmt.Errorf("read child runs: %w", err)
		}
		if children > 0 {
			return fmt.Errorf("%w: run has %d child runs (delete them first)", ErrIllegalTransition, children)
		}
		if refs, err = db.Collect(ctx, tx, func(r db.Scanner) (string, error) {
			var ref string
			err := r.Scan(&ref)
			return ref, err
		}, `SELECT ref FROM artifacts WHERE run_id = ? AND ref <> ''`, id); err != nil {
			return fmt.Errorf("read artifacts: %w", err)
		}
		res, err := tx.Exec(ctx, `DELETE FROM runs WHERE id = ? AND tenant_id = ? AND status = ?`, id, p.Tenant, cur)
		if err != nil {
			return fmt.Errorf("delete run: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("%w: run changed meanwhile", ErrIllegalTransition)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "run.delete", Target: id, At: s.clock.Now(),
			Detail: map[string]any{"status": cur}})
	})
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	s.deleteObjects(ctx, id, refs)
	return nil
}

// Heartbeat stamps a running run's heartbeat with the store's clock: its
// worker is alive. A run no longer running (or not the tenant's) is left
// as it is, without an error; the worker learns of it through Status.
func (s *Store) Heartbeat(ctx context.Context, p tenancy.Principal, id string) error {
	if _, err := s.db.Exec(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ? AND tenant_id = ? AND status = ?`,
		s.clock.Now().UnixMilli(), id, p.Tenant, string(Running)); err != nil {
		return fmt.Errorf("heartbeat of run %s: %w", id, err)
	}
	return nil
}

// SetProgress sets a running run's progress (clamped to [0, 1]) within a
// step, for a kind that knows how far it is (a walk-forward's windows
// done). A run no longer running (or not the tenant's) is left as it is,
// without an error, as Heartbeat does.
func (s *Store) SetProgress(ctx context.Context, p tenancy.Principal, id string, progress float64) error {
	if _, err := s.db.Exec(ctx, `UPDATE runs SET progress = ? WHERE id = ? AND tenant_id = ? AND status = ?`,
		min(max(progress, 0), 1), id, p.Tenant, string(Running)); err != nil {
		return fmt.Errorf("progress of run %s: %w", id, err)
	}
	return nil
}

// Status returns the tenant's run's status alone (cheaper than Get, for a
// worker polling for a cancel); ErrNotFound when there is no such run.
func (s *Store) Status(ctx context.Context, p tenancy.Principal, id string) (Status, error) {
	if !storableID(id) {
		return "", fmt.Errorf("status of run %q: %w", id, ErrNotFound)
	}
	var st string
	err := s.db.QueryRow(ctx, `SELECT status FROM runs WHERE id = ? AND tenant_id = ?`, id, p.Tenant).Scan(&st)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("status of run %s: %w", id, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("status of run %s: %w", id, err)
	}
	return Status(st), nil
}

// Ref names a run, its tenant and its kind.
type Ref struct {
	ID     string
	Tenant string
	Kind   string
}

// Orphans lists the running runs of every tenant whose heartbeat and start
// (of the current attempt) are both older than staleAfter by the store's
// clock: their worker is gone. The job queue's rescuer re-queues them.
func (s *Store) Orphans(ctx context.Context, staleAfter time.Duration) ([]Ref, error) {
	cutoff := s.clock.Now().Add(-staleAfter).UnixMilli()
	found, err := db.Collect(ctx, s.db, func(sc db.Scanner) (Ref, error) {
		var r Ref
		err := sc.Scan(&r.ID, &r.Tenant, &r.Kind)
		return r, err
	}, `SELECT id, tenant_id, kind FROM runs WHERE status = ? AND COALESCE(heartbeat_at, 0) < ? AND COALESCE(started_at, created_at) < ?`,
		string(Running), cutoff, cutoff)
	if err != nil {
		return nil, fmt.Errorf("look for orphaned runs: %w", err)
	}
	return found, nil
}
