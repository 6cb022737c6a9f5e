#!/usr/bin/env python3
"""SMA cross: the built-in ``sma_cross`` strategy, ported to Python.

Long when SMA(fast) crosses above SMA(slow); exit on the cross back down.
Same parameters, defaults and risk settings as the Go built-in, and the same
signals on any data. The indicators come from ``candles.ta``: when TradAI
offers to compute them (the protocol's "compute" extension) it computes the
averages with the built-in's own Go code and keeps them, and the signals
cross as references to results TradAI holds: the script imports no numpy
and no indicator value comes back to it (nor, with the shared memory,
any candle: it reads no column, so none is fetched). With an older TradAI,
or in ``evaluate``, the SDK computes the same values itself (with numpy
when there is one, bit for bit the same). Speed: see
docs/BENCHMARKS.md and docs/strategies.md, "Speed and numpy".

Run it through TradAI, or by hand: ``python3 sma_cross.py --spec``.
"""

import os
import sys

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))

from tradai_strategy import IntParam, Strategy, run


class SmaCross(Strategy):
    name = "sma_cross_py"
    description = "Long when SMA(fast) crosses above SMA(slow); exit on the cross back down."
    timeframe = "5m"
    startup_candle_count = 200
    columns = ["close"]
    params = [
        IntParam("fast", 10, 2, 100, help="fast SMA period"),
        IntParam("slow", 30, 5, 200, help="slow SMA period"),
    ]
    minimal_roi = {"0": 0.10, "240": 0.04, "720": 0.01}
    stoploss = -0.08

    def populate(self, candles, params, signals):
        fast, slow = params.fast, params.slow
        if fast >= slow:
            raise ValueError(f"sma_cross_py: fast period {fast} must be below slow period {slow}")
        # TradAI computes the averages and the signals (when it offers to;
        # the SDK computes the same values otherwise), and only the
        # results' numbers cross. The built-in enters where SMA(fast) comes
        # above SMA(slow) and exits where it stops being above: crossed_above
        # is false wherever an average is still NaN, and "above" is false
        # there, so both start at candle slow, as the built-in's.
        ta = candles.ta
        a, b = ta.sma("close", fast), ta.sma("close", slow)
        signals.enter_long = ta.crossed_above(a, b)
        signals.exit_long = ta.fell(ta.above(a, b))


if __name__ == "__main__":
    run(SmaCross())
