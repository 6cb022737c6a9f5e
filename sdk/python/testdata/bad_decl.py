#!/usr/bin/env python3
"""Test strategy with an invalid declaration: its default is out of range."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradai_strategy import IntParam, Strategy, run  # noqa: E402


class Bad(Strategy):
    name = "bad_decl_py"
    timeframe = "5m"
    params = [IntParam("fast", 500, 2, 50)]
    stoploss = -0.1

    def populate(self, candles, params, signals):
        pass


if __name__ == "__main__":
    run(Bad())
