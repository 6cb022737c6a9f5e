package deploy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/db"
)

// maxGroup bounds how many runner writes one transaction commits.
const maxGroup = 256

// committer commits the runners' writes (Record, Log, the lease's writes
// through fenced) in groups: a write that arrives while another group is
// being committed waits for it, then the first of the writes that waited
// commits them all in one transaction, each in a savepoint of its own (a
// write that fails — fenced, refused, an error — changes nothing and
// fails alone). Every caller still returns only once its write is
// committed or failed: nothing is held back. What a group saves is the
// single SQLite writer handed from goroutine to goroutine, one
// transaction each — under load every hand-over waits for the next
// goroutine to be scheduled, and the waits add up along the queue — and a
// commit per write on PostgreSQL.
type committer struct {
	mu      sync.Mutex
	queue   []*pendingWrite
	leading bool // a caller is committing a group
}

// pendingWrite is one write waiting in the committer's queue.
type pendingWrite struct {
	fn   func(ctx context.Context, tx *db.Tx) error
	done chan outcome // its outcome; first {lead: true} when it is to commit the next group
}

type outcome struct {
	err  error
	lead bool
}

// commit runs fn in a transaction, grouped with the writes of concurrent
// callers, and returns fn's error (or the transaction's). fn must only
// write through tx (it may run after other writes of its group, never
// between them).
func (s *Store) commit(ctx context.Context, fn func(ctx context.Context, tx *db.Tx) error) error {
	w := &pendingWrite{fn: fn, done: make(chan outcome, 1)}
	c := &s.commits
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if !lead {
		o := <-w.done
		if !o.lead {
			return o.err
		}
	}
	// w heads the queue: commit a group, hand over to the next write
	// waiting, if any.
	c.mu.Lock()
	n := min(len(c.queue), maxGroup)
	group := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.mu.Unlock()
	// The group is the other writers' too: a caller giving up (its ctx
	// ended) must not fail their writes.
	s.commitGroup(context.WithoutCancel(ctx), group)
	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- outcome{lead: true}
	} else {
		c.leading = false
		c.queue = nil
	}
	c.mu.Unlock()
	return (<-w.done).err
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
	for i, w := range group {
		if err != nil && errs[i] == nil {
			errs[i] = err // the transaction failed: nothing of the group was written
		}
		w.done <- outcome{err: errs[i]}
	}
}

// fenced runs fn in a runner write (grouped, see committer) that first
// checks l.
func (s *Store) fenced(ctx context.Context, l Lease, what string, fn func(tx *db.Tx, now time.Time) error) error {
	now := s.clock.Now()
	err := s.commit(ctx, func(ctx context.Context, tx *db.Tx) error {
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
