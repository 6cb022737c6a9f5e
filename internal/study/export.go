package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
)

// ErrNotAVersion: the study's strategy is not a registry version (a
// built-in has no code in the registry to push a version of).
var ErrNotAVersion = errors.New("the study's strategy is not a registry version")

// Versions is what ExportVersion needs of the strategy registry
// (*registry.Registry).
type Versions interface {
	Files(ctx context.Context, p tenancy.Principal, ref string) (registry.Version, []registry.File, error)
	Push(ctx context.Context, p tenancy.Principal, name string, files []registry.File, o registry.PushOptions) (registry.Version, bool, error)
}

// ExportVersion pushes the study's best parameters as a new version of
// its strategy: the files of the version the study ran, with Freqtrade's
// parameter file of the best trial beside the entry
// (strategyref.ParamsFileName, replacing one already there), so that the
// new version declares those values as its defaults. The message names
// the study and the trial. The file's export time is the study's creation,
// so exporting the same best trial again finds the version already pushed
// (created false).
func (s *Store) ExportVersion(ctx context.Context, p tenancy.Principal, st *Study, reg Versions) (registry.Version, bool, error) {
	spec := st.Run.Spec
	if spec.StrategyVersion <= 0 {
		return registry.Version{}, false, fmt.Errorf("study %s: strategy %s: %w", st.ID(), spec.Strategy, ErrNotAVersion)
	}
	best, err := s.Best(ctx, p, st.ID(), 1)
	if err != nil {
		return registry.Version{}, false, err
	}
	if len(best) == 0 {
		return registry.Version{}, false, fmt.Errorf("study %s: %w", st.ID(), ErrNoBest)
	}
	f, err := ParamsFile(st, best[0], st.Run.Created)
	if err != nil {
		return registry.Version{}, false, err
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return registry.Version{}, false, fmt.Errorf("study %s: %w", st.ID(), err)
	}
	ref := fmt.Sprintf("%s@%d", spec.Strategy, spec.StrategyVersion)
	v, files, err := reg.Files(ctx, p, ref)
	if err != nil {
		return registry.Version{}, false, fmt.Errorf("study %s: its strategy %s: %w", st.ID(), ref, err)
	}
	pf := registry.File{Name: strategyref.ParamsFileName(v.Entry), Data: append(raw, '\n')}
	files = slices.DeleteFunc(slices.Clone(files), func(f registry.File) bool { return f.Name == pf.Name })
	files = append(files, pf)
	msg := fmt.Sprintf("the best parameters of study %s (trial %d, loss %.6g) over %s", st.ID(), best[0].Number, best[0].Loss, ref)
	nv, created, err := reg.Push(ctx, p, v.Name, files, registry.PushOptions{Message: msg, Runtime: string(v.Runtime)})
	if err != nil {
		return registry.Version{}, false, fmt.Errorf("study %s: push a version of %s: %w", st.ID(), v.Name, err)
	}
	return nv, created, nil
}
