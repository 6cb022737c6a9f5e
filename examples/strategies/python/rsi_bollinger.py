#!/usr/bin/env python3
"""RSI + Bollinger: the built-in ``rsi_bollinger`` strategy, ported to Python.

Mean reversion: long when the close drops below the lower Bollinger band
with RSI oversold; exit at the middle band or when RSI is overbought. Same
parameters, defaults, risk settings and signals as the Go built-in.
"""

import math
import os
import sys

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))

from tradai_strategy import FloatParam, IntParam, Strategy, bollinger, rsi, run


class RsiBollinger(Strategy):
    name = "rsi_bollinger_py"
    description = (
        "Mean reversion: long below the lower Bollinger band with RSI oversold; "
        "exit at the middle band or RSI overbought."
    )
    timeframe = "5m"
    startup_candle_count = 150
    columns = ["close"]
    params = [
        IntParam("rsi_period", 14, 2, 50),
        FloatParam("rsi_buy", 30.0, 5, 50, help="RSI below this is oversold"),
        FloatParam("rsi_sell", 70.0, 50, 95, help="RSI above this is overbought"),
        IntParam("bb_period", 20, 5, 100),
        FloatParam("bb_std", 2.0, 0.5, 4),
    ]
    minimal_roi = {"0": 0.05, "120": 0.02, "480": 0}
    stoploss = -0.06

    def populate(self, candles, params, signals):
        close = candles.close
        r = rsi(close, params.rsi_period)
        _, mid, lower = bollinger(close, params.bb_period, params.bb_std)
        buy, sell = params.rsi_buy, params.rsi_sell
        enter, exit_ = signals.enter_long, signals.exit_long
        isnan = math.isnan
        for i, c in enumerate(close):
            if isnan(r[i]) or isnan(lower[i]):
                continue
            enter[i] = c < lower[i] and r[i] < buy
            exit_[i] = c > mid[i] or r[i] > sell


if __name__ == "__main__":
    run(RsiBollinger())
