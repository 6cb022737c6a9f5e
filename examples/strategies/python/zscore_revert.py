#!/usr/bin/env python3
"""Z-score mean reversion, vectorized with numpy when it is installed.

z = (close - SMA(close, window)) / stdev(close, window). Long when z drops
below -entry_z; exit when z rises above exit_z. With numpy the rolling mean
and deviation are computed over sliding windows and the signal columns are
assigned whole from numpy bool arrays; without numpy the SDK's pure-Python
``sma`` and ``stdev`` do the same work. Both paths look only backwards: the
value at candle i uses candles i-window+1..i.

(The two paths agree to rounding: the numpy means and deviations are not
computed in the same order as the SDK's, so a candle whose z is within a
few ulps of a threshold can differ.)
"""

import os
import sys

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))

from tradai_strategy import CategoricalParam, FloatParam, IntParam, Strategy, numpy_or_none, run, sma, stdev


class ZScoreRevert(Strategy):
    name = "zscore_revert_py"
    description = "Mean reversion on the z-score of the close against its rolling mean (numpy when available)."
    timeframe = "5m"
    startup_candle_count = 100
    columns = ["close"]
    params = [
        IntParam("window", 50, 10, 100, help="rolling window of the mean and deviation"),
        FloatParam("entry_z", 2.0, 0.5, 4.0, help="enter long below -entry_z"),
        FloatParam("exit_z", 0.0, -1.0, 3.0, help="exit above exit_z"),
        CategoricalParam("engine", "auto", ["auto", "python"], help="auto uses numpy when installed"),
    ]
    minimal_roi = {"0": 0.04, "240": 0.01}
    stoploss = -0.05

    def on_start(self):
        numpy_or_none()  # import numpy while TradAI loads the candles

    def populate(self, candles, params, signals):
        np = numpy_or_none()  # None without numpy, or with TRADAI_NO_NUMPY=1
        if np is not None and params.engine == "auto":
            self._populate_numpy(np, candles, params, signals)
        else:
            self._populate_python(candles, params, signals)

    @staticmethod
    def _populate_numpy(np, candles, params, signals):
        close = candles.np("close")
        w = params.window
        n = len(close)
        z = np.full(n, np.nan)
        if n >= w:
            # Rolling mean and variance over windows[j] = d[j : j+w] (candles
            # j..j+w-1, so the value at candle i = j+w-1 uses only the past).
            # d is the close shifted by its first value, a constant, which
            # keeps mean(d^2) - mean(d)^2 accurate.
            d = close - close[0]
            sliding = np.lib.stride_tricks.sliding_window_view
            mean = sliding(d, w).mean(axis=1)
            var = sliding(d * d, w).mean(axis=1) - mean * mean
            sd = np.sqrt(np.maximum(var, 0.0))
            # A window whose closes never move has no deviation at all (the
            # formula above may leave rounding noise there): moves[i] counts
            # the changes of close up to candle i.
            moves = np.concatenate(([0], np.cumsum(close[1:] != close[:-1])))
            flat = moves[w - 1 :] == moves[: n - w + 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                z[w - 1 :] = np.where(flat | (sd <= 0), np.nan, (d[w - 1 :] - mean) / sd)
        # NaN compares False, so the warm-up gives no signal.
        signals.enter_long = z < -params.entry_z
        signals.exit_long = z > params.exit_z

    @staticmethod
    def _populate_python(candles, params, signals):
        close = candles.close
        mean, sd = sma(close, params.window), stdev(close, params.window)
        lo, hi = -params.entry_z, params.exit_z
        enter, exit_ = signals.enter_long, signals.exit_long
        for i, c in enumerate(close):
            s = sd[i]
            if s > 0:  # False for NaN (warm-up) and for a flat window
                z = (c - mean[i]) / s
                enter[i] = z < lo
                exit_[i] = z > hi


if __name__ == "__main__":
    run(ZScoreRevert())
