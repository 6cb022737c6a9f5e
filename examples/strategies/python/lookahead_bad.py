#!/usr/bin/env python3
"""NEGATIVE EXAMPLE: a strategy that looks ahead. Do not trade it.

It "buys" on candle i when the close of candle i+1 is higher, and sells when
it is lower. In a backtest it looks brilliant, because it reads the future:
when candle i closes, close[i+1] is not known yet. Live, it cannot even be
computed.

``tradai strategy check`` catches this kind of bug: it runs the strategy on
the whole frame and on prefixes of it, and reports candles whose signals
change once later candles are added (a strategy that only uses candles
0..i gives the same signals on any prefix). Run it on this file to see the
report:

    tradai strategy check examples/strategies/python/lookahead_bad.py

The subtler everyday versions of this bug are a ``shift(-1)`` in pandas,
normalising by the maximum of the whole column, or a centered rolling window.
"""

import os
import sys

try:
    import tradai_strategy  # noqa: F401  (found on PYTHONPATH, e.g. <repo>/sdk/python)
except ImportError:  # run from a checkout: use the repository's SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))

from tradai_strategy import Strategy, run


class LookaheadBad(Strategy):
    name = "lookahead_bad_py"
    description = "Negative example: peeks at the next candle's close (look-ahead bias)."
    timeframe = "5m"
    columns = ["close"]
    minimal_roi = {"0": 0.01}
    stoploss = -0.05

    def populate(self, candles, params, signals):
        close = candles.close
        for i in range(len(close) - 1):
            # BUG (on purpose): close[i + 1] is the future at candle i.
            signals.enter_long[i] = close[i + 1] > close[i]
            signals.exit_long[i] = close[i + 1] < close[i]


if __name__ == "__main__":
    run(LookaheadBad())
