#!/usr/bin/env python3
"""SMA cross: the built-in ``sma_cross`` strategy, ported to Python.

Long when SMA(fast) crosses above SMA(slow); exit on the cross back down.
Same parameters, defaults and risk settings as the Go built-in, and the same
signals on any data. The indicators come from ``candles.ta``: when TradAI
offers to compute them (the protocol's "compute" extension) it computes the
averages with the built-in's own Go code and keeps them, the entries cross
as a reference to a result TradAI holds and only the exit's n bytes of
"fast above slow" come back; the script imports no numpy. With an older
TradAI, or in ``evaluate``, the SDK computes the same values itself (with
numpy when there is one, bit for bit the same). Speed: see
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
        if len(candles) <= slow:
            return  # the built-in signals from candle slow on: none here
        # TradAI computes the averages, the crossings and the comparison
        # (when it offers to; the SDK computes the same values otherwise).
        # The crossings are false wherever an average is still NaN, so the
        # signals start at candle slow, as the built-in's.
        ta = candles.ta
        a, b = ta.sma("close", fast), ta.sma("close", slow)
        signals.enter_long = ta.crossed_above(a, b)  # only its ref crosses
        # The built-in exits where SMA(fast) stops being above SMA(slow):
        # up[i-1] and not up[i]. ta.crossed_below differs where the two are
        # equal (a[i-1] >= b[i-1] and a[i] < b[i]), so the exit is made here
        # from the n bytes of "above": as one big integer, a byte a candle,
        # shifted by a byte to see the candle before.
        n = len(candles)
        up = int.from_bytes(ta.above(a, b).bytes(), "little")
        down = up ^ int.from_bytes(b"\x01" * n, "little")
        signals.exit_long = ((up << 8) & down).to_bytes(n + 1, "little")[:n]

if __name__ == "__main__":
    run(SmaCross())
