package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/tradai/tradai/internal/strategyref"
)

// Materialise writes the files of v (a version of tenant) into
// <Dir>/<sha256>/ unless they are there, and returns that folder. The
// folder appears whole or not at all (written as a temporary folder, then
// renamed) and is read-only.
func (r *Registry) Materialise(ctx context.Context, tenant string, v Version) (string, error) {
	dir := filepath.Join(r.dir, v.SHA256)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	files, err := r.files(ctx, tenant, v)
	if err != nil {
		return "", err
	}
	dir, _, err = r.materialise(v.SHA256, files)
	return dir, err
}

// materialise writes files as the folder of sha; created says this call
// made it.
func (r *Registry) materialise(sha string, files []File) (dir string, created bool, err error) {
	dir = filepath.Join(r.dir, sha)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, false, nil
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return "", false, fmt.Errorf("strategy files: %w", err)
	}
	tmp, err := os.MkdirTemp(r.dir, ".tmp-"+sha[:12]+"-")
	if err != nil {
		return "", false, fmt.Errorf("strategy files: %w", err)
	}
	if err := writeTree(tmp, files); err != nil {
		removeTree(tmp)
		return "", false, fmt.Errorf("strategy files %s: %w", sha[:12], err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		removeTree(tmp)
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return dir, false, nil // another process wrote it first
		}
		return "", false, fmt.Errorf("strategy files %s: %w", sha[:12], err)
	}
	if d, err := os.Open(r.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return dir, true, nil
}

// writeTree writes files under root, synced, then makes everything
// read-only (folders last, deepest first).
func writeTree(root string, files []File) error {
	var dirs []string
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if d := filepath.Dir(p); d != root {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
			for ; d != root; d = filepath.Dir(d) {
				dirs = append(dirs, d)
			}
		}
		mode := fs.FileMode(0o444)
		if f.Exec {
			mode = 0o555
		}
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = w.Write(f.Data)
		err = errors.Join(err, w.Sync(), w.Close(), os.Chmod(p, mode))
		if err != nil {
			return err
		}
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return os.Chmod(root, 0o555)
}

// removeTree removes a (partly) read-only tree.
func removeTree(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(root)
}

// Tenant is the registry as one tenant's strategyref.Resolver.
func (r *Registry) Tenant(tenant string) strategyref.Resolver { return tenantResolver{r, tenant} }

type tenantResolver struct {
	r      *Registry
	tenant string
}

// Resolve finds the version ref names and materialises its files.
func (t tenantResolver) Resolve(ctx context.Context, ref string) (strategyref.Version, error) {
	v, err := t.r.Resolve(ctx, t.tenant, ref)
	if err != nil {
		return strategyref.Version{}, err
	}
	dir, err := t.r.Materialise(ctx, t.tenant, v)
	if err != nil {
		return strategyref.Version{}, err
	}
	return strategyref.Version{Name: v.Name, Number: v.Number, SHA256: v.SHA256, Runtime: string(v.Runtime), Dir: dir, Entry: v.Entry}, nil
}
