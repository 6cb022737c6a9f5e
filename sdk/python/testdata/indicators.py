#!/usr/bin/env python3
"""Computes the SDK's indicators for the Go tests: reads float64 values
(little-endian) from stdin and writes each output column, float64
little-endian, one after another: sma, ema, rsi, stdev, bollinger upper,
middle, lower, macd line, signal, hist, crossed_above(sma, ema) and
crossed_below(sma, ema) (as 0.0/1.0). Arguments: period k fast slow signal."""

import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tradai_strategy as ts  # noqa: E402


def main() -> None:
    period, k, fast, slow, signal = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    x = array("d")
    x.frombytes(sys.stdin.buffer.read())
    if sys.byteorder == "big":
        x.byteswap()
    a, e = ts.sma(x, period), ts.ema(x, period)
    cols = [a, e, ts.rsi(x, period), ts.stdev(x, period), *ts.bollinger(x, period, k), *ts.macd(x, fast, slow, signal),
            [float(v) for v in ts.crossed_above(a, e)], [float(v) for v in ts.crossed_below(a, e)]]
    out = sys.stdout.buffer
    for c in cols:
        arr = array("d", c)
        if sys.byteorder == "big":
            arr.byteswap()
        out.write(arr.tobytes())
    out.flush()


if __name__ == "__main__":
    main()
