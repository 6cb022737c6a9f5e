package simstore

import (
	"context"
	"fmt"
	"math"

	"github.com/tradai/tradai/internal/db"
)

// ClockState is the simulation clock as saved: where it is, how it runs,
// and how the market data relates to the present.
type ClockState struct {
	// Time is the simulation time (Unix ms; 0: never saved).
	Time int64
	// Speed is the factor the clock runs at (0: never saved); Paused
	// whether it stands still until resumed.
	Speed  float64
	Paused bool
	// Mode is how market data comes in: "replay", "shifted" or "live"
	// ("" when no simulator has run on the database since modes exist:
	// replay, if Time is set).
	Mode string
	// Offset is what the shifted mode adds to the history's times to map
	// them onto the present (Unix ms).
	Offset int64
}

// The rows of sim_state (name → BIGINT value) the clock is kept in.
const (
	rowClock  = "clock"
	rowSpeed  = "speed_micros" // speed × 10⁶
	rowPaused = "paused"       // 0 or 1
	rowMode   = "mode"         // index in modes
	rowOffset = "offset"
)

var modes = [...]string{"replay", "shifted", "live"}

func modeIndex(m string) (int64, error) {
	for i, x := range modes {
		if x == m {
			return int64(i), nil
		}
	}
	return 0, fmt.Errorf("simulator mode %q: want replay, shifted or live", m)
}

// Clock reads the saved clock state.
func (s *Store) Clock(ctx context.Context) (ClockState, error) {
	var st ClockState
	rows, err := s.db.Query(ctx, `SELECT name, value FROM sim_state`)
	if err != nil {
		return st, fmt.Errorf("read the simulation clock: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return st, fmt.Errorf("read the simulation clock: %w", err)
		}
		switch name {
		case rowClock:
			st.Time = v
		case rowSpeed:
			st.Speed = float64(v) / 1e6
		case rowPaused:
			st.Paused = v != 0
		case rowMode:
			if v < 0 || v >= int64(len(modes)) {
				return st, fmt.Errorf("read the simulation clock: unknown mode %d in the database", v)
			}
			st.Mode = modes[v]
		case rowOffset:
			st.Offset = v
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("read the simulation clock: %w", err)
	}
	return st, nil
}

// SaveClock saves st at once (its zero fields too, but for an empty Mode).
// A running simulator saves it with every flush instead (FollowClock).
func (s *Store) SaveClock(ctx context.Context, st ClockState) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error { return s.saveClock(ctx, tx, st) })
}

func (s *Store) saveClock(ctx context.Context, tx *db.Tx, st ClockState) error {
	if math.IsNaN(st.Speed) || st.Speed < 0 || st.Speed > math.MaxInt64/1e6 {
		return fmt.Errorf("save the simulation clock: speed %v out of range", st.Speed)
	}
	paused := int64(0)
	if st.Paused {
		paused = 1
	}
	vals := []struct {
		name string
		v    int64
	}{{rowClock, st.Time}, {rowSpeed, int64(math.Round(st.Speed * 1e6))}, {rowPaused, paused}, {rowOffset, st.Offset}}
	if st.Mode != "" {
		m, err := modeIndex(st.Mode)
		if err != nil {
			return err
		}
		vals = append(vals, struct {
			name string
			v    int64
		}{rowMode, m})
	}
	for _, x := range vals {
		if _, err := tx.Exec(ctx, `INSERT INTO sim_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, x.name, x.v); err != nil {
			return fmt.Errorf("save the simulation clock: %w", err)
		}
	}
	return nil
}

// FollowClock makes every flush save the clock state now() returns, in the
// transaction of the orders and fills it commits: the state is read before
// the events are taken, so the saved time never runs ahead of the fills
// saved with it, and a restart never skips a fill. Call it before Run.
func (s *Store) FollowClock(now func() ClockState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.follow = now
}
