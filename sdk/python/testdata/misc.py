#!/usr/bin/env python3
"""Test strategy for the Go protocol tests: its "mode" parameter chooses a
behaviour (answer, raise, print to stdout, tag entries, short signals)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradai_strategy import CategoricalParam, IntParam, Strategy, run  # noqa: E402


class Misc(Strategy):
    name = "misc_py"
    timeframe = "1m"
    can_short = True
    columns = ["time", "open", "close"]
    params = [
        CategoricalParam("mode", "ok", ["ok", "raise", "print", "tag", "keyerror"]),
        IntParam("every", 3, 1, 100),
    ]
    stoploss = -0.2

    def populate(self, candles, params, signals):
        mode = params.mode
        if mode == "raise":
            raise RuntimeError(f"deliberate failure on {candles.pair} with {len(candles)} candles")
        if mode == "keyerror":
            {}["missing"]
        if mode == "print":
            print("this goes to stderr, not to the protocol")
            os.write(1, b"so does this, written to file descriptor 1\n")
        for i in range(0, len(candles), params.every):
            up = candles.close[i] > candles.open[i]
            signals.enter_long[i] = up
            signals.enter_short[i] = not up
            if mode == "tag":
                signals.tag(i, "up" if up else f"down at {candles.time[i]}")
        signals.exit_long = signals.enter_short
        signals.exit_short = bytes(signals.enter_long)


if __name__ == "__main__":
    run(Misc())
