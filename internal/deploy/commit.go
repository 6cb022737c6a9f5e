package deploy

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/db"
)

// maxGroup bounds how many runner writes one transaction commits.
const maxGroup = 256

// committer commits the runners' writes (Record, RecordLater, Log, the
// lease's writes through fenced, RenewAll) in groups: a write that
// arrives while a group is being committed waits in a queue, and the next
// group commits every write queued, in order, in one transaction, each in
// a savepoint of its own (a write that fails — fenced, refused, an error —
// changes nothing and fails alone). A caller of Record and the others
// returns once its write is committed or failed; one of them commits the
// next group (the first that waits). A RecordLater write does not wait:
// queued behind a group being committed, it is committed with the next
// group, by a waiting caller or, when none waits, by a goroutine that ends
// once the queue is empty; when nothing is being committed, its caller
// commits it at once. Its error fails the next write on the same lease.
//
// What a group saves is the single SQLite writer handed from goroutine to
// goroutine, one transaction each — under load every hand-over waits for
// the next goroutine to be scheduled, and the waits add up along the
// queue —, and a commit per write on PostgreSQL.
type committer struct {
	mu      sync.Mutex
	queue   []*pendingWrite
	leading bool             // a group is being committed
	failed  map[writer]error // a RecordLater write that failed, for its writer's next write
}

// writer is whose write it is: a runner's lease on a deployment (zero:
// a write of no one deployment's runner).
type writer struct {
	deployment, runner string
	token              int64
}

func writerOf(l Lease) writer {
	return writer{deployment: l.Deployment, runner: l.Runner, token: l.Token}
}

// pendingWrite is one write in the committer's queue.
type pendingWrite struct {
	by writer
	fn func(ctx context.Context, tx *db.Tx) error
	// done gets its outcome, first {lead: true} when its caller is to
	// commit the next group; nil for a RecordLater write (nobody waits).
	done chan outcome
}

type outcome struct {
	err  error
	lead bool
}

// commit runs fn of by in a transaction, grouped with the
// writes of concurrent callers, and returns fn's error (or the
// transaction's). fn must only write through tx (it runs after the
// writes queued before it, never between two statements of another).
func (s *Store) commit(ctx context.Context, by writer, fn func(ctx context.Context, tx *db.Tx) error) error {
	if err := s.failedLater(by); err != nil {
		return err
	}
	w := &pendingWrite{by: by, fn: fn, done: make(chan outcome, 1)}
	if s.enqueue(w) {
		o := <-w.done
		if !o.lead {
			return o.err
		}
	}
	// The group is the other writers' too: a caller giving up (its ctx
	// ended) must not fail their writes.
	s.lead(context.WithoutCancel(ctx), w)
	return (<-w.done).err
}

// commitLater queues fn of by and returns without waiting for it when a
// group is being committed (else it commits it at once); it returns the
// error of by's last write queued so, if it failed.
func (s *Store) commitLater(ctx context.Context, by writer, fn func(ctx context.Context, tx *db.Tx) error) error {
	if err := s.failedLater(by); err != nil {
		return err
	}
	w := &pendingWrite{by: by, fn: fn}
	if s.enqueue(w) {
		return nil
	}
	s.lead(context.WithoutCancel(ctx), w)
	return s.failedLater(by)
}

// enqueue queues w and reports whether a group is being committed (else
// w's caller is to commit one now).
func (s *Store) enqueue(w *pendingWrite) (busy bool) {
	c := &s.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, w)
	busy = c.leading
	c.leading = true
	return busy
}

// failedLater returns (and forgets) the error of by's last RecordLater
// write, if it failed.
func (s *Store) failedLater(by writer) error {
	c := &s.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.failed[by]
	delete(c.failed, by)
	return err
}

// lead commits groups from the head of the queue until own (nil: none)
// is committed, then hands over: to the first caller waiting in the
// queue, else (only RecordLater writes queued) to a goroutine of its own.
func (s *Store) lead(ctx context.Context, own *pendingWrite) {
	c := &s.commits
	committed := own == nil
	for {
		c.mu.Lock()
		n := min(len(c.queue), maxGroup)
		group := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		s.commitGroup(ctx, group)
		if committed = committed || slices.Contains(group, own); committed {
			s.handOver(ctx)
			return
		}
	}
}

// handOver ends a caller's lead: the next group is committed by the first
// caller waiting in the queue, else by a goroutine while RecordLater
// writes are queued.
func (s *Store) handOver(ctx context.Context) {
	c := &s.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.leading, c.queue = false, nil
		return
	}
	for _, w := range c.queue {
		if w.done != nil {
			w.done <- outcome{lead: true}
			return
		}
	}
	go s.lead(ctx, nil)
}

// commitGroup commits group's writes in one transaction and tells each its
// outcome.
func (s *Store) commitGroup(ctx context.Context, group []*pendingWrite) {
	errs := make([]error, len(group))
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if len(group) == 1 {
			errs[0] = group[0].fn(ctx, tx)
			return errs[0]
		}
		for i, w := range group {
			if _, err := tx.Exec(ctx, `SAVEPOINT runner_write`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if errs[i] = w.fn(ctx, tx); errs[i] != nil {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT runner_write`); err != nil {
					return fmt.Errorf("roll back to the savepoint: %w", err)
				}
			}
			if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT runner_write`); err != nil {
				return fmt.Errorf("release the savepoint: %w", err)
			}
		}
		return nil
	})
	c := &s.commits
	for i, w := range group {
		if err != nil && errs[i] == nil {
			errs[i] = err // the transaction failed: nothing of the group was written
		}
		if w.done != nil {
			w.done <- outcome{err: errs[i]}
			continue
		}
		if errs[i] != nil {
			c.mu.Lock()
			if c.failed == nil {
				c.failed = map[writer]error{}
			}
			c.failed[w.by] = errs[i]
			c.mu.Unlock()
		}
	}
}

// Flush returns once every write queued before it is committed (or
// failed): a RecordLater write of a runner that is ending, before what
// reads it.
func (s *Store) Flush(ctx context.Context) error {
	c := &s.commits
	c.mu.Lock()
	idle := !c.leading
	c.mu.Unlock()
	if idle {
		return nil
	}
	return s.commit(ctx, writer{}, func(context.Context, *db.Tx) error { return nil })
}

// fenced runs fn in a runner write (grouped, see committer) that first
// checks l.
func (s *Store) fenced(ctx context.Context, l Lease, what string, fn func(tx *db.Tx, now time.Time) error) error {
	now := s.clock.Now()
	err := s.commit(ctx, writerOf(l), func(ctx context.Context, tx *db.Tx) error {
		if err := fence(ctx, tx, l); err != nil {
			return err
		}
		return fn(tx, now)
	})
	if err != nil {
		return fmt.Errorf("deployment %s: %s: %w", l.Deployment, what, err)
	}
	return nil
}
