#!/usr/bin/env python3
"""MACD trend: the built-in ``macd_trend`` strategy, ported to Python.

MACD crosses in the direction of a long EMA trend: long above EMA(trend) on
a bullish cross, short below it on a bearish cross (futures mode), with
enter tags. Same parameters, risk settings, signals and tags as the Go
built-in.
"""

import math
import os
import sys

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))

from tradai_strategy import IntParam, Strategy, crossed_above, crossed_below, ema, macd, run


class MacdTrend(Strategy):
    name = "macd_trend_py"
    description = (
        "MACD crosses with the trend: long above EMA(trend) on a bullish cross, "
        "short below it on a bearish cross."
    )
    timeframe = "1h"
    startup_candle_count = 800
    can_short = True
    columns = ["close"]
    params = [
        IntParam("fast", 12, 2, 50),
        IntParam("slow", 26, 5, 100),
        IntParam("signal", 9, 2, 50),
        IntParam("trend", 200, 20, 400, help="EMA period of the trend filter"),
    ]
    minimal_roi = {"0": 0.15}
    stoploss = -0.05
    trailing_stop = True
    trailing_stop_positive = 0.02
    trailing_stop_positive_offset = 0.04
    trailing_only_offset_is_reached = True

    def populate(self, candles, params, signals):
        if params.fast >= params.slow:
            raise ValueError(f"macd_trend_py: fast period {params.fast} must be below slow period {params.slow}")
        close = candles.close
        line, sig, _ = macd(close, params.fast, params.slow, params.signal)
        trend = ema(close, params.trend)
        ups, downs = crossed_above(line, sig), crossed_below(line, sig)
        for i, c in enumerate(close):
            if math.isnan(trend[i]):
                continue
            up, down = ups[i], downs[i]
            if up and c > trend[i]:
                signals.enter_long[i] = True
                signals.tag(i, "macd_long")
            if down and c < trend[i]:
                signals.enter_short[i] = True
                signals.tag(i, "macd_short")
            signals.exit_long[i] = down
            signals.exit_short[i] = up


if __name__ == "__main__":
    run(MacdTrend())
