package overfit

import (
	"fmt"
	"math"
)

// MaxSplits bounds CSCV's S: C(20, 10) = 184,756 splits.
const MaxSplits = 20

// CSCV is the result of combinatorially symmetric cross-validation.
type CSCV struct {
	// Splits is S, the number of blocks the periods were cut into;
	// Combinations is C(S, S/2), the train/test splits tried.
	Splits, Combinations int
	// Dropped is how many of the oldest periods were left out so that
	// the blocks are equal.
	Dropped int
	// PBO is the probability of backtest overfitting: the share of splits
	// in which the trial best in-sample ranks at or below the median
	// out-of-sample (logit ≤ 0).
	PBO float64
	// Logits holds, per split, ln(ω/(1−ω)) of the in-sample best's
	// relative out-of-sample rank ω = rank/(N+1) (rank 1 the worst, N the
	// best, ties averaged): their histogram is the paper's figure.
	Logits []float64
	// Slope and Intercept fit the in-sample best's out-of-sample Sharpe
	// ratio against its in-sample one over the splits (least squares): a
	// slope well below 1 is performance degradation. NaN when the
	// in-sample Sharpe ratios do not vary.
	Slope, Intercept float64
	// ProbLoss is the share of splits whose in-sample best has an
	// out-of-sample Sharpe ratio below 0.
	ProbLoss float64
}

// PBO runs CSCV (Bailey, Borwein, López de Prado & Zhu 2017) on the
// trials' per-period returns (trials[i][t]: trial i's return in period
// t; every trial over the same periods). The periods are cut into splits
// (S, even) contiguous blocks of equal length, dropping the oldest
// periods that do not fit; every choice of S/2 blocks is a training set
// with the rest as its test set. Performance is the Sharpe ratio (per
// period, sample standard deviation; 0 for a trial whose returns do not
// change). Each block needs at least 2 periods.
func PBO(trials [][]float64, splits int) (CSCV, error) {
	n := len(trials)
	switch {
	case n < 2:
		return CSCV{}, fmt.Errorf("trials: %d, need at least 2 to rank", n)
	case splits < 2 || splits%2 != 0:
		return CSCV{}, fmt.Errorf("splits: %d, need an even number of at least 2", splits)
	case splits > MaxSplits:
		return CSCV{}, fmt.Errorf("splits: %d, at most %d (the combinations grow as C(S, S/2))", splits, MaxSplits)
	}
	periods := len(trials[0])
	for i, r := range trials {
		if len(r) != periods {
			return CSCV{}, fmt.Errorf("trial %d: %d periods, trial 0 has %d", i, len(r), periods)
		}
		for t, x := range r {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return CSCV{}, fmt.Errorf("trial %d: period %d is %v", i, t, x)
			}
		}
	}
	size := periods / splits
	if size < 2 {
		return CSCV{}, fmt.Errorf("returns: %d periods cannot make %d blocks of at least 2", periods, splits)
	}
	dropped := periods - size*splits

	// Per block and trial: the sum and the sum of squares of the returns
	// less the trial's mean (for precision), so that any union of blocks
	// is a few additions.
	sum := make([][]float64, splits)
	sq := make([][]float64, splits)
	for b := range splits {
		sum[b], sq[b] = make([]float64, n), make([]float64, n)
	}
	mean := make([]float64, n)
	for i, r := range trials {
		r = r[dropped:]
		for _, x := range r {
			mean[i] += x
		}
		mean[i] /= float64(len(r))
		for t, x := range r {
			b := t / size
			sum[b][i] += x - mean[i]
			sq[b][i] += (x - mean[i]) * (x - mean[i])
		}
	}

	res := CSCV{Splits: splits, Dropped: dropped}
	half := splits / 2
	train := make([]int, half)
	for i := range train {
		train[i] = i
	}
	inTrain := make([]bool, splits)
	is, oos := make([]float64, n), make([]float64, n)
	var isBest, oosBest []float64
	overfit, losses := 0, 0
	for {
		clear(inTrain)
		for _, b := range train {
			inTrain[b] = true
		}
		for i := range n {
			var s1, q1, s2, q2 float64
			for b := range splits {
				if inTrain[b] {
					s1, q1 = s1+sum[b][i], q1+sq[b][i]
				} else {
					s2, q2 = s2+sum[b][i], q2+sq[b][i]
				}
			}
			m := half * size
			is[i], oos[i] = sharpe(mean[i], s1, q1, m), sharpe(mean[i], s2, q2, m)
		}
		best := 0
		for i := range n {
			if is[i] > is[best] {
				best = i
			}
		}
		w := rank(oos, best) / float64(n+1)
		l := math.Log(w / (1 - w))
		res.Logits = append(res.Logits, l)
		if l <= 0 {
			overfit++
		}
		if oos[best] < 0 {
			losses++
		}
		isBest, oosBest = append(isBest, is[best]), append(oosBest, oos[best])
		if !nextCombination(train, splits) {
			break
		}
	}
	res.Combinations = len(res.Logits)
	res.PBO = float64(overfit) / float64(res.Combinations)
	res.ProbLoss = float64(losses) / float64(res.Combinations)
	res.Slope, res.Intercept = fitLine(isBest, oosBest)
	return res, nil
}

// sharpe is the Sharpe ratio of m returns whose deviations from c have
// the given sum and sum of squares: 0 when they do not vary and their
// mean is 0, ±Inf when they do not vary otherwise.
func sharpe(c, sum, sq float64, m int) float64 {
	mean := c + sum/float64(m)
	v := (sq - sum*sum/float64(m)) / float64(m-1)
	if v <= 1e-300 {
		switch {
		case mean > 0:
			return math.Inf(1)
		case mean < 0:
			return math.Inf(-1)
		}
		return 0
	}
	return mean / math.Sqrt(v)
}

// rank is the rank of x[k] among x, 1 for the lowest, ties averaged.
func rank(x []float64, k int) float64 {
	below, equal := 0, 0
	for _, v := range x {
		switch {
		case v < x[k]:
			below++
		case v == x[k]:
			equal++
		}
	}
	return float64(below) + float64(equal+1)/2
}

// nextCombination advances c, a sorted choice of len(c) of 0…n−1, to the
// next in lexicographic order; false after the last.
func nextCombination(c []int, n int) bool {
	k := len(c)
	i := k - 1
	for i >= 0 && c[i] == n-k+i {
		i--
	}
	if i < 0 {
		return false
	}
	c[i]++
	for j := i + 1; j < k; j++ {
		c[j] = c[j-1] + 1
	}
	return true
}

// fitLine is the least-squares line y = slope·x + intercept over the
// finite pairs; NaN, NaN when x does not vary.
func fitLine(x, y []float64) (slope, intercept float64) {
	var n, sx, sy float64
	for i := range x {
		if !math.IsInf(x[i], 0) && !math.IsInf(y[i], 0) {
			n, sx, sy = n+1, sx+x[i], sy+y[i]
		}
	}
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range x {
		if !math.IsInf(x[i], 0) && !math.IsInf(y[i], 0) {
			sxx += (x[i] - mx) * (x[i] - mx)
			sxy += (x[i] - mx) * (y[i] - my)
		}
	}
	if sxx == 0 {
		return math.NaN(), math.NaN()
	}
	return sxy / sxx, my - sxy/sxx*mx
}
