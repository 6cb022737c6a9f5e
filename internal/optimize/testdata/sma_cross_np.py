#!/usr/bin/env python3
"""sma_cross written with numpy, for BenchmarkHyperoptPython: the built-in's
parameters, risk settings and crossing rule, the averages computed from a
cumulative sum (so not bit for bit the Go values). SMA_CROSS_NP_PROTOCOL=1
makes it speak protocol version 1 only."""

import os

import numpy as np

import tradai_strategy
from tradai_strategy import IntParam, Strategy, run

if os.environ.get("SMA_CROSS_NP_PROTOCOL") == "1":
    # As a strategy built before protocol version 2: the columns with
    # every request (the benchmark's comparison).
    tradai_strategy.PROTOCOL = 1


def sma(x, n):
    c = np.cumsum(np.insert(x, 0, 0.0))
    out = np.full(len(x), np.nan)
    out[n - 1:] = (c[n:] - c[:-n]) / n
    return out


class SmaCrossNp(Strategy):
    name = "sma_cross_np"
    timeframe = "5m"
    startup_candle_count = 200
    columns = ["close"]
    params = [IntParam("fast", 10, 2, 100), IntParam("slow", 30, 5, 200)]
    minimal_roi = {"0": 0.10, "240": 0.04, "720": 0.01}
    stoploss = -0.08

    def populate(self, candles, params, signals):
        fast, slow = params.fast, params.slow
        if fast >= slow:
            raise ValueError(f"fast period {fast} must be below slow period {slow}")
        close = candles.np("close")
        up = sma(close, fast) > sma(close, slow)
        up[:slow] = False
        prev = np.roll(up, 1)
        prev[:slow] = up[:slow]
        signals.enter_long = up & ~prev
        signals.exit_long = prev & ~up


if __name__ == "__main__":
    run(SmaCrossNp())
