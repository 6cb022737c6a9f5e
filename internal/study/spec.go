package study

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
)

// Limits and defaults of a Spec.
const (
	DefaultBatch     = 16
	MaxBatch         = 1000
	DefaultParallel  = 2
	MaxParallel      = 64
	MaxEpochs        = 1_000_000
	DefaultFailShare = optimize.FailShare
)

// Spec is what a study searches and how: the settings of `tradai
// hyperopt` that are not the run's (the run holds the strategy, its
// config and fixed parameters).
type Spec struct {
	Spaces    []string `json:"spaces"`
	Epochs    int      `json:"epochs"`
	Loss      string   `json:"loss"`
	Sampler   string   `json:"sampler"`
	Seed      uint64   `json:"seed"`
	MinTrades int      `json:"min_trades,omitempty"`
	// Batch is how many trials a worker asks for and runs per job
	// (default DefaultBatch).
	Batch int `json:"batch,omitempty"`
	// Parallel is how many batch jobs of the study are queued at once:
	// the most workers that help it at a time (default DefaultParallel).
	Parallel int `json:"parallel,omitempty"`
	// FailShare: the study fails once more than this share of its
	// finished trials failed, from optimize.FailMinTrials trials on
	// (default DefaultFailShare).
	FailShare float64 `json:"fail_share,omitempty"`
}

// WithDefaults fills the zero fields.
func (s Spec) WithDefaults() Spec {
	if len(s.Spaces) == 0 {
		s.Spaces = []string{"default"}
	}
	if s.Loss == "" {
		s.Loss = "SharpeHyperOptLoss"
	}
	if s.Sampler == "" {
		s.Sampler = "random"
	}
	if s.MinTrades == 0 {
		s.MinTrades = 1
	}
	if s.Batch == 0 {
		s.Batch = DefaultBatch
	}
	if s.Parallel == 0 {
		s.Parallel = DefaultParallel
	}
	if s.FailShare == 0 {
		s.FailShare = DefaultFailShare
	}
	return s
}

// Validate checks a spec (with its defaults filled), naming the bad field
// as the API does.
func (s Spec) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if s.Epochs <= 0 || s.Epochs > MaxEpochs {
		bad("epochs", "%d is not a number of trials from 1 to %d", s.Epochs, MaxEpochs)
	}
	for _, sp := range s.Spaces {
		if !slices.Contains(optimize.SpaceNames(), sp) {
			bad("spaces", "unknown space %q (known: %s)", sp, strings.Join(optimize.SpaceNames(), ", "))
		}
	}
	if _, err := optimize.LossNamed(s.Loss); err != nil {
		bad("loss", "%v", err)
	}
	if !slices.Contains(sample.Names(), s.Sampler) {
		bad("sampler", "unknown sampler %q (known: %s)", s.Sampler, strings.Join(sample.Names(), ", "))
	}
	if s.MinTrades < 0 {
		bad("min_trades", "%d is negative", s.MinTrades)
	}
	if s.Batch < 1 || s.Batch > MaxBatch {
		bad("batch", "%d is not from 1 to %d", s.Batch, MaxBatch)
	}
	if s.Parallel < 1 || s.Parallel > MaxParallel {
		bad("parallel", "%d is not from 1 to %d", s.Parallel, MaxParallel)
	}
	if !(s.FailShare > 0 && s.FailShare <= 1) {
		bad("fail_share", "%v is not a share above 0 and at most 1", s.FailShare)
	}
	return errors.Join(errs...)
}

// FieldError is a bad field of a Spec, by its JSON name.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }
