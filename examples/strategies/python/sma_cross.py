#!/usr/bin/env python3
"""SMA cross: the built-in ``sma_cross`` strategy, ported to Python.

Long when SMA(fast) crosses above SMA(slow); exit on the cross back down.
Same parameters, defaults and risk settings as the Go built-in, and the same
signals on any data: the SDK's ``sma`` and ``sma_np`` compute the Go
``ta.SMA`` values bit for bit. With numpy (``apt install python3-numpy`` or
``pip install numpy``) whole columns are computed at once and a backtest of
a million candles runs at a little over a third of the built-in's speed, the
interpreter's start and numpy's import being most of the difference;
without it (or with ``TRADAI_NO_NUMPY=1``) a Python loop over the candles
gives the same signals, several times slower (docs/strategies.md, "Speed
and numpy").

Run it through TradAI, or by hand: ``python3 sma_cross.py --spec``.
"""

import os
import sys

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))

from tradai_strategy import IntParam, Strategy, numpy_or_none, run, sma, sma_np


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

    def on_start(self):
        numpy_or_none()  # import numpy while TradAI loads the candles

    def populate(self, candles, params, signals):
        fast, slow = params.fast, params.slow
        if fast >= slow:
            raise ValueError(f"sma_cross_py: fast period {fast} must be below slow period {slow}")
        if numpy_or_none() is not None:
            # up[i]: SMA(fast) above SMA(slow) at candle i (False in the
            # warm-up, where either is NaN); the signals are written in
            # place into the signal columns.
            close = candles.np("close")
            up = sma_np(close, fast) > sma_np(close, slow)
            now, before = up[slow:], up[slow - 1 : -1]
            signals.np("enter_long")[slow:] = now > before
            signals.np("exit_long")[slow:] = before > now
            return
        a, b = sma(candles.close, fast), sma(candles.close, slow)
        enter, exit_ = signals.enter_long, signals.exit_long
        for i in range(slow, len(a)):
            up0, up1 = a[i - 1] > b[i - 1], a[i] > b[i]
            enter[i] = up1 and not up0
            exit_[i] = up0 and not up1


if __name__ == "__main__":
    run(SmaCross())
