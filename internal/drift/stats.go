package drift

import (
	"math"
	"slices"
)

// psiEpsilon stands in for the share of an empty bin, so that the index
// stays finite (ln 0).
const psiEpsilon = 1e-4

// psiBins bounds how many quantile bins of the reference the index uses;
// psiPerBin is how many values of the smaller sample each bin should get
// on average: the index of two samples of one distribution grows with
// bins ÷ sample size, so small samples get fewer, wider bins.
const (
	psiBins   = 10
	psiPerBin = 20
)

// PSI is the population stability index of actual against expected: the
// sum over bins of (a−e)·ln(a/e), a and e the shares of each sample in
// the bin (NaNs and infinities left out). The bins' edges are expected's quantiles: deciles, or fewer
// bins when the smaller sample has less than 20 values a bin (2 at the
// least), ties merged (a feature of few distinct values gets fewer bins);
// an empty bin's share is psiEpsilon. 0 when either sample is empty.
func PSI(expected, actual []float64) float64 {
	expected, actual = finite(expected), finite(actual)
	if len(expected) == 0 || len(actual) == 0 {
		return 0
	}
	ref := slices.Sorted(slices.Values(expected))
	var edges []float64 // a value v is in bin i when edges[i-1] < v <= edges[i]
	bins := min(psiBins, max(2, min(len(expected), len(actual))/psiPerBin))
	for i := 1; i < bins; i++ {
		q := quantile(ref, float64(i)/float64(bins))
		if len(edges) == 0 || q > edges[len(edges)-1] {
			edges = append(edges, q)
		}
	}
	shares := func(xs []float64) []float64 {
		n := make([]float64, len(edges)+1)
		for _, x := range xs {
			i, _ := slices.BinarySearch(edges, x) // the first edge >= x
			n[i]++
		}
		for i := range n {
			n[i] = max(n[i]/float64(len(xs)), psiEpsilon)
		}
		return n
	}
	e, a := shares(expected), shares(actual)
	var psi float64
	for i := range e {
		psi += (a[i] - e[i]) * math.Log(a[i]/e[i])
	}
	return psi
}

// finite is xs without NaNs and infinities (a record no trade makes, but
// sorting and comparing would go wrong on them).
func finite(xs []float64) []float64 {
	if !slices.ContainsFunc(xs, notFinite) {
		return xs
	}
	return slices.DeleteFunc(slices.Clone(xs), notFinite)
}

func notFinite(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// quantile is the q-quantile of sorted (linear interpolation between the
// closest ranks).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// KS is the two-sample Kolmogorov–Smirnov test of a and b: the statistic
// D (the largest distance between the samples' empirical distribution
// functions) and lambda = D·√(nm/(n+m)), whose p-value is
// [KolmogorovQ](lambda) (the asymptotic distribution; close enough from
// some twenty values a side). Zero when either sample is empty. NaNs and
// infinities are left out.
func KS(a, b []float64) (d, lambda float64) {
	a, b = finite(a), finite(b)
	if len(a) == 0 || len(b) == 0 {
		return 0, 0
	}
	x, y := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	n, m := float64(len(x)), float64(len(y))
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		v := min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = max(d, math.Abs(float64(i)/n-float64(j)/m))
	}
	return d, d * math.Sqrt(n*m/(n+m))
}

// KolmogorovQ is the Kolmogorov distribution's survival function,
// Q(λ) = 2·Σ_{k≥1} (−1)^(k−1)·e^(−2k²λ²): the probability that lambda
// is at least λ when both samples come from one distribution.
func KolmogorovQ(lambda float64) float64 {
	if lambda < 0.2 {
		return 1 // the series converges slowly there; Q is 1 to 1e-9
	}
	var sum float64
	sign := 1.0
	for k := 1; k <= 100; k++ {
		term := sign * math.Exp(-2*float64(k*k)*lambda*lambda)
		sum += term
		if math.Abs(term) < 1e-12 {
			break
		}
		sign = -sign
	}
	return min(max(2*sum, 0), 1)
}

// criticalLambda is the λ whose KolmogorovQ is alpha (0 < alpha < 1):
// samples whose lambda exceeds it differ at level alpha.
func criticalLambda(alpha float64) float64 {
	lo, hi := 0.2, 10.0
	for range 100 {
		mid := (lo + hi) / 2
		if KolmogorovQ(mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
