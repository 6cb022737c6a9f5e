package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tradai/tradai/internal/tenancy"
)

// Diff is what changed from one version to another.
type Diff struct {
	From, To Version
	// Code is a unified diff of the files (empty when they are the same).
	Code string
	// Spec is a unified diff of the declared specs as indented JSON.
	Spec string
}

// maxDiffCells bounds the work of one file's line diff (lines × lines).
const maxDiffCells = 4_000_000

// Diff compares two versions of the tenant (any refs, also of two names).
func (r *Registry) Diff(ctx context.Context, p tenancy.Principal, from, to string) (Diff, error) {
	a, fa, err := r.Files(ctx, p, from)
	if err != nil {
		return Diff{}, err
	}
	b, fb, err := r.Files(ctx, p, to)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{From: a, To: b}
	byName := func(fs []File) map[string]File {
		m := make(map[string]File, len(fs))
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	ma, mb := byName(fa), byName(fb)
	// Pairs of files to compare, by name; a strategy file renamed between
	// the versions is compared with its former self.
	type pair struct{ a, b string }
	var pairs []pair
	renamed := a.Entry != b.Entry && mb[a.Entry].Name == "" && ma[b.Entry].Name == ""
	for _, f := range fa {
		switch {
		case renamed && f.Name == a.Entry:
			pairs = append(pairs, pair{a.Entry, b.Entry})
		case mb[f.Name].Name != "":
			pairs = append(pairs, pair{f.Name, f.Name})
		default:
			pairs = append(pairs, pair{f.Name, ""})
		}
	}
	for _, f := range fb {
		if ma[f.Name].Name == "" && !(renamed && f.Name == b.Entry) {
			pairs = append(pairs, pair{"", f.Name})
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int { return strings.Compare(max(x.a, x.b), max(y.a, y.b)) })
	var code strings.Builder
	for _, pr := range pairs {
		x, inA := ma[pr.a]
		y, inB := mb[pr.b]
		if pr.a != "" && pr.a == pr.b && bytes.Equal(x.Data, y.Data) && x.Exec == y.Exec {
			continue
		}
		an, bn := "a/"+pr.a, "b/"+pr.b
		if !inA {
			an = "/dev/null"
		}
		if !inB {
			bn = "/dev/null"
		}
		if inA && inB && pr.a != pr.b {
			fmt.Fprintf(&code, "renamed %s → %s\n", pr.a, pr.b)
		}
		if inA && inB && bytes.Equal(x.Data, y.Data) {
			if x.Exec != y.Exec {
				fmt.Fprintf(&code, "mode of %s: %s → %s\n", pr.b, mode(x.Exec), mode(y.Exec))
			}
			continue
		}
		if !text(x.Data) || !text(y.Data) {
			fmt.Fprintf(&code, "Binary files %s and %s differ\n", an, bn)
			continue
		}
		code.WriteString(Unified(an, bn, string(x.Data), string(y.Data)))
	}
	d.Code = code.String()
	sa, _ := json.MarshalIndent(a.Spec, "", "  ")
	sb, _ := json.MarshalIndent(b.Spec, "", "  ")
	d.Spec = Unified(a.Ref()+" spec", b.Ref()+" spec", string(sa)+"\n", string(sb)+"\n")
	return d, nil
}

func mode(exec bool) string {
	if exec {
		return "755"
	}
	return "644"
}

func text(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// Unified is a unified diff (three lines of context) of two texts, ""
// when they are equal.
func Unified(aName, bName, a, b string) string {
	if a == b {
		return ""
	}
	al, bl := lines(a), lines(b)
	if len(al)*len(bl) > maxDiffCells {
		return fmt.Sprintf("--- %s\n+++ %s\n(too large to compare line by line: %d and %d lines)\n", aName, bName, len(al), len(bl))
	}
	ops := lcsOps(al, bl)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	const ctx = 3
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after the
		// last change that is at most 2*ctx equal lines away.
		start := max(0, i-ctx)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(len(ops), end+ctx)
				break
			}
			end = run
		}
		h := ops[start:end]
		as, bs := h[0].a, h[0].b
		var an, bn int
		for _, o := range h {
			if o.kind != '+' {
				an++
			}
			if o.kind != '-' {
				bn++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(as, an), hunkRange(bs, bn))
		for _, o := range h {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			if !strings.HasSuffix(o.line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// lines splits s after each newline (the last line may lack one).
func lines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

type op struct {
	kind byte // ' ', '-', '+'
	line string
	a, b int // line index in a and b where the op stands
}

// lcsOps is the edit script of a longest common subsequence of lines.
func lcsOps(a, b []string) []op {
	n, m := len(a), len(b)
	// l[i][j]: LCS length of a[i:] and b[j:].
	l := make([][]int32, n+1)
	for i := range l {
		l[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || l[i+1][j] >= l[i][j+1]):
			ops = append(ops, op{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', b[j], i, j})
			j++
		}
	}
	return ops
}
