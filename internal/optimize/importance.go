package optimize

import (
	"cmp"
	"slices"

	"github.com/tradai/tradai/internal/optimize/sample"
)

// ImportanceBins is the number of bins a numeric parameter's values are
// cut into for Importance.
const ImportanceBins = 10

// ParamImportance is how much of a study's loss one parameter explains.
type ParamImportance struct {
	Name string
	// Share is η², the share of the variance of the trials' loss ranks
	// explained by the parameter's bin: 0 (the loss does not depend on
	// it) to 1 (its bin decides the loss).
	Share float64
	// Chance is the share a parameter the loss ignores gets on average
	// from noise alone: (bins − 1) / (trials − 1).
	Chance float64
	Bins   int
}

// Importance ranks the dimensions of dims by how much of the loss each
// explains, on its own, over the trials that did not fail: the trials'
// losses are replaced by their ranks (ties averaged, so the 100000 of a
// trial with too few trades weighs as one rank, not as a huge number), a
// dimension's values are grouped into bins (a choice or a whole-number
// dimension with at most ImportanceBins values: one per value; otherwise
// ImportanceBins bins of equal counts), and its share is the variance of
// the bins' mean ranks, weighted by their counts, over the ranks' variance
// (the correlation ratio η², a one-way analysis of variance). It sees
// each parameter alone (no interactions), and a parameter the loss
// ignores still gets about Chance. Highest share first; nil with fewer
// than 3 trials.
func Importance(dims sample.Space, trials []Trial) []ParamImportance {
	var ok []*Trial
	for i := range trials {
		if !trials[i].Failed() && len(trials[i].Point) == len(dims) {
			ok = append(ok, &trials[i])
		}
	}
	n := len(ok)
	if n < 3 {
		return nil
	}
	rank := ranks(n, func(i int) float64 { return ok[i].Loss })
	mean := float64(n+1) / 2
	var total float64
	for _, r := range rank {
		total += (r - mean) * (r - mean)
	}
	out := make([]ParamImportance, len(dims))
	for d, dim := range dims {
		bin, bins := binsOf(dim, n, func(i int) float64 { return ok[i].Point[d] })
		sum, cnt := make([]float64, bins), make([]float64, bins)
		for i, b := range bin {
			sum[b] += rank[i]
			cnt[b]++
		}
		var between float64
		used := 0
		for b := range bins {
			if cnt[b] > 0 {
				used++
				m := sum[b] / cnt[b]
				between += cnt[b] * (m - mean) * (m - mean)
			}
		}
		pi := ParamImportance{Name: dim.Name, Bins: used, Chance: float64(used-1) / float64(n-1)}
		if total > 0 {
			pi.Share = between / total
		}
		out[d] = pi
	}
	slices.SortStableFunc(out, func(a, b ParamImportance) int { return cmp.Compare(b.Share, a.Share) })
	return out
}

// ranks are the ranks (1 … n, ties averaged) of the values v(0 … n−1).
func ranks(n int, v func(int) float64) []float64 {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(v(a), v(b)) })
	r := make([]float64, n)
	for i := 0; i < n; {
		j := i
		for j < n && v(idx[j]) == v(idx[i]) {
			j++
		}
		for k := i; k < j; k++ {
			r[idx[k]] = float64(i+j+1) / 2
		}
		i = j
	}
	return r
}

// binsOf puts each of the n values v(i) of dim into a bin.
func binsOf(dim sample.Dim, n int, v func(int) float64) (bin []int, bins int) {
	bin = make([]int, n)
	if dim.Categorical() {
		for i := range bin {
			bin[i] = min(max(int(v(i)), 0), len(dim.Choices)-1)
		}
		return bin, len(dim.Choices)
	}
	distinct := map[float64]int{}
	for i := range n {
		distinct[v(i)] = 0
		if len(distinct) > ImportanceBins {
			break
		}
	}
	if len(distinct) <= ImportanceBins {
		keys := make([]float64, 0, len(distinct))
		for k := range distinct {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i := range bin {
			bin[i], _ = slices.BinarySearch(keys, v(i))
		}
		return bin, len(keys)
	}
	// Equal counts by rank; equal values share a bin.
	r := ranks(n, v)
	for i := range bin {
		bin[i] = min(int((r[i]-1)*ImportanceBins/float64(n)), ImportanceBins-1)
	}
	return bin, ImportanceBins
}
