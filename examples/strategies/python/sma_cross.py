#!/usr/bin/env python3
"""SMA cross: the built-in ``sma_cross`` strategy, ported to Python.

Long when SMA(fast) crosses above SMA(slow); exit on the cross back down.
Same parameters, defaults and risk settings as the Go built-in, and the same
signals on any data: the SDK's ``sma`` computes the Go ``ta.SMA`` values bit
for bit.

Run it through TradAI, or by hand: ``python3 sma_cross.py --spec``.
"""

import sys
from pathlib import Path

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sdk" / "python"))

from tradai_strategy import IntParam, Strategy, run, sma


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
        a, b = sma(candles.close, fast), sma(candles.close, slow)
        enter, exit_ = signals.enter_long, signals.exit_long
        for i in range(slow, len(a)):
            up0, up1 = a[i - 1] > b[i - 1], a[i] > b[i]
            enter[i] = up1 and not up0
            exit_[i] = up0 and not up1


if __name__ == "__main__":
    run(SmaCross())
