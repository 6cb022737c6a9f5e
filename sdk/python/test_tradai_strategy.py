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


if __name__ == "__main__":
    unittest.main()
