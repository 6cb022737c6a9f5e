"""Unit tests of tradai_strategy (standard library only; the numpy and
pandas tests are skipped when those are not installed).

Run: python3 -m unittest discover -s sdk/python
"""

import io
import json
import math
import os
import random
import struct
import sys
import unittest
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tradai_strategy as ts  # noqa: E402
from tradai_strategy import (  # noqa: E402
    BoolParam,
    CategoricalParam,
    DeclarationError,
    FloatParam,
    IntParam,
    Strategy,
)

numpy = ts.numpy_or_none()  # None also with TRADAI_NO_NUMPY=1

pandas = None
if numpy is not None:
    try:
        import pandas
    except ImportError:
        pass

NAN = float("nan")


class Demo(Strategy):
    name = "demo"
    timeframe = "1h"
    columns = ["time", "close"]
    params = [
        IntParam("n", 3, 1, 10),
        FloatParam("x", 0.5, 0, 1),
        BoolParam("fail", False),
        CategoricalParam("mode", "a", ["a", "b"]),
    ]
    stoploss = -0.1

    def populate(self, candles, params, signals):
        if params.fail:
            raise ValueError(f"asked to fail on {candles.pair}")
        for i, c in enumerate(candles.close):
            signals.enter_long[i] = c > params.n
        if len(candles) > 1:
            signals.tag(1, "second")


def request(rid, cols, params=None, pair="A/B", **extra):
    names = list(cols)
    n = len(cols[names[0]]) if names else 0
    payload = b"".join(
        struct.pack("<%d%s" % (n, "q" if k == "time" else "d"), *cols[k]) for k in names
    )
    hdr = {"type": "populate", "id": rid, "pair": pair, "timeframe": "1h", "n": n,
           "params": params or {}, "columns": names, "bytes": len(payload)}
    hdr.update(extra)
    return json.dumps(hdr).encode() + b"\n" + payload


def cached(rid, frame, n, params=None, **extra):
    """A version 2 request for kept frame ``frame``: no columns."""
    hdr = {"type": "populate", "id": rid, "pair": "A/B", "timeframe": "1h", "n": n,
           "params": params or {}, "columns": ["time", "close"], "bytes": 0, "frame": frame, "cached": True}
    hdr.update(extra)
    return json.dumps(hdr).encode() + b"\n"


def read_messages(data):
    out, f = [], io.BytesIO(data)
    while True:
        line = f.readline()
        if not line:
            return out
        msg = json.loads(line)
        out.append((msg, f.read(msg.get("bytes", 0))))


class ParamTest(unittest.TestCase):
    def test_resolve(self):
        p = ts.resolve(Demo(), {"n": 5.0, "x": 1})
        self.assertEqual(p, {"n": 5, "x": 1.0, "fail": False, "mode": "a"})
        self.assertIsInstance(p["n"], int)
        self.assertIsInstance(p.x, float)
        with self.assertRaisesRegex(AttributeError, "no parameter 'zz'"):
            p.zz
        for bad in ({"n": 11}, {"n": 2.5}, {"n": True}, {"x": "1"}, {"fail": 1}, {"mode": "c"}, {"zz": 1}):
            with self.assertRaises(ValueError, msg=bad):
                ts.resolve(Demo(), bad)


class DeclarationTest(unittest.TestCase):
    def spec_error(self, **attrs):
        cls = type("Bad", (Demo,), attrs)
        with self.assertRaises(DeclarationError) as cm:
            cls().spec()
        return str(cm.exception)

    def test_good(self):
        spec = Demo().spec()
        self.assertEqual(spec["name"], "demo")
        self.assertEqual([p["kind"] for p in spec["parameters"]], ["int", "float", "bool", "categorical"])
        self.assertEqual(spec["risk"], {"minimal_roi": {}, "stoploss": -0.1, "trailing_stop": False})
        cls = type("Roi", (Demo,), {"minimal_roi": {60: 0.01, "0": 0.05}})
        self.assertEqual(list(cls().spec()["risk"]["minimal_roi"].items()), [("0", 0.05), ("60", 0.01)])

    def test_bad(self):
        cases = [
            ({"name": ""}, "no name"),
            ({"timeframe": "7m"}, "unknown timeframe"),
            ({"startup_candle_count": -1}, "startup_candle_count"),
            ({"startup_candle_count": True}, "startup_candle_count"),
            ({"stoploss": None}, "stoploss is required"),
            ({"stoploss": 0.1}, "stoploss"),
            ({"stoploss": -1.5}, "stoploss"),
            ({"can_short": 1}, "can_short"),
            ({"params": [IntParam("a", 1, 0, 5), IntParam("a", 2, 0, 5)]}, "declared twice"),
            ({"params": [IntParam("a", 9, 0, 5)]}, "outside"),
            ({"params": [IntParam("a", 1, 5, 0)]}, "above max"),
            ({"params": [FloatParam("a", NAN, 0, 1)]}, "NaN"),
            ({"params": [CategoricalParam("a", "x", [])]}, "no choices"),
            ({"params": [CategoricalParam("a", "x", ["y"])]}, "not one of"),
            ({"params": [BoolParam("", True)]}, "no name"),
            ({"params": ["fast"]}, "must hold"),
            ({"minimal_roi": {"x": 0.1}}, "whole number"),
            ({"minimal_roi": {"-5": 0.1}}, "negative"),
            ({"minimal_roi": {"0": 0.1, "00": 0.2}}, "twice"),
            ({"minimal_roi": {"0": -2}}, ">= -1"),
            ({"minimal_roi": [0.1]}, "dict"),
            ({"trailing_stop_positive": 1.5}, "trailing_stop_positive"),
            ({"trailing_stop_positive": 0.02, "trailing_stop_positive_offset": 0.01}, "greater"),
        ]
        for attrs, want in cases:
            with self.subTest(attrs=attrs):
                self.assertIn(want, self.spec_error(**attrs))

    def test_columns(self):
        for cols, want in ((["close", "close"], "repeat"), (["closing"], "unknown column"), ([], "empty"), ("close", "string")):
            cls = type("Bad", (Demo,), {"columns": cols})
            with self.assertRaisesRegex(DeclarationError, want):
                cls().wanted_columns()
        self.assertEqual(type("All", (Demo,), {"columns": None})().wanted_columns(), list(ts.ALL_COLUMNS))


class CandlesSignalsTest(unittest.TestCase):
    def test_candles(self):
        c = ts.Candles({"time": [1, 2], "close": [1.5, 2.5]}, pair="A/B")
        self.assertEqual(len(c), 2)
        self.assertEqual(c.time.typecode, "q")
        self.assertEqual(list(c.close), [1.5, 2.5])
        with self.assertRaisesRegex(AttributeError, "not requested"):
            c.open
        with self.assertRaises(ValueError):
            ts.Candles({"close": [1.0], "open": [1.0, 2.0]})

    def test_signals(self):
        s = ts.Signals(4)
        s.enter_long[1] = True
        s.exit_long = [0, 1, 0, 2.5]
        s.enter_short[2:4] = b"\x07\x00"
        self.assertEqual(s.column("enter_long"), b"\x00\x01\x00\x00")
        self.assertEqual(s.column("exit_long"), b"\x00\x01\x00\x01")
        self.assertEqual(s.column("enter_short"), b"\x00\x00\x01\x00")
        with self.assertRaisesRegex(ValueError, "3 values for 4"):
            s.exit_short = [True] * 3
        s.tag(2, "why")
        s.tag(3, "x")
        s.tag(3, "")
        self.assertEqual(s.tags, {2: "why"})
        with self.assertRaises(IndexError):
            s.tag(4, "out")

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy(self):
        c = ts.Candles({"time": [1, 2, 3], "close": [1.0, 2.0, 3.0]})
        close = c.np("close")
        self.assertEqual(close.dtype, numpy.float64)
        self.assertEqual(c.np("time").tolist(), [1, 2, 3])
        s = ts.Signals(3)
        s.enter_long = close > 1.5
        self.assertEqual(s.column("enter_long"), b"\x00\x01\x01")
        s.np("exit_long")[0] = True
        self.assertEqual(s.column("exit_long"), b"\x01\x00\x00")
        with self.assertRaisesRegex(ValueError, "1-dimensional"):
            s.exit_short = numpy.zeros((3, 1), dtype=bool)
        self.assertEqual(ts.sma(close, 2)[1:], [1.5, 2.5])

    @unittest.skipIf(pandas is None, "pandas is not installed")
    def test_pandas(self):
        c = ts.Candles({"time": [0, 300000], "close": [1.0, 2.0]})
        df = c.df()
        self.assertEqual(list(df.columns), ["time", "close", "date"])
        self.assertEqual(str(df["date"].iloc[1]), "1970-01-01 00:05:00+00:00")
        s = ts.Signals(2)
        s.enter_long = df["close"] > 1.5
        self.assertEqual(s.column("enter_long"), b"\x00\x01")


class IndicatorTest(unittest.TestCase):
    def same(self, got, want):
        self.assertEqual(len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            if math.isnan(w):
                self.assertTrue(math.isnan(g), f"[{i}] = {g}, want NaN")
            else:
                self.assertAlmostEqual(g, w, places=9, msg=f"[{i}]")

    def test_values(self):
        x = [1.0, 2.0, 3.0, 4.0, 5.0]
        self.same(ts.sma(x, 3), [NAN, NAN, 2, 3, 4])
        self.same(ts.ema(x, 3), [NAN, NAN, 2, 3, 4])
        self.same(ts.stdev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8), [NAN] * 7 + [2])
        self.same(ts.stdev([3.0, 3.0, 3.0], 2), [NAN, 0, 0])
        self.same(ts.rsi(x, 2), [NAN, NAN, 100, 100, 100])
        self.same(ts.rsi([1.0, 1.0, 1.0, 1.0], 2), [NAN, NAN, 50, 50])
        up, mid, lo = ts.bollinger([1.0, 3.0, 1.0, 3.0], 2, 2)
        self.same(mid, [NAN, 2, 2, 2])
        self.same(up, [NAN, 4, 4, 4])
        self.same(lo, [NAN, 0, 0, 0])
        # leading NaNs are skipped: indicators compose
        self.same(ts.sma([NAN, NAN, 1.0, 3.0], 2), [NAN, NAN, NAN, 2])
        self.same(ts.sma(x, 9), [NAN] * 5)
        self.same(ts.rsi(x, 9), [NAN] * 5)
        self.same(ts.sma([], 3), [])
        with self.assertRaises(ValueError):
            ts.sma(x, 0)
        line, sig, hist = ts.macd(x * 4, 2, 3, 2)
        self.assertTrue(math.isnan(line[1]) and not math.isnan(line[2]))
        self.assertTrue(math.isnan(sig[2]) and not math.isnan(sig[3]))

    def test_no_numpy(self):
        old = os.environ.get("TRADAI_NO_NUMPY")
        os.environ["TRADAI_NO_NUMPY"] = "1"
        try:
            self.assertIsNone(ts.numpy_or_none())
            with self.assertRaisesRegex(ImportError, "TRADAI_NO_NUMPY"):
                ts.sma_np([1.0, 2.0], 2)
            with self.assertRaisesRegex(ImportError, "TRADAI_NO_NUMPY"):
                ts.Candles({"close": [1.0]}).np("close")
        finally:
            if old is None:
                del os.environ["TRADAI_NO_NUMPY"]
            else:
                os.environ["TRADAI_NO_NUMPY"] = old
        self.assertIs(ts.numpy_or_none(), numpy)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_parts_load_when_used(self):
        # In a fresh interpreter: numpy_or_none leaves numpy.random,
        # numpy.ma, numpy.polynomial and numpy.fft to their first use,
        # where they work as always.
        import subprocess

        script = (
            "import sys\n"
            f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
            "import tradai_strategy as ts\n"
            "np = ts.numpy_or_none()\n"
            "parts = ('numpy.random.mtrand', 'numpy.ma.core', 'numpy.polynomial.polynomial', 'numpy.fft._pocketfft')\n"
            "print([p for p in parts if p in sys.modules])\n"
            "from numpy.random import default_rng\n"
            "import numpy.ma\n"
            "print(default_rng(3).integers(0, 10, 3).tolist(), np.ma.masked_invalid(np.array([1.0, np.nan])).sum(),\n"
            "      np.polynomial.Polynomial([1, 2])(2), np.fft.rfft(np.ones(4)).real.tolist())\n"
            "print([p for p in parts if p in sys.modules])\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "TRADAI_NO_NUMPY"}
        p = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, check=True)
        before, used, after = p.stdout.decode().splitlines()
        self.assertEqual(before, "[]")
        want = numpy.random.default_rng(3).integers(0, 10, 3).tolist()
        self.assertEqual(used, f"{want} 1.0 5.0 [4.0, 0.0, 0.0]")
        self.assertEqual(after, "['numpy.random.mtrand', 'numpy.ma.core', 'numpy.polynomial.polynomial', 'numpy.fft._pocketfft']")

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_sma_np(self):
        # Bit for bit sma's values (itself Go's ta.SMA), over the block
        # boundaries of sma_np, with leading NaNs, flat stretches, NaNs
        # inside, periods longer than the series and empty series.
        rnd = random.Random(5)
        walk, price = [], 100.0
        for i in range(3 * ts._SMA_BLOCK + 77):
            if not (i // 500) % 7 == 3:  # a flat stretch every 3,500 candles
                price *= math.exp(rnd.gauss(0, 0.004))
            walk.append(price)
        # Values apart by more than a factor of 2: their differences are
        # inexact, which takes sma_np's other path (in some blocks only).
        jumpy = [rnd.uniform(0.001, 1000.0) if (i // ts._SMA_BLOCK) % 2 else walk[i] for i in range(len(walk))]
        holes = list(walk[:3000])
        holes[1234] = NAN
        series = {
            "walk": walk,
            "nans": [NAN] * 3 + walk[:5000],
            "holes": holes,
            "jumpy": jumpy,
            "allnan": [NAN] * 4,
            "short": walk[:7],
            "empty": [],
        }
        for name, x in series.items():
            for p in (1, 2, 3, 10, 30, 200, ts._SMA_BLOCK + 5):
                want = numpy.array(ts.sma(x, p))
                got = ts.sma_np(numpy.array(x), p)
                self.assertEqual(got.dtype, numpy.float64)
                nan = numpy.isnan(want)  # any NaN (its bits are not the point)
                self.assertTrue((numpy.isnan(got) == nan).all(), f"{name}, period {p}: NaNs differ")
                self.assertEqual(want[~nan].tobytes(), got[~nan].tobytes(), f"{name}, period {p}")
        self.assertEqual(ts.sma_np([1, 2, 3], 2)[1:].tolist(), [1.5, 2.5])
        with self.assertRaises(ValueError):
            ts.sma_np(numpy.zeros((2, 2)), 2)
        with self.assertRaises(ValueError):
            ts.sma_np([1.0], 0)

    def test_cross(self):
        a, b = [1.0, 3.0, 2.0, NAN, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0]
        self.assertEqual(ts.crossed_above(a, b), [False, True, False, False, False])
        self.assertEqual(ts.crossed_below(a, b), [False, False, False, False, False])
        self.assertEqual(ts.crossed_below([3.0, 1.0], [2.0, 2.0]), [False, True])
        self.assertTrue(ts.crossed_above(a, b, 1))
        self.assertFalse(ts.crossed_above(a, b, 0))
        self.assertEqual(ts.crossed_above([], []), [])

    def test_no_lookahead(self):
        x = [math.sin(i / 7) * 10 + i * 0.1 + 100 for i in range(300)]
        for f in (lambda s: ts.sma(s, 20), lambda s: ts.ema(s, 20), lambda s: ts.rsi(s, 14),
                  lambda s: ts.stdev(s, 20), lambda s: ts.bollinger(s, 20, 2)[2], lambda s: ts.macd(s)[1]):
            full = f(x)
            for k in (1, 25, 34, 150, 299):
                self.assertEqual(repr(f(x[:k])), repr(full[:k]))


class ProtocolTest(unittest.TestCase):
    def serve(self, data):
        out, log = io.BytesIO(), io.StringIO()
        ts.serve(Demo(), io.BytesIO(data), out, log)
        return read_messages(out.getvalue()), log.getvalue()

    def test_on_start_once_after_the_spec(self):
        events = []

        class Watched(Demo):
            def on_start(self):
                events.append(("on_start", out.getvalue().count(b"\n")))

            def populate(self, candles, params, signals):
                events.append(("populate", len(candles)))

        out = io.BytesIO()
        data = (b'{"type":"hello","protocol":1}\n'
                + request(1, {"time": [1, 2], "close": [1.0, 2.0]})
                + request(2, {"time": [1], "close": [1.0]}))
        ts.serve(Watched(), io.BytesIO(data), out, io.StringIO())
        # on_start ran once, after the spec line was written, before the requests.
        self.assertEqual(events, [("on_start", 1), ("populate", 2), ("populate", 1)])

    def test_conversation(self):
        data = (b'{"type":"hello","protocol":1}\n'
                + request(1, {"time": [1, 2, 3], "close": [1.0, 5.0, 2.0]}, {"n": 3, "x": 0.5, "fail": False, "mode": "a"})
                + request(2, {"time": [1], "close": [1.0]}, {"fail": True})
                + b'{"type":"bogus","id":3}\n'
                + request(4, {"close": [4.0, 4.0]}, {"n": 99})
                + request(5, {"time": [], "close": []}))
        msgs, log = self.serve(data)
        self.assertEqual([m["type"] for m, _ in msgs], ["spec", "signals", "error", "error", "error", "signals"])
        spec = msgs[0][0]
        self.assertEqual((spec["protocol"], spec["columns"], spec["spec"]["name"]), (1, ["time", "close"], "demo"))
        sig, payload = msgs[1]
        # Only enter_long fires: the all-false columns are left out.
        self.assertEqual((sig["id"], sig["n"], sig["bytes"]), (1, 3, 3))
        self.assertEqual(sig["columns"], ["enter_long"])
        self.assertEqual(payload, b"\x00\x01\x00")
        self.assertEqual(sig["enter_tags"], {"1": "second"})
        self.assertEqual(msgs[2][0], {"type": "error", "id": 2, "message": "ValueError: asked to fail on A/B"})
        self.assertIn("Traceback", log)
        self.assertIn("unknown request type", msgs[3][0]["message"])
        self.assertIn("parameter 'n'", msgs[4][0]["message"])
        self.assertEqual((msgs[5][0]["id"], msgs[5][0]["n"], msgs[5][1]), (5, 0, b""))

    def test_eof(self):
        self.assertEqual(self.serve(b""), ([], ""))
        msgs, _ = self.serve(b'{"type":"hello","protocol":2}\n')
        self.assertEqual([m["type"] for m, _ in msgs], ["spec"])

    def test_protocol_errors(self):
        for data, want in (
            (b'{"type":"populate"}\n', "expected a hello"),
            (b'{"type":"hello","protocol":0}\n', "protocol 0"),
            (b'{"type":"hello","protocol":1', "middle of a header"),
            (b'{"type":"hello","protocol":1}\n' + request(1, {"close": [1.0, 2.0]})[:-3], "payload"),
            (b'{"type":"hello","protocol":1}\nnot json\n', "not JSON"),
        ):
            with self.subTest(want=want):
                with self.assertRaisesRegex(ts.ProtocolError, want):
                    self.serve(data)

    def test_bad_request(self):
        bad = request(1, {"close": [1.0, 2.0]}).replace(b'"n": 2', b'"n": 3')
        msgs, _ = self.serve(b'{"type":"hello","protocol":1}\n' + bad + request(2, {"close": [7.0]}))
        self.assertEqual([m["type"] for m, _ in msgs], ["spec", "error", "signals"])
        self.assertIn("payload of 16 bytes", msgs[1][0]["message"])

    def test_kept_frames(self):
        hello = b'{"type":"hello","protocol":2}\n'
        a = {"time": [1, 2, 3], "close": [1.0, 5.0, 2.0]}
        b = {"time": [1, 2], "close": [9.0, 0.0]}
        msgs, _ = self.serve(hello
                             + request(1, a, {"n": 3}, frame=1)
                             + cached(2, 1, 3, {"n": 1})
                             + request(3, b, {"n": 3}, frame=2, forget=[1])
                             + cached(4, 2, 2, {"n": 8}))
        self.assertEqual(msgs[0][0]["protocol"], 2)
        self.assertEqual([(m["id"], p) for m, p in msgs[1:]],
                         [(1, b"\x00\x01\x00"), (2, b"\x00\x01\x01"), (3, b"\x01\x00"), (4, b"\x01\x00")])
        for data, want in (
            (hello + request(1, a, frame=1) + request(2, b, frame=2, forget=[1]) + cached(3, 1, 3), "frame 1 is not kept"),
            (hello + cached(1, 7, 3), "frame 7 is not kept"),
            (hello + request(1, a, frame=1) + cached(2, 1, 2), "another candle count"),
            (hello + request(1, a, frame=True), "bad frame number"),
            (hello + request(1, a, frame=1, forget="all"), "bad forget list"),
            (b'{"type":"hello","protocol":1}\n' + request(1, a, frame=1), "kept frames in protocol version 1"),
        ):
            with self.subTest(want=want):
                with self.assertRaisesRegex(ts.ProtocolError, want):
                    self.serve(data)
        # A TradAI newer than this SDK gets the SDK's highest version.
        msgs, _ = self.serve(b'{"type":"hello","protocol":9}\n')
        self.assertEqual(msgs[0][0]["protocol"], ts.PROTOCOL)

    @unittest.skipUnless(hasattr(os, "memfd_create"), "no memfd on this system")
    def test_shared_memory(self):
        # TradAI offers a shared file (the hello's shm_fd): the SDK takes it,
        # reads the columns there in place and writes the signals after
        # them, rounded up to 64 bytes.
        fd = os.memfd_create("test")
        self.addCleanup(os.close, fd)
        os.ftruncate(fd, 4096)
        cols = {"time": [1, 2, 3], "close": [1.0, 5.0, 2.0]}
        payload = request(1, cols).split(b"\n", 1)[1]
        os.pwrite(fd, payload, 0)
        views = []

        class Viewing(Demo):
            def populate(self, candles, params, signals):
                if numpy is not None:
                    views.append((candles.np("close"), candles.np("time")))
                super().populate(candles, params, signals)

        hello = json.dumps({"type": "hello", "protocol": 2, "shm_fd": fd}).encode() + b"\n"
        shm = {"offset": 0, "bytes": len(payload)}

        def in_shm(rid, region):
            hdr = json.loads(request(rid, cols, {"n": 3}).split(b"\n", 1)[0])
            hdr.update(bytes=0, shm=region)
            return json.dumps(hdr).encode() + b"\n"

        data = hello + in_shm(1, shm) + in_shm(2, {"offset": 0, "bytes": 40})
        out = io.BytesIO()
        ts.serve(Viewing(), io.BytesIO(data), out, io.StringIO())
        msgs = read_messages(out.getvalue())
        self.assertEqual(msgs[0][0]["transports"], ["shm"])
        sig, body = msgs[1]
        self.assertEqual((sig["columns"], sig["bytes"], sig["shm"], body), (["enter_long"], 0, {"offset": 64, "bytes": 3}, b""))
        self.assertEqual(os.pread(fd, 3, 64), b"\x00\x01\x00")
        self.assertEqual(sig["enter_tags"], {"1": "second"})
        # A region that does not hold the columns: an error, and serving goes on.
        self.assertIn("shared memory of 40 bytes for 2 columns of 3 candles", msgs[2][0]["message"])
        if numpy is not None:
            # The numpy views are of the shared memory itself: no copy.
            close, time = views[0]
            self.assertEqual(close.tolist(), [1.0, 5.0, 2.0])
            self.assertEqual(time.tolist(), [1, 2, 3])
            os.pwrite(fd, struct.pack("<d", 7.0), 24)
            self.assertEqual(close[0], 7.0)
        # Without the offer, a request in shared memory is TradAI's mistake;
        # a strategy with no shared file offered stays on the pipes.
        plain = b'{"type":"hello","protocol":2}\n'
        with self.assertRaisesRegex(ts.ProtocolError, "not offered"):
            self.serve(plain + in_shm(1, shm))
        msgs, _ = self.serve(plain)
        self.assertNotIn("transports", msgs[0][0])

    def test_shared_columns_read_as_attributes_are_copies(self):
        # A column read as an attribute is an array of its own: TradAI
        # writes the next request's candles into the shared memory.
        mem = bytearray(struct.pack("<3d", 1.0, 2.0, 3.0))
        c = ts.Candles._in_shared({"close": memoryview(mem)}, 3, "A/B", "1h")
        col = c.close
        self.assertEqual((col.typecode, col.tolist(), len(c), c.columns), ("d", [1.0, 2.0, 3.0], 3, ("close",)))
        mem[:8] = struct.pack("<d", 9.0)
        self.assertEqual(c.close[0], 1.0)
        if numpy is not None:
            self.assertEqual(c.np("close").tolist(), [1.0, 2.0, 3.0])  # the array now
        with self.assertRaisesRegex(AttributeError, "not requested"):
            c.open

    def test_exit_after_serving(self):
        # run() exits with status 0 once the input ends, without tearing the
        # interpreter down: atexit functions still run and output still
        # written in buffers (standard output goes to standard error while
        # serving) still comes out.
        import subprocess

        script = (
            "import atexit, sys\n"
            "import tradai_strategy as ts\n"
            "class S(ts.Strategy):\n"
            "    name = 'exiting'\n"
            "    timeframe = '1h'\n"
            "    stoploss = -0.1\n"
            "    def on_start(self):\n"
            "        print('buffered')\n"
            "    def populate(self, candles, params, signals):\n"
            "        pass\n"
            "atexit.register(lambda: sys.stderr.write('atexit ran\\n'))\n"
            "sys.stderr = open(sys.stderr.fileno(), 'w', buffering=1 << 16, closefd=False)\n"
            "ts.run(S())\n"
        )
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent))
        env.pop("PYTHONUNBUFFERED", None)
        p = subprocess.run([sys.executable, "-c", script], input=b'{"type":"hello","protocol":2}\n',
                           capture_output=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([m["type"] for m, _ in read_messages(p.stdout)], ["spec"])
        self.assertIn(b"buffered\n", p.stderr)
        self.assertIn(b"atexit ran\n", p.stderr)

    def test_evaluate(self):
        s = ts.evaluate(Demo(), {"time": [1, 2], "close": [9.0, 1.0]}, {"n": 5})
        self.assertEqual(s.column("enter_long"), b"\x01\x00")

        class Started(Demo):
            def on_start(self):
                self.level = 5  # populate needs what on_start prepared

            def populate(self, candles, params, signals):
                signals.enter_long = [c > self.level for c in candles.close]

        s = ts.evaluate(Started(), {"time": [1, 2], "close": [9.0, 1.0]})
        self.assertEqual(s.column("enter_long"), b"\x01\x00")


# --------------------------------------------------------------------------
# candles.ta: the "compute" extension


def walk_columns(n, seed=7):
    """open, high, low, close and volume of a random walk with flat
    stretches (where averages tie) and a NaN hole."""
    rnd = random.Random(seed)
    close, price = [], 100.0
    for i in range(n):
        if (i // 50) % 5 != 2:
            price *= math.exp(rnd.gauss(0, 0.01))
        close.append(price)
    close[n // 3] = NAN
    return {
        "open": [c * 0.999 for c in close],
        "high": [c * 1.01 for c in close],
        "low": [c * 0.99 for c in close],
        "close": close,
        "volume": [rnd.uniform(1, 100) for _ in close],
    }


def _host_values(fn, xs, args):
    """fn over xs, as TradAI computes it (sdk/ta: the SDK's pure functions
    are its values bit for bit)."""
    if fn in ("sma", "ema", "rsi", "stdev"):
        return getattr(ts, fn)(xs[0], int(args[0]))
    a = xs[0]
    b = xs[1] if len(xs) > 1 else [args[0]] * len(a) if args else None
    return {
        "above": lambda: [x > y for x, y in zip(a, b)],
        "below": lambda: [x < y for x, y in zip(a, b)],
        "crossed_above": lambda: ts.crossed_above(a, b),
        "crossed_below": lambda: ts.crossed_below(a, b),
        "and": lambda: [x and y for x, y in zip(a, b)],
        "or": lambda: [x or y for x, y in zip(a, b)],
        "not": lambda: [not x for x in a],
        "rose": lambda: [False] + [bool(y and not x) for x, y in zip(a, a[1:])],
        "fell": lambda: [False] + [bool(x and not y) for x, y in zip(a, a[1:])],
    }[fn]()


def _changing(fields, when=lambda answer: True):
    """A FakeHost tamper that sets the given fields of the answers for
    which when(answer) holds (a None value drops the field)."""

    def tamper(answer, body):
        if not when(answer):
            return answer, body
        answer = dict(answer)
        for k, v in fields.items():
            if v is None:
                answer.pop(k, None)
            else:
                answer[k] = v
        return answer, body

    return tamper


def _encode(kind, vals):
    return struct.pack("<%dd" % len(vals), *vals) if kind == "float64" else bytes(bytearray(vals))


class FakeHost:
    """TradAI's side of a conversation with the compute extension, as the
    two binary streams serve() reads and writes: each message the SDK
    flushes is answered at once (the next request after an answer, a
    computed message after a compute or fetch). requests are (id, frame
    columns, params, extra header fields); the host keeps every column of
    a frame and sends the strategy the ones it asks for. tamper(msg,
    payload) may change an answer to a compute or fetch."""

    def __init__(self, requests, functions=None, shm_fd=None, tamper=None, protocol=2, grant_fetch=True):
        self.requests = list(requests)
        # With the fetch transport taken (and granted), requests carry no
        # columns: the SDK fetches those it reads, listed in fetched.
        self.grant_fetch = grant_fetch
        self.fetched = []
        self.functions = list(ts.TA._FUNCTIONS) if functions is None else functions
        self.shm_fd = shm_fd
        self.tamper = tamper
        hello = {"type": "hello", "protocol": protocol, "compute": self.functions}
        if shm_fd is not None:
            hello["shm_fd"] = shm_fd
        self.buf = bytearray(json.dumps(hello).encode() + b"\n")
        self.pos = 0
        self.written = bytearray()
        self.sent = []  # (header, payload) of every message of the SDK
        self.answers = {}  # request id -> {signal name: bytes}
        self.columns = None
        self.frames = {}
        self.cur = None
        self.results = {}
        self.fetches = 0

    # -- the SDK's input
    def readline(self, limit=-1):
        end = self.buf.find(b"\n", self.pos)
        end = len(self.buf) if end < 0 else end + 1
        line = bytes(self.buf[self.pos:end])
        self.pos = end
        return line

    def read(self, k):
        b = bytes(self.buf[self.pos:self.pos + k])
        self.pos += len(b)
        return b

    def readinto(self, view):
        b = self.read(len(view))
        view[:len(b)] = b
        return len(b)

    # -- the SDK's output
    def write(self, b):
        self.written += b
        return len(b)

    def flush(self):
        while True:
            nl = self.written.find(b"\n")
            if nl < 0:
                return
            msg = json.loads(bytes(self.written[:nl]))
            k = msg.get("bytes", 0)
            if len(self.written) < nl + 1 + k:
                return
            payload = bytes(self.written[nl + 1:nl + 1 + k])
            del self.written[:nl + 1 + k]
            self.sent.append((msg, payload))
            self.handle(msg, payload)

    def put(self, header, payload=b""):
        self.buf += json.dumps(header).encode() + b"\n" + payload

    def handle(self, msg, payload):
        t = msg["type"]
        if t == "spec":
            self.columns = msg.get("columns") or list(ts.ALL_COLUMNS)
            self.shm_taken = "shm" in msg.get("transports", [])
            self.fetch_taken = "fetch" in msg.get("transports", [])
            self.next_request()
        elif t in ("signals", "error"):
            assert msg["id"] == self.cur[0], msg
            if t == "signals":
                self.answers[msg["id"]] = self.signal_columns(msg, payload)
            else:
                self.answers[msg["id"]] = msg["message"]
            self.results = {}
            self.next_request()
        elif t in ("compute", "fetch"):
            assert msg["id"] == self.cur[0] and msg.get("bytes", 0) == 0, msg
            answer, body = self.compute(msg) if t == "compute" else self.fetch(msg)
            if self.tamper is not None:
                answer, body = self.tamper(answer, body)
            self.put(answer, body)
        else:
            raise AssertionError(f"unexpected message {msg}")

    def next_request(self):
        if not self.requests:
            return
        rid, cols, params, extra = self.requests.pop(0)
        self.cur = (rid, cols)
        n = len(cols["close"])
        names = self.columns
        data = b"".join(struct.pack("<%d%s" % (n, "q" if k == "time" else "d"),
                                    *(cols.get(k) or range(n))) for k in names)
        hdr = {"type": "populate", "id": rid, "pair": "A/B", "timeframe": "1h", "n": n,
               "params": params, "columns": names, "bytes": len(data)}
        hdr.update(extra)
        if hdr.get("cached"):
            hdr["bytes"] = 0
            data = b""
        elif self.fetch_taken and self.grant_fetch:
            hdr.update(bytes=0, fetch=True)
            data = b""
            if self.shm_fd is not None and self.shm_taken:
                # Room for the signals at the start of the file.
                if os.fstat(self.shm_fd).st_size < 4 * n:
                    os.ftruncate(self.shm_fd, 4 * n)
                self.room = 4 * n
        elif self.shm_fd is not None and self.shm_taken:
            end = (len(data) + 63) & ~63
            if os.fstat(self.shm_fd).st_size < end + 4 * n:  # it only grows
                os.ftruncate(self.shm_fd, end + 4 * n)
            os.pwrite(self.shm_fd, data, 0)
            hdr.update(bytes=0, shm={"offset": 0, "bytes": len(data)})
            self.room = end + 4 * n
            data = b""
        self.put(hdr, data)

    def compute(self, msg):
        rid, cols = self.cur
        ref = msg["ref"]
        base = {"type": "computed", "id": rid, "ref": ref}

        def refuse(text):
            return dict(base, error=text, bytes=0), b""

        if msg["fn"] not in self.functions:
            return refuse(f"unknown function {msg['fn']!r}")
        if not 1 <= ref <= 64 or ref in self.results:
            return refuse(f"ref {ref} in use or out of range")
        xs = []
        for x in msg["inputs"]:
            if isinstance(x, str):
                xs.append(cols[x])
            elif x in self.results:
                xs.append(self.results[x][1])
            else:
                return refuse(f"no result {x}")
        args = msg.get("args", [])
        n = len(cols["close"])
        if msg["fn"] in ("sma", "ema", "rsi", "stdev") and not 1 <= args[0] <= n:
            return refuse(f"period {args[0]} out of range")
        kind = "float64" if msg["fn"] in ("sma", "ema", "rsi", "stdev") else "bool"
        self.results[ref] = (kind, _host_values(msg["fn"], xs, args))
        answer = dict(base, kind=kind, n=n, bytes=0)
        if n == 0:
            del answer["n"]  # Go leaves it out
        return answer, b""

    def fetch(self, msg):
        if "column" in msg:
            # A candle column of the frame, as TradAI answers it (ref 0).
            assert "ref" not in msg, msg
            name = msg["column"]
            self.fetched.append(name)
            cols = self.cur[1]
            n = len(cols["close"])
            kind = "int64" if name == "time" else "float64"
            vals = cols.get(name) or list(range(n))
            body = struct.pack("<%d%s" % (n, "q" if name == "time" else "d"), *vals)
            answer = {"type": "computed", "id": msg["id"], "ref": 0, "column": name, "kind": kind, "n": n, "bytes": len(body)}
        else:
            self.fetches += 1
            kind, vals = self.results[msg["ref"]]
            body = _encode(kind, vals)
            answer = {"type": "computed", "id": msg["id"], "ref": msg["ref"], "kind": kind, "n": len(vals), "bytes": len(body)}
        if self.shm_fd is not None and self.shm_taken:
            # After the answer's room, from a multiple of 64, the file grown.
            at = (self.room + 63) & ~63
            self.room = at + len(body)
            if os.fstat(self.shm_fd).st_size < self.room:
                os.ftruncate(self.shm_fd, self.room)
            os.pwrite(self.shm_fd, body, at)
            answer.update(bytes=0, shm={"offset": at, "bytes": len(body)})
            body = b""
        return answer, body

    def signal_columns(self, msg, payload):
        n = msg["n"]
        if "shm" in msg:
            payload = os.pread(self.shm_fd, msg["shm"]["bytes"], msg["shm"]["offset"])
        out = {name: payload[k * n:(k + 1) * n] for k, name in enumerate(msg["columns"])}
        for name, ref in msg.get("computed", {}).items():
            assert name not in out, msg
            kind, vals = self.results[ref]
            assert kind == "bool"
            out[name] = bytes(bytearray(vals))
        return out

    def serve(self, strategy):
        ts.serve(strategy, self, self, io.StringIO())
        return self


class TAUser(Strategy):
    """Uses every function of candles.ta; keeps every result's values by
    request id in seen."""

    name = "ta_user"
    timeframe = "1h"
    columns = ["high", "low", "close"]
    params = [IntParam("p", 10, 1, 500)]
    stoploss = -0.1

    def __init__(self, read=True):
        self.read = read
        self.seen = {}

    def populate(self, candles, params, signals):
        ta = candles.ta
        p = params.p
        fast, slow = ta.sma("close", p), ta.sma("close", 3 * p)
        e, r, sd = ta.ema("high", p), ta.rsi("close"), ta.stdev("low", p)
        up = ta.crossed_above(fast, slow)
        down = ta.crossed_below(fast, slow)
        hot = ta.above(r, 70)
        cold = ta.below(r, 30.5)
        wide = ta.above(sd, e) | ta.below("low", slow)
        quiet = ~wide & ta.and_(ta.not_(hot), ta.or_(cold, up))
        signals.enter_long = up
        signals.exit_long = down | hot
        signals.enter_short = quiet
        signals.exit_short = [False] * len(candles)
        above, rose, fell = ta.above(fast, slow), ta.rose(hot), ta.fell(ta.above(fast, slow))
        results = [fast, slow, e, r, sd, up, down, hot, cold, wide, quiet, ta.sma(e, 5), ta.rsi(sd, 3), above, rose, fell]
        if self.read:
            self.seen[params.p] = [(c.kind, c.list()) for c in results]
            if ts.numpy_or_none() is not None:  # (TRADAI_NO_NUMPY hides it in a test)
                for c, (kind, vals) in zip(results, self.seen[params.p]):
                    arr = c.np()
                    assert arr.dtype == (numpy.bool_ if kind == "bool" else numpy.float64)
                    assert not arr.flags.writeable
                    assert repr(arr.tolist()) == repr(vals)
                    assert c.bytes() == _encode(kind, vals)


def _same_bits(test, got, want, what):
    test.assertEqual(len(got), len(want), what)
    for i, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, float) and math.isnan(w):
            test.assertTrue(isinstance(g, float) and math.isnan(g), f"{what}[{i}] = {g!r}, want NaN")
        else:
            test.assertEqual(type(g), type(w), f"{what}[{i}]")
            test.assertEqual(struct.pack("<d", g) if isinstance(w, float) else g, struct.pack("<d", w) if isinstance(w, float) else w, f"{what}[{i}]")


class _NoNumpy:
    def __enter__(self):
        self.old = os.environ.get("TRADAI_NO_NUMPY")
        os.environ["TRADAI_NO_NUMPY"] = "1"

    def __exit__(self, *exc):
        if self.old is None:
            del os.environ["TRADAI_NO_NUMPY"]
        else:
            os.environ["TRADAI_NO_NUMPY"] = self.old


class ComputeTest(unittest.TestCase):
    cols = walk_columns(3000)

    def requests(self, *ps):
        return [(k + 1, self.cols, {"p": p}, {}) for k, p in enumerate(ps)]

    def local(self, p, read=True):
        """TAUser's results and signals computed by the SDK (numpy's way
        when there is numpy, and pure Python's), all equal."""
        outs = []
        for hide in (False, True):
            s = TAUser(read)
            if hide:
                with _NoNumpy():
                    sig = ts.evaluate(s, {k: self.cols[k] for k in TAUser.columns}, {"p": p})
            else:
                sig = ts.evaluate(s, {k: self.cols[k] for k in TAUser.columns}, {"p": p})
            outs.append((s.seen.get(p), {name: sig.column(name) for name in ts.SIGNAL_COLUMNS}))
        (seen, sig), (seen2, sig2) = outs
        self.assertEqual(sig, sig2)
        for k, ((kind, a), (_, b)) in enumerate(zip(seen or [], seen2 or [])):
            _same_bits(self, a, b, f"local result {k}")
        return seen, sig

    def check_offered(self, host, strategy, ps):
        for rid, p in enumerate(ps, 1):
            seen, sig = self.local(p)
            got = host.answers[rid]
            self.assertIsInstance(got, dict, got)
            got = {k: v for k, v in got.items() if v.count(0) != len(v)}
            want = {k: v for k, v in sig.items() if v.count(0) != len(v)}
            self.assertEqual(got, want, f"signals of p={p}")
            for k, ((kind, a), (wkind, b)) in enumerate(zip(strategy.seen[p], seen)):
                self.assertEqual(kind, wkind)
                _same_bits(self, a, b, f"p={p} result {k}")
            self.assertTrue(any(v.count(1) for v in want.values()), "no signal at all: the comparison proves little")

    def test_offered_over_pipes(self):
        s = TAUser()
        host = FakeHost(self.requests(10, 3, 40)).serve(s)
        self.check_offered(host, s, (10, 3, 40))
        sig = [m for m, _ in host.sent if m["type"] == "signals"]
        # Bool results TradAI holds cross as refs; a list as a column.
        self.assertEqual(sig[0]["computed"], {"enter_long": 6, "exit_long": 18, "enter_short": 17})
        self.assertEqual(sig[0]["columns"], [])  # exit_short is all false: left out
        computes = [m for m, _ in host.sent if m["type"] == "compute"]
        self.assertEqual(computes[0], {"type": "compute", "id": 1, "ref": 1, "fn": "sma", "inputs": ["close"], "args": [10]})
        self.assertEqual(computes[7], {"type": "compute", "id": 1, "ref": 8, "fn": "above", "inputs": [4], "args": [70]})

    def test_values_are_fetched_lazily(self):
        s = TAUser(read=False)
        host = FakeHost(self.requests(10)).serve(s)
        self.assertEqual(host.fetches, 0)
        self.check_offered_signals_only(host, 10)

    def check_offered_signals_only(self, host, p):
        _, sig = self.local(p, read=False)
        got = {k: v for k, v in host.answers[1].items() if v.count(0) != len(v)}
        self.assertEqual(got, {k: v for k, v in sig.items() if v.count(0) != len(v)})

    @unittest.skipUnless(hasattr(os, "memfd_create"), "no memfd on this system")
    def test_offered_over_shared_memory(self):
        fd = os.memfd_create("test")
        self.addCleanup(os.close, fd)
        s = TAUser()
        host = FakeHost(self.requests(10, 7), shm_fd=fd).serve(s)
        fetched = [m for m, _ in host.sent if m["type"] == "fetch"]
        self.assertTrue(fetched)
        self.check_offered(host, s, (10, 7))
        # The answers' values were in the file, which grew for them.
        self.assertGreater(os.fstat(fd).st_size, host.room - 1)

    def test_some_functions_offered(self):
        # ema and "and" not offered: the SDK computes them (and what uses
        # them) itself, fetching what TradAI holds; the same values.
        s = TAUser()
        fns = [f for f in ts.TA._FUNCTIONS if f not in ("ema", "and")]
        host = FakeHost(self.requests(10), functions=fns).serve(s)
        self.check_offered(host, s, (10,))
        self.assertEqual(host.answers[1].keys(), {"enter_long", "exit_long", "enter_short"})
        sig = [m for m, _ in host.sent if m["type"] == "signals"][0]
        self.assertEqual(sig["columns"], ["enter_short"])  # made here

    def test_not_offered(self):
        # An older TradAI: nothing but signals cross, the same ones.
        s = TAUser()
        host = FakeHost(self.requests(10), functions=[]).serve(s)
        self.assertEqual([m["type"] for m, _ in host.sent], ["spec", "signals"])
        self.check_offered(host, s, (10,))

    def test_offer_hidden(self):
        # TRADAI_NO_COMPUTE=1 hides the offer: as with an older TradAI.
        s = TAUser()
        os.environ["TRADAI_NO_COMPUTE"] = "1"
        try:
            host = FakeHost(self.requests(10)).serve(s)
        finally:
            del os.environ["TRADAI_NO_COMPUTE"]
        self.assertEqual([m["type"] for m, _ in host.sent], ["spec", "signals"])
        self.assertNotIn("fetch", host.sent[0][0].get("transports", []))
        self.check_offered(host, s, (10,))

    def test_kept_frame(self):
        s = TAUser()
        reqs = [(1, self.cols, {"p": 10}, {"frame": 1}), (2, self.cols, {"p": 3}, {"frame": 1, "cached": True})]
        host = FakeHost(reqs).serve(s)
        self.check_offered(host, s, (10, 3))

    def test_refused(self):
        # TradAI refuses a compute: the strategy's error, and serving goes
        # on; a strategy may catch it.
        def tamper(answer, body):
            if answer.get("ref") == 4:
                return {"type": "computed", "id": answer["id"], "ref": 4, "error": "rsi is on strike", "bytes": 0}, b""
            return answer, body

        class Catching(TAUser):
            def populate(self, candles, params, signals):
                try:
                    super().populate(candles, params, signals)
                except ValueError as e:
                    self.caught = str(e)
                    signals.enter_long = candles.ta.above("close", 100)

        host = FakeHost(self.requests(10, 10), tamper=tamper).serve(TAUser())
        self.assertEqual(host.answers[1], "ValueError: candles.ta.rsi: TradAI refused it: rsi is on strike")
        self.assertEqual(host.answers[2], host.answers[1])
        s = Catching()
        host = FakeHost(self.requests(10), tamper=tamper).serve(s)
        self.assertIn("rsi is on strike", s.caught)
        self.assertEqual(host.answers[1]["enter_long"], bytes(c > 100 for c in self.cols["close"]))
        # A period TradAI would refuse is refused here too, before sending.
        for ta_call in (lambda ta: ta.sma("close", 2**31 + 1), lambda ta: ta.ema("close", 0), lambda ta: ta.rsi("close", 2.5)):
            with self.assertRaisesRegex(ValueError, "period must be an integer from 1 to 2147483648"):
                ta_call(ts.Candles({"close": self.cols["close"]}).ta)
        # A period beyond the candles is all NaN, as Go's.
        long = ts.Candles({"close": self.cols["close"]}).ta.sma("close", 3001).list()
        self.assertTrue(all(math.isnan(v) for v in long))

    def test_bad_answers(self):
        def change(**fields):
            return _changing(fields)

        def extra_payload(answer, body):
            return dict(answer, bytes=len(body) + 8), body + bytes(8)

        def bool_two(answer, body):
            if answer.get("kind") == "bool" and body:
                body = b"\x02" + body[1:]
            return answer, body

        def short_payload(answer, body):
            return (dict(answer, bytes=len(body) - 1), body[:-1]) if body else (answer, body)

        def in_shm(answer, body):
            return dict(answer, bytes=0, shm={"offset": 0, "bytes": len(body)}), b""

        for tamper, want in (
            (change(type="signals"), "got a 'signals' message where the answer to compute sma"),
            (change(id=99), "is for ref 1 of request 99"),
            (change(ref=2), "is for ref 2 of request 1"),
            (change(kind="bool"), "of kind 'bool', want 'float64'"),
            (change(kind=None), "of kind None"),
            (change(n=2999), "n = 2999 for a request of 3000 candles"),
            (change(n=None), "n = 0 for a request of 3000"),
            (change(error=7), "malformed refusal"),
            (extra_payload, "(carries values that were not asked for|payload of 24008 bytes)"),
            (bool_two, "bool values other than 0 and 1"),
            (short_payload, "payload of 23999 bytes"),
            (in_shm, "(carries values that were not asked for|bad shared memory region)"),
        ):
            with self.subTest(want=want):
                with self.assertRaisesRegex(ts.ProtocolError, want):
                    FakeHost(self.requests(10), tamper=tamper).serve(TAUser())

        class Swallowing(TAUser):
            def populate(self, candles, params, signals):
                try:
                    super().populate(candles, params, signals)
                except Exception:
                    pass  # even so, the conversation is over

        with self.assertRaisesRegex(ts.ProtocolError, "is for ref 2 of request 1"):
            FakeHost(self.requests(10), tamper=change(ref=2)).serve(Swallowing())

    @unittest.skipUnless(hasattr(os, "memfd_create"), "no memfd on this system")
    def test_bad_shared_answer(self):
        fd = os.memfd_create("test")
        self.addCleanup(os.close, fd)

        def outside(answer, body):
            if "shm" in answer:
                answer = dict(answer, shm={"offset": 1 << 30, "bytes": answer["shm"]["bytes"]})
            return answer, body

        with self.assertRaisesRegex(ts.ProtocolError, "outside the shared file"):
            FakeHost(self.requests(10), shm_fd=fd, tamper=outside).serve(TAUser())

    def test_limits_and_misuse(self):
        class Greedy(Strategy):
            name, timeframe, stoploss = "greedy", "1h", -0.1
            columns = ["close"]

            def populate(self, candles, params, signals):
                for _ in range(65):
                    candles.ta.sma("close", 2)

        host = FakeHost([(1, self.cols, {}, {})]).serve(Greedy())
        self.assertEqual(host.answers[1], "ValueError: candles.ta.sma: more than 64 candles.ta results in one populate call")
        self.assertEqual(len([m for m, _ in host.sent if m["type"] == "compute"]), 64)

        class Misusing(Strategy):
            name, timeframe, stoploss = "misusing", "1h", -0.1
            columns = ["close"]
            kept = None

            def populate(self, candles, params, signals):
                if self.kept is None:
                    type(self).kept = candles.ta.sma("close", 3)
                    type(self).kept_bool = candles.ta.above("close", 1)
                    return
                signals.enter_long = candles.ta.above(self.kept, 1)

        for host in (FakeHost([(1, self.cols, {}, {}), (2, self.cols, {}, {})]), FakeHost([(1, self.cols, {}, {}), (2, self.cols, {}, {})], functions=[])):
            Misusing.kept = None
            host.serve(Misusing())
            self.assertIn("RuntimeError: candles.ta.above: <Computed sma ref 1", host.answers[2])
            self.assertIn("valid only during the populate call that made them", host.answers[2])
            for use in (Misusing.kept.list, Misusing.kept.bytes, lambda: ts.Signals(3000).__setattr__("exit_long", Misusing.kept_bool)):
                with self.assertRaisesRegex(RuntimeError, "from a finished populate call"):
                    use()

        ta = ts.Candles({"close": [1.0, 2.0, 3.0]}).ta
        s = ts.Signals(3)
        with self.assertRaisesRegex(TypeError, "signals.enter_long: .* is a float64 series; a signal needs a bool result"):
            s.enter_long = ta.sma("close", 2)
        with self.assertRaisesRegex(ValueError, "candle column 'open' was not requested"):
            ta.sma("open", 2)
        with self.assertRaisesRegex(ValueError, "no candle column 'time'"):
            ta.sma("time", 2)
        with self.assertRaisesRegex(TypeError, "input 1 must be a bool result"):
            ta.not_("close")
        with self.assertRaisesRegex(TypeError, "is float64, want bool"):
            ta.sma("close", 2) & ta.above("close", 1)
        with self.assertRaisesRegex(TypeError, "is bool, want float64"):
            ta.sma(ta.above("close", 1), 2)
        with self.assertRaisesRegex(ValueError, "finite number"):
            ta.above("close", NAN)
        with self.assertRaisesRegex(TypeError, "not a truth value"):
            bool(ta.above("close", 1))
        with self.assertRaisesRegex(ValueError, "other candles"):
            ts.Candles({"close": [1.0, 2.0, 3.0]}).ta.not_(ta.above("close", 1))
        s.exit_long = ta.above("close", 1.5)
        self.assertEqual(s.column("exit_long"), b"\x00\x01\x01")
        self.assertEqual(ta.crossed_above("close", ta.ema("close", 1)).list(), [False] * 3)

    def test_signal_ref_then_column(self):
        # A result assigned to a signal, then changed as a column: its
        # values are fetched and the column is sent as bytes.
        class Editing(Strategy):
            name, timeframe, stoploss = "editing", "1h", -0.1
            columns = ["close"]

            def populate(self, candles, params, signals):
                signals.enter_long = candles.ta.above("close", 100)
                signals.enter_long[0] = True
                signals.exit_long = candles.ta.below("close", 100)

        host = FakeHost([(1, self.cols, {}, {})]).serve(Editing())
        sig = [m for m, _ in host.sent if m["type"] == "signals"][0]
        self.assertEqual((sig["columns"], sig["computed"]), (["enter_long"], {"exit_long": 2}))
        want = bytearray(c > 100 for c in self.cols["close"])
        want[0] = 1
        self.assertEqual(host.answers[1]["enter_long"], bytes(want))

    def test_short_frames(self):
        # Periods up to n; 0 candles.
        for n in (0, 1, 2):
            cols = {"close": self.cols["close"][:n]}
            c = ts.Candles(cols)
            self.assertEqual(c.ta.crossed_above("close", "close").list(), [False] * n)
            if n:
                self.assertEqual(c.ta.sma("close", n).list()[-1], sum(cols["close"]) / n)

        class Empty(Strategy):
            name, timeframe, stoploss = "empty", "1h", -0.1
            columns = ["close"]

            def populate(self, candles, params, signals):
                signals.enter_long = candles.ta.above("close", 1)

        host = FakeHost([(1, {"close": []}, {}, {})]).serve(Empty())
        self.assertEqual(host.answers[1], {"enter_long": b""})

    def test_no_numpy_import(self):
        # Over a TradAI that computes, the SDK imports no numpy.
        import subprocess

        script = (
            "import io, json, struct, sys\n"
            "import tradai_strategy as ts\n"
            "class S(ts.Strategy):\n"
            "    name, timeframe, stoploss, columns = 's', '1h', -0.1, ['close']\n"
            "    def populate(self, candles, params, signals):\n"
            "        a, b = candles.ta.sma('close', 2), candles.ta.sma('close', 3)\n"
            "        signals.enter_long = candles.ta.crossed_above(a, b)\n"
            "        assert candles.ta.above(a, b).list() == [False, False, True]\n"
            "def h(m): return json.dumps(m).encode() + b'\\n'\n"
            "inp = (h({'type': 'hello', 'protocol': 2, 'compute': ['sma', 'crossed_above', 'above']})\n"
            "       + h({'type': 'populate', 'id': 1, 'n': 3, 'params': {}, 'columns': ['close'], 'bytes': 24}) + struct.pack('<3d', 1, 2, 3)\n"
            "       + b''.join(h({'type': 'computed', 'id': 1, 'ref': r, 'kind': k, 'n': 3, 'bytes': 0}) for r, k in ((1, 'float64'), (2, 'float64'), (3, 'bool'), (4, 'bool')))\n"
            "       + h({'type': 'computed', 'id': 1, 'ref': 4, 'kind': 'bool', 'n': 3, 'bytes': 3}) + b'\\x00\\x00\\x01')\n"
            "out = io.BytesIO()\n"
            "ts.serve(S(), io.BytesIO(inp), out)\n"
            "print(out.getvalue().decode().splitlines()[-1])\n"
            "print('numpy' in sys.modules)\n"
        )
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent))
        env.pop("TRADAI_NO_NUMPY", None)
        p = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        last, imported = p.stdout.decode().splitlines()
        self.assertEqual(json.loads(last), {"type": "signals", "id": 1, "n": 3, "columns": [], "bytes": 0, "computed": {"enter_long": 3}})
        self.assertEqual(imported, "False")


# --------------------------------------------------------------------------
# The "fetch" transport: columns on demand


class ColumnReader(Strategy):
    """Reads the columns named by its parameter "read" (a comma-separated
    list), as attributes and with np, twice each; keeps what it read."""

    name = "column_reader"
    timeframe = "1h"
    columns = ["time", "open", "high", "close"]
    params = [CategoricalParam("read", "close,time", ["", "close,time", "close", "high", "np"])]
    stoploss = -0.1

    def __init__(self):
        self.got = []
        self.kept = None

    def populate(self, candles, params, signals):
        self.kept = candles
        got = {}
        if params.read == "np":
            if numpy is not None:
                close, time = candles.np("close"), candles.np("time")
                assert close.dtype == numpy.float64 and time.dtype == numpy.int64
                got["close"], got["time"] = close.tolist(), time.tolist()
                assert candles.np("close").tobytes() == close.tobytes() == candles.close.tobytes()
            else:
                got["close"], got["time"] = candles.close.tolist(), candles.time.tolist()
        else:
            for name in filter(None, params.read.split(",")):
                col = getattr(candles, name)
                assert col.typecode == ("q" if name == "time" else "d") and len(col) == len(candles)
                assert getattr(candles, name) is col  # fetched once
                got[name] = col.tolist()
        self.got.append(got)
        close = got.get("close")
        if close is not None:
            signals.enter_long = [c > 100 for c in close]
        signals.exit_long = candles.ta.below("close", 100)


class FetchTest(unittest.TestCase):
    cols = dict(walk_columns(500), time=[1700000000000 + 3600000 * i for i in range(500)])

    def shm(self):
        if not hasattr(os, "memfd_create"):
            self.skipTest("no memfd on this system")
        fd = os.memfd_create("test")
        self.addCleanup(os.close, fd)
        return fd

    def hosts(self, requests, **kw):
        """Hosts granting the transport: over shared memory and, in protocol
        version 1 (without kept frames), over the pipes."""
        out = [FakeHost(requests, protocol=1, **kw)]
        if hasattr(os, "memfd_create"):
            out.append(FakeHost(requests, shm_fd=self.shm(), **kw))
        return out

    def test_taken(self):
        def transports(**kw):
            host = FakeHost([], **kw).serve(Demo())
            return host.sent[0][0].get("transports")

        self.assertEqual(transports(protocol=1), ["fetch"])
        self.assertIsNone(transports(protocol=1, functions=[]))  # nothing offered: columns as before
        # On the pipes of version 2 TradAI keeps frames instead: the
        # columns a strategy reads cross once per frame, not per request.
        self.assertIsNone(transports())
        if hasattr(os, "memfd_create"):
            self.assertEqual(transports(shm_fd=self.shm()), ["shm", "fetch"])
            self.assertEqual(transports(shm_fd=self.shm(), functions=[]), ["shm"])

    def test_ta_only_fetches_nothing(self):
        # sma_cross.py's way: candles.ta alone; no column crosses at all.
        class Cross(Strategy):
            name, timeframe, stoploss, columns = "cross", "1h", -0.1, ["close"]

            def populate(self, candles, params, signals):
                a, b = candles.ta.sma("close", 10), candles.ta.sma("close", 30)
                signals.enter_long = candles.ta.crossed_above(a, b)
                signals.exit_long = candles.ta.fell(candles.ta.above(a, b))

        want = ts.evaluate(Cross(), {"close": self.cols["close"]})
        for host in self.hosts([(1, self.cols, {}, {}), (2, self.cols, {}, {})]):
            with self.subTest(shm=host.shm_fd is not None):
                host.serve(Cross())
                self.assertEqual(host.fetched, [])
                self.assertEqual(host.fetches, 0)
                self.assertEqual([m["type"] for m, _ in host.sent if m["type"] not in ("compute",)], ["spec", "signals", "signals"])
                for rid in (1, 2):
                    for name in ("enter_long", "exit_long"):
                        self.assertEqual(host.answers[rid][name], want.column(name), name)
                        self.assertIn(1, want.column(name))

    def test_read_columns_are_fetched_once(self):
        reqs = [(1, self.cols, {"read": "close,time"}, {}), (2, self.cols, {"read": ""}, {}),
                (3, self.cols, {"read": "high"}, {}), (4, self.cols, {"read": "np"}, {})]
        for host in self.hosts(reqs):
            with self.subTest(shm=host.shm_fd is not None):
                s = ColumnReader()
                host.serve(s)
                self.assertEqual(host.fetched, ["close", "time", "high", "close", "time"])
                fetches = [m for m, _ in host.sent if m["type"] == "fetch"]
                self.assertEqual(fetches[0], {"type": "fetch", "id": 1, "column": "close"})
                self.assertEqual([m["id"] for m in fetches], [1, 1, 3, 4, 4])
                for got in (s.got[0], s.got[3]):
                    self.assertEqual(got["time"], self.cols["time"])
                    _same_bits(self, got["close"], self.cols["close"], "close")
                _same_bits(self, s.got[2]["high"], self.cols["high"], "high")
                for rid in (1, 4):
                    self.assertEqual(host.answers[rid]["enter_long"], bytes(c > 100 for c in self.cols["close"]))
                    self.assertEqual(host.answers[rid]["exit_long"], bytes(c < 100 for c in self.cols["close"]))
                self.assertNotIn("enter_long", host.answers[2])
                # After populate: a column read there stays (an array of
                # its own); one never read cannot be fetched any more.
                self.assertEqual(s.kept.time.tolist(), self.cols["time"])
                with self.assertRaisesRegex(RuntimeError, "candles.open: TradAI sends this column when it is first read, which must be during the populate call"):
                    s.kept.open
                with self.assertRaisesRegex(AttributeError, "'low' was not requested"):
                    s.kept.low

    def test_not_granted(self):
        # A TradAI that sends the columns even so (NoCompute): as before.
        host = FakeHost([(1, self.cols, {"read": "close,time"}, {})], protocol=1, grant_fetch=False)
        s = ColumnReader()
        host.serve(s)
        self.assertEqual((host.sent[0][0]["transports"], host.fetched), (["fetch"], []))
        self.assertEqual(s.got[0]["time"], self.cols["time"])
        self.assertEqual(host.answers[1]["enter_long"], bytes(c > 100 for c in self.cols["close"]))

    def test_local_fallback_fetches_its_columns(self):
        # ema is not offered: the SDK computes it itself, fetching "high";
        # the rest stays with TradAI. The same values as computed here.
        fns = [f for f in ts.TA._FUNCTIONS if f != "ema"]
        for host in self.hosts([(1, self.cols, {"p": 10}, {}), (2, self.cols, {"p": 7}, {})], functions=fns):
            with self.subTest(shm=host.shm_fd is not None):
                s = TAUser()
                host.serve(s)
                self.assertEqual(host.fetched, ["high", "high"])
                for rid, p in ((1, 10), (2, 7)):
                    want = ts.evaluate(TAUser(), {k: self.cols[k] for k in TAUser.columns}, {"p": p})
                    got = {k: v for k, v in host.answers[rid].items() if v.count(0) != len(v)}
                    self.assertEqual(got, {k: want.column(k) for k in ts.SIGNAL_COLUMNS if 1 in want.column(k)})

    def test_bad_answers(self):
        def change(**fields):
            return _changing(fields, lambda answer: "column" in answer)

        def short(answer, body):
            return (dict(answer, bytes=len(body) - 8), body[:-8]) if "column" in answer else (answer, body)

        reqs = [(1, self.cols, {"read": "close,time"}, {})]
        for tamper, want in (
            (change(type="signals"), "got a 'signals' message where the answer to fetch of column close of request 1"),
            (change(id=2), "is for ref 0 of request 2"),
            (change(ref=1), "is for ref 1 of request 1"),
            (change(column="open"), "fetch of column close of request 1 is for column 'open'"),
            (change(column=None), "is for column None"),
            (change(kind="int64"), "of kind 'int64', want 'float64'"),
            (change(n=499), "n = 499 for a request of 500 candles"),
            (change(error=""), "malformed refusal"),
            (short, "payload of 3992 bytes for 500 float64 values"),
        ):
            with self.subTest(want=want):
                with self.assertRaisesRegex(ts.ProtocolError, want):
                    FakeHost(reqs, protocol=1, tamper=tamper).serve(ColumnReader())
        with self.assertRaisesRegex(ts.ProtocolError, "of kind 'float64', want 'int64'"):
            FakeHost(reqs, protocol=1, tamper=lambda a, b: (dict(a, kind="float64") if a.get("column") == "time" else a, b)).serve(ColumnReader())
        if hasattr(os, "memfd_create"):
            def outside(answer, body):
                if "column" in answer:
                    answer = dict(answer, shm={"offset": 1 << 30, "bytes": answer["shm"]["bytes"]})
                return answer, body

            def wrong_size(answer, body):
                if "column" in answer:
                    answer = dict(answer, shm={"offset": 0, "bytes": 8})
                return answer, body

            for tamper, want in ((outside, "outside the shared file"), (wrong_size, "has 8 bytes in shared memory for 500 float64 values")):
                with self.subTest(want=want):
                    with self.assertRaisesRegex(ts.ProtocolError, want):
                        FakeHost(reqs, shm_fd=self.shm(), tamper=tamper).serve(ColumnReader())

    def test_refused(self):
        # TradAI refuses a column: the strategy's error (a ValueError),
        # and serving goes on.
        def refuse(answer, body):
            if answer.get("column") == "time":
                return {"type": "computed", "id": answer["id"], "ref": 0, "column": "time", "error": "no time here", "bytes": 0}, b""
            return answer, body

        host = FakeHost([(1, self.cols, {"read": "close,time"}, {}), (2, self.cols, {"read": "close"}, {})], protocol=1, tamper=refuse)
        host.serve(ColumnReader())
        self.assertEqual(host.answers[1], "ValueError: candles.time: TradAI refused it: no time here")
        self.assertEqual(host.answers[2]["enter_long"], bytes(c > 100 for c in self.cols["close"]))

    def test_bad_requests(self):
        def conversation(hello, **fields):
            hdr = {"type": "populate", "id": 1, "pair": "A/B", "timeframe": "1h", "n": 2, "params": {},
                   "columns": ["close"], "bytes": 0, "fetch": True}
            hdr.update(fields)
            data = json.dumps(hello).encode() + b"\n" + json.dumps(hdr).encode() + b"\n"
            out = io.BytesIO()
            ts.serve(Demo(), io.BytesIO(data), out, io.StringIO())
            return read_messages(out.getvalue())

        offer = {"type": "hello", "protocol": 1, "compute": ["sma"]}
        for hello, fields, want in (
            ({"type": "hello", "protocol": 1}, {}, "without the fetch transport"),
            ({"type": "hello", "protocol": 2, "compute": ["sma"]}, {}, "without the fetch transport"),
            (offer, {"fetch": 1}, "bad fetch flag 1"),
            (offer, {"bytes": 16}, "carries columns"),
            (offer, {"shm": {"offset": 0, "bytes": 16}}, "(carries columns|not offered)"),
            ({"type": "hello", "protocol": 2, "compute": ["sma"], "shm_fd": -1}, {"frame": 1}, "without the fetch transport"),
        ):
            with self.subTest(want=want):
                with self.assertRaisesRegex(ts.ProtocolError, want):
                    conversation(hello, **fields)
        if hasattr(os, "memfd_create"):
            with self.assertRaisesRegex(ts.ProtocolError, "names a kept frame"):
                conversation({"type": "hello", "protocol": 2, "compute": ["sma"], "shm_fd": self.shm()}, frame=1)
        # A bad candle count or column list: the request's error.
        msgs = conversation(offer, columns=["close", "close"])
        self.assertIn("bad columns", msgs[1][0]["message"])


if __name__ == "__main__":
    unittest.main()
