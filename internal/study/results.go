package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/tenancy"
)

// ErrNoBest: the study has no completed trial yet.
var ErrNoBest = errors.New("the study has no completed trial yet")

// Best returns the study's n lowest-loss completed trials.
func (s *Store) Best(ctx context.Context, p tenancy.Principal, id string, n int) ([]Trial, error) {
	return s.Trials(ctx, p, id, ByLoss, 0, n)
}

// maxImportanceTrials bounds the trials parameter importance reads.
const maxImportanceTrials = 100_000

// Importance is how much of the loss each searched parameter explains
// (optimize.Importance over the study's told trials, at most the first
// 100,000); nil before a worker recorded the space or with fewer than 3
// completed trials.
func (s *Store) Importance(ctx context.Context, p tenancy.Principal, st *Study) ([]optimize.ParamImportance, error) {
	if st.Space == nil {
		return nil, nil
	}
	trials, err := s.Trials(ctx, p, st.ID(), ByNumber, 0, maxImportanceTrials)
	if err != nil {
		return nil, err
	}
	ot := make([]optimize.Trial, 0, len(trials))
	for _, t := range trials {
		if t.Status != TrialCompleted {
			continue
		}
		ot = append(ot, optimize.Trial{Number: t.Number, Point: t.Point, Loss: t.Loss})
	}
	return optimize.Importance(st.Space.Dims, ot), nil
}

// Restore is the study as optimize.Run would have returned it, for its
// overfitting figures and report (optimize.FillStudyReport): its told
// trials by number (at most the first 100,000), the daily Sharpe ratios
// and the daily returns the trials kept (optimize.RestoreStudy).
func (s *Store) Restore(ctx context.Context, p tenancy.Principal, st *Study) (*optimize.Study, error) {
	trials, err := s.Trials(ctx, p, st.ID(), ByNumber, 0, maxImportanceTrials)
	if err != nil {
		return nil, err
	}
	ot := make([]optimize.Trial, 0, len(trials))
	for _, t := range trials {
		if t.Status != TrialCompleted && t.Status != TrialFailed {
			continue
		}
		ot = append(ot, optimize.Trial{Number: t.Number, Point: t.Point, Loss: t.Loss, Err: t.Error, Figures: t.Figures, Duration: t.Duration})
		if t.Status == TrialFailed && t.Error == "" {
			ot[len(ot)-1].Err = "failed"
		}
	}
	rows, err := s.db.Query(ctx, `SELECT number, loss, daily_sharpe, daily_returns FROM study_trials WHERE study_id = ? AND status = ? AND daily_sharpe IS NOT NULL ORDER BY number LIMIT ?`,
		st.ID(), TrialCompleted, maxImportanceTrials)
	if err != nil {
		return nil, fmt.Errorf("study %s: read its daily returns: %w", st.ID(), err)
	}
	defer rows.Close()
	var sharpes []float64
	var kept []optimize.KeptReturns
	for rows.Next() {
		var k optimize.KeptReturns
		var sr float64
		var returns string
		if err := rows.Scan(&k.Number, &k.Loss, &sr, &returns); err != nil {
			return nil, fmt.Errorf("study %s: read its daily returns: %w", st.ID(), err)
		}
		sharpes = append(sharpes, sr)
		if returns == "" {
			continue
		}
		if k.Returns, err = decodeReturns(returns); err != nil {
			return nil, fmt.Errorf("study %s trial %d: its daily returns: %w", st.ID(), k.Number, err)
		}
		kept = append(kept, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("study %s: read its daily returns: %w", st.ID(), err)
	}
	return optimize.RestoreStudy(ot, sharpes, kept), nil
}

// ParamsFile is trial t of study st as Freqtrade's strategy parameter
// file: every declared parameter (the run's fixed ones under the trial's
// searched ones, defaults for the rest) and the trial's risk settings.
func ParamsFile(st *Study, t Trial, at time.Time) (*optimize.ParamsFile, error) {
	if st.Space == nil {
		return nil, fmt.Errorf("study %s: %w", st.ID(), ErrNoBest)
	}
	var cfg struct {
		StrategyParams map[string]any `json:"strategy_params"`
	}
	if len(st.Run.Spec.Config) > 0 {
		if err := json.Unmarshal(st.Run.Spec.Config, &cfg); err != nil {
			return nil, fmt.Errorf("study %s: its config: %w", st.ID(), err)
		}
	}
	merged := map[string]any{}
	maps.Copy(merged, cfg.StrategyParams)
	if len(st.Run.Spec.Params) > 0 {
		var fixed map[string]any
		if err := json.Unmarshal(st.Run.Spec.Params, &fixed); err != nil {
			return nil, fmt.Errorf("study %s: its parameters: %w", st.ID(), err)
		}
		maps.Copy(merged, fixed)
	}
	maps.Copy(merged, t.Params.Params)
	spec := st.Space.Strategy
	values, err := spec.Resolve(merged)
	if err != nil {
		return nil, fmt.Errorf("study %s trial %d: %w", st.ID(), t.Number, err)
	}
	return optimize.NewParamsFile(spec, values, t.Params.Risk, at), nil
}

// BestParamsFile is the study's best trial as a strategy parameter file.
func (s *Store) BestParamsFile(ctx context.Context, p tenancy.Principal, st *Study) (*optimize.ParamsFile, Trial, error) {
	best, err := s.Best(ctx, p, st.ID(), 1)
	if err != nil {
		return nil, Trial{}, err
	}
	if len(best) == 0 {
		return nil, Trial{}, fmt.Errorf("study %s: %w", st.ID(), ErrNoBest)
	}
	f, err := ParamsFile(st, best[0], s.clock.Now())
	return f, best[0], err
}

// Overfitting is the overfitting figures of study st's trials so far:
// the deflated Sharpe ratio and PBO of its best trial, with their
// verdict (Restore's optimize.Study.Overfitting).
func (s *Store) Overfitting(ctx context.Context, p tenancy.Principal, st *Study) (optimize.Overfitting, error) {
	restored, err := s.Restore(ctx, p, st)
	if err != nil {
		return optimize.Overfitting{}, err
	}
	return restored.Overfitting(), nil
}
