"""TradAI strategies in Python.

This single file, which needs only the Python standard library (3.9+),
implements the strategy side of the TradAI strategy protocol (see
docs/strategy-protocol.md): TradAI starts the script, asks for its
declaration, then sends whole candle frames and reads back signal columns.

A strategy is a subclass of :class:`Strategy` that declares itself with class
attributes and fills the signals in :meth:`Strategy.populate`::

    from tradai_strategy import Strategy, IntParam, run, sma

    class SmaCross(Strategy):
        name = "sma_cross_py"
        timeframe = "5m"
        startup_candle_count = 200
        columns = ["close"]
        params = [IntParam("fast", 10, 2, 100), IntParam("slow", 30, 5, 200)]
        minimal_roi = {"0": 0.10}
        stoploss = -0.08

        def populate(self, candles, params, signals):
            fast, slow = sma(candles.close, params.fast), sma(candles.close, params.slow)
            for i in range(params.slow, len(candles)):
                up0, up1 = fast[i - 1] > slow[i - 1], fast[i] > slow[i]
                signals.enter_long[i] = up1 and not up0
                signals.exit_long[i] = up0 and not up1

    if __name__ == "__main__":
        run(SmaCross())

Candle columns are ``array('d')`` sequences (``time`` is ``array('q')`` of
Unix milliseconds). With numpy installed, ``candles.np("close")`` gives a
zero-copy numpy array and ``candles.df()`` a pandas DataFrame; numpy and
pandas are imported only when those are called. :func:`numpy_or_none`
says whether numpy can be used (``TRADAI_NO_NUMPY=1`` in the environment
hides it, to test a strategy's pure-Python path; ``TRADAI_NO_COMPUTE=1``
hides TradAI's offer to compute ``candles.ta``, which the SDK then computes
itself).

Signal columns are ``bytearray`` sequences of 0/1 (write ``True``/``False``
per candle), or assign a whole column at once from a list of bools or a numpy
bool array: ``signals.enter_long = close_np < lower_np``.

The indicator helpers (:func:`sma`, :func:`ema`, :func:`rsi`,
:func:`stdev`, :func:`bollinger`, :func:`macd`, :func:`crossed_above`,
:func:`crossed_below`) are pure Python, never look ahead, return NaN during
their warm-up and compute bit for bit the same values as the Go ``sdk/ta``
package, so a Python port of a Go strategy gives the same signals.
:func:`sma_np` is :func:`sma` vectorized with numpy (the same values, bit
for bit, as a numpy array), for strategies without a Python loop over
the candles.

``candles.ta`` (:class:`TA`) has TradAI compute those indicators, and
comparisons and crossings of them, while it waits for the answer: no
numpy, no loop, and bool results assigned to signal columns cross as
references (``signals.enter_long = ta.crossed_above(ta.sma("close", 10),
ta.sma("close", 30))``). Where TradAI does not offer it, the SDK computes
the same values itself.

The decision for candle ``i`` may use candles ``0..i`` only: ``tradai strategy
check`` finds strategies that look ahead.

Run ``python3 my_strategy.py --spec`` to print the declaration as TradAI sees
it. :func:`evaluate` runs ``populate`` on in-memory columns, for tests
without TradAI.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
from array import array
from collections import abc

# The annotations are for type checkers (which take TYPE_CHECKING as
# true) and are never evaluated: importing typing would cost a strategy's
# start a few milliseconds, before it can declare itself.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import (
        Any,
        BinaryIO,
        Dict,
        Iterable,
        List,
        Mapping,
        Optional,
        Sequence,
        Tuple,
        Union,
    )

    Number = Union[int, float]

__all__ = [
    "PROTOCOL",
    "MIN_PROTOCOL",
    "Strategy",
    "Param",
    "IntParam",
    "FloatParam",
    "BoolParam",
    "CategoricalParam",
    "Params",
    "Candles",
    "Signals",
    "TA",
    "Computed",
    "MAX_COMPUTED",
    "DeclarationError",
    "ProtocolError",
    "resolve",
    "run",
    "serve",
    "evaluate",
    "numpy_or_none",
    "sma",
    "sma_np",
    "ema",
    "rsi",
    "stdev",
    "bollinger",
    "macd",
    "crossed_above",
    "crossed_below",
]

#: The highest protocol version this SDK speaks. Version 2 keeps frames:
#: a frame's candle columns cross once per process, later requests for it
#: send only the parameters (the same Candles object is passed again).
PROTOCOL = 2

#: The oldest protocol version this SDK speaks (a TradAI before version 2).
MIN_PROTOCOL = 1

#: The most frames kept at once (TradAI forgets them long before).
_MAX_KEPT = 1 << 16

#: Every candle column, in the order TradAI sends them when a strategy does
#: not choose.
ALL_COLUMNS = ("time", "open", "high", "low", "close", "volume")

#: The signal columns, in the order this SDK sends them.
SIGNAL_COLUMNS = ("enter_long", "exit_long", "enter_short", "exit_short")

#: Supported timeframes (as in the Go sdk.Timeframe).
TIMEFRAMES = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
    "1d", "3d", "1w", "1M",
)

_MAX_HEADER = 1 << 20  # bytes, newline included
_MAX_MESSAGE = 64 << 10  # characters of an error message
_NAN = float("nan")
_BIG_ENDIAN = sys.byteorder == "big"
# Maps every byte to 0 or 1: signal columns go out as exactly 0 or 1.
_TO_BIT = bytes([0] + [1] * 255)


class DeclarationError(ValueError):
    """A strategy's declaration (its class attributes) is invalid."""


# --------------------------------------------------------------------------
# numpy, when there is one


def numpy_or_none() -> Any:
    """The numpy module, imported on first use, or None when numpy is not
    installed or ``TRADAI_NO_NUMPY`` is set to a non-empty value in the
    environment (which makes the SDK and strategies that ask here take
    their pure-Python paths, as without numpy).

    When this imports numpy, its subpackages ``numpy.random``,
    ``numpy.ma``, ``numpy.polynomial`` and ``numpy.fft`` are loaded when
    a strategy first uses them rather than with numpy (a third of
    numpy's import time, which a strategy waits for before its first
    answer)."""
    if os.environ.get("TRADAI_NO_NUMPY"):
        return None
    lazy = "numpy" not in sys.modules
    if lazy:
        sys.meta_path.insert(0, _LazyNumpyParts)
    try:
        import numpy
    except ImportError:
        return None
    finally:
        if lazy:
            sys.meta_path.remove(_LazyNumpyParts)
    return numpy


class _LazyNumpyParts:
    """An import finder, in :data:`sys.meta_path` only while
    :func:`numpy_or_none` imports numpy: it finds the subpackages of
    ``_PARTS`` as the standard finder does, with a loader that runs a
    subpackage's code on the first access to one of its attributes
    (:class:`importlib.util.LazyLoader`). numpy's ``__init__`` imports
    them all but uses none of them."""

    _PARTS = frozenset({"numpy.random", "numpy.ma", "numpy.polynomial", "numpy.fft"})

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in cls._PARTS:
            return None
        from importlib.machinery import PathFinder
        from importlib.util import LazyLoader

        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = LazyLoader(spec.loader)
        return spec


def _need_numpy(what: str) -> Any:
    numpy = numpy_or_none()
    if numpy is None:
        if os.environ.get("TRADAI_NO_NUMPY"):
            raise ImportError(f"{what} needs numpy, which TRADAI_NO_NUMPY hides")
        raise ImportError(f"{what} needs numpy (apt install python3-numpy, or pip install numpy)")
    return numpy


# --------------------------------------------------------------------------
# Parameters


class Param:
    """A tunable parameter: use :class:`IntParam`, :class:`FloatParam`,
    :class:`BoolParam` or :class:`CategoricalParam`."""

    kind = ""

    def __init__(self, name: str, default: Any, help: str = "") -> None:
        self.name = name
        self.default = default
        self.help = help

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.default!r})"

    def check(self) -> None:
        """Raise DeclarationError unless the parameter is well formed."""
        if not isinstance(self.name, str) or not self.name:
            raise DeclarationError("a parameter has no name")
        if not isinstance(self.help, str):
            raise DeclarationError(f"parameter {self.name!r}: help must be a string")
        try:
            self.coerce(self.default)
        except (TypeError, ValueError) as e:
            raise DeclarationError(f"parameter {self.name!r} default: {e}") from None

    def coerce(self, value: Any) -> Any:
        """Return value as this parameter's Python type, or raise ValueError."""
        raise NotImplementedError

    def to_json(self) -> Dict[str, Any]:
        """The parameter as the protocol's spec describes it."""
        return {"name": self.name, "kind": self.kind, "default": self.coerce(self.default)}


class _NumberParam(Param):
    def __init__(self, name: str, default: Number, min: Number, max: Number, help: str = "") -> None:
        super().__init__(name, default, help)
        self.min = min
        self.max = max

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.default!r}, {self.min!r}, {self.max!r})"

    def check(self) -> None:
        for bound in ("min", "max"):
            v = getattr(self, bound)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise DeclarationError(f"parameter {self.name!r}: {bound} must be a finite number, got {v!r}")
        if self.min > self.max:
            raise DeclarationError(f"parameter {self.name!r}: min {self.min} is above max {self.max}")
        super().check()

    def _in_range(self, v: Number) -> None:
        if not (self.min <= v <= self.max):
            raise ValueError(f"{v} is outside [{self.min}, {self.max}]")

    def to_json(self) -> Dict[str, Any]:
        d = super().to_json()
        d["min"] = self.min
        d["max"] = self.max
        return _with_help(d, self.help)


def _with_help(d: Dict[str, Any], text: str) -> Dict[str, Any]:
    if text:
        d["help"] = text
    return d


class IntParam(_NumberParam):
    """An integer parameter with inclusive bounds: ``IntParam("fast", 10, 2, 50)``."""

    kind = "int"

    def coerce(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"want an integer, got {type(value).__name__} {value!r}")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"want an integer, got {value!r}")
            value = int(value)
        self._in_range(value)
        return value


class FloatParam(_NumberParam):
    """A real parameter with inclusive bounds: ``FloatParam("k", 2.0, 0.5, 4)``."""

    kind = "float"

    def coerce(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"want a number, got {type(value).__name__} {value!r}")
        value = float(value)
        if math.isnan(value):
            raise ValueError("want a number, got NaN")
        self._in_range(value)
        return value


class BoolParam(Param):
    """A true/false parameter: ``BoolParam("use_volume", False)``."""

    kind = "bool"

    def to_json(self) -> Dict[str, Any]:
        return _with_help(super().to_json(), self.help)

    def coerce(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"want true or false, got {type(value).__name__} {value!r}")
        return value


class CategoricalParam(Param):
    """A parameter taking one of a few strings:
    ``CategoricalParam("mode", "cross", ["cross", "above"])``."""

    kind = "categorical"

    def __init__(self, name: str, default: str, choices: Sequence[str], help: str = "") -> None:
        super().__init__(name, default, help)
        self.choices = list(choices) if not isinstance(choices, str) else [choices]

    def __repr__(self) -> str:
        return f"CategoricalParam({self.name!r}, {self.default!r}, {self.choices!r})"

    def check(self) -> None:
        if not self.choices:
            raise DeclarationError(f"parameter {self.name!r}: no choices")
        for c in self.choices:
            if not isinstance(c, str):
                raise DeclarationError(f"parameter {self.name!r}: choice {c!r} is not a string")
        if len(set(self.choices)) != len(self.choices):
            raise DeclarationError(f"parameter {self.name!r}: choices repeat")
        super().check()

    def coerce(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"want a string, got {type(value).__name__} {value!r}")
        if value not in self.choices:
            raise ValueError(f"{value!r} is not one of {self.choices}")
        return value

    def to_json(self) -> Dict[str, Any]:
        d = super().to_json()
        d["choices"] = list(self.choices)
        return _with_help(d, self.help)


class Params(dict):
    """Resolved parameter values by name, readable as ``params["fast"]`` or
    ``params.fast``: ``int``, ``float``, ``bool`` or ``str`` by kind."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r} (declared: {', '.join(self) or 'none'})") from None


# --------------------------------------------------------------------------
# Candles and signals


class Candles:
    """The candles of one request, as columns.

    Attributes: ``pair``, ``timeframe``, ``n`` (also ``len(candles)``),
    ``columns`` (the names present) and one attribute per column:
    ``time`` (``array('q')``, Unix ms UTC), ``open``, ``high``, ``low``,
    ``close``, ``volume`` (``array('d')``). Only the columns the strategy
    asked for are present. Where TradAI sends them on demand (the "fetch"
    transport), a column crosses when first read, during ``populate``.
    """

    #: Columns still in TradAI's shared memory (the "shm" transport), by
    #: name: each becomes an array of its own when first read as an
    #: attribute; :meth:`np` views it in place until then.
    _shared: Optional[Dict[str, memoryview]] = None

    #: The candles.ta of the populate call being served, or of the
    #: candles themselves outside one.
    _session: Optional["TA"] = None

    #: Columns TradAI has not sent (the "fetch" transport), by name: each
    #: is fetched when first read, during the populate call of _fetch_ta.
    _unfetched: Optional[set] = None
    _fetch_ta: Optional["TA"] = None

    def __init__(self, columns: Mapping[str, Sequence[Number]], pair: str = "", timeframe: str = "") -> None:
        self.pair = pair
        self.timeframe = timeframe
        self.columns: Tuple[str, ...] = tuple(columns)
        n = -1
        for name, col in columns.items():
            if name not in ALL_COLUMNS:
                raise ValueError(f"unknown candle column {name!r} (known: {', '.join(ALL_COLUMNS)})")
            code = "q" if name == "time" else "d"
            if not isinstance(col, array) or col.typecode != code:
                col = array(code, col)
            if n >= 0 and len(col) != n:
                raise ValueError(f"column {name} has {len(col)} values, not {n}")
            n = len(col)
            setattr(self, name, col)
        self.n = max(n, 0)

    def __len__(self) -> int:
        return self.n

    @property
    def ta(self) -> "TA":
        """Indicators over these candles (:class:`TA`), computed by TradAI
        when it offers them, else here, with the same values."""
        ta = self._session
        if ta is None:  # outside populate: computed here, kept with the candles
            ta = self._session = TA(self, limit=None)
        return ta

    @classmethod
    def _in_shared(cls, views: Dict[str, memoryview], n: int, pair: str, timeframe: str) -> "Candles":
        """Candles whose columns are views of TradAI's shared memory."""
        c = cls.__new__(cls)
        c.pair, c.timeframe, c.columns, c.n = pair, timeframe, tuple(views), n
        c._shared = views
        return c

    @classmethod
    def _on_demand(cls, names: List[str], n: int, pair: str, timeframe: str) -> "Candles":
        """Candles whose columns TradAI sends when first read (the "fetch"
        transport): the serving loop sets _fetch_ta."""
        c = cls.__new__(cls)
        c.pair, c.timeframe, c.columns, c.n = pair, timeframe, tuple(names), n
        c._unfetched = set(names)
        return c

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes that are not set: a column still in
        # shared memory or not fetched yet, or one not asked for.
        shared = self._shared
        if shared is not None and name in shared:
            col = array("q" if name == "time" else "d")
            col.frombytes(shared[name])  # a copy: TradAI reuses its memory
            setattr(self, name, col)
            return col
        unfetched = self._unfetched
        if unfetched is not None and name in unfetched:
            ta = self._fetch_ta
            if ta is None or not ta._open or ta._host is None:
                raise RuntimeError(
                    f"candles.{name}: TradAI sends this column when it is first read, which must be during "
                    "the populate call (read it there: a column read once stays)"
                )
            col = ta._host.column(ta._id, name)
            unfetched.discard(name)
            setattr(self, name, col)
            return col
        if name in ALL_COLUMNS:
            raise AttributeError(
                f"candle column {name!r} was not requested: add it to the strategy's columns "
                f"(requested: {', '.join(self.columns)})"
            )
        raise AttributeError(name)

    def np(self, name: str) -> Any:
        """Column ``name`` as a numpy array (float64, or int64 for time)
        sharing memory with the column. Needs numpy.

        When TradAI passes the columns in shared memory (on Linux), the
        array views that memory, without a copy, until the column is read
        as an attribute: it holds this request's candles while
        ``populate`` runs, and TradAI writes the next request's there.
        Copy it (``numpy.array(...)``) to keep it longer. When TradAI
        sends the columns as they are read (the "fetch" transport), the
        column is fetched here if it was not yet, and the array is its
        own."""
        numpy = _need_numpy("candles.np")
        dtype = numpy.int64 if name == "time" else numpy.float64
        shared = self._shared
        if shared is not None and name in shared and name not in self.__dict__:
            return numpy.frombuffer(shared[name], dtype=dtype)
        return numpy.frombuffer(getattr(self, name), dtype=dtype)

    def df(self) -> Any:
        """The columns as a pandas DataFrame, plus a ``date`` column of UTC
        timestamps when ``time`` is present. Needs pandas."""
        _need_numpy("candles.df")
        import pandas  # optional dependency

        data = {name: self.np(name) for name in self.columns}
        frame = pandas.DataFrame(data, copy=False)
        if "time" in data:
            frame["date"] = pandas.to_datetime(data["time"], unit="ms", utc=True)
        return frame


class _SignalColumn:
    """Descriptor for one signal column of :class:`Signals`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Optional["Signals"], owner: type) -> Any:
        if obj is None:
            return self
        return obj._col(self.name)

    def __set__(self, obj: "Signals", value: Any) -> None:
        if isinstance(value, Computed):
            obj._set_computed(self.name, value)
            return
        obj._computed.pop(self.name, None)
        obj._cols[self.name] = _bool_bytes(value, obj.n, self.name)


def _bool_bytes(value: Any, n: int, what: str) -> bytearray:
    """value (bytes, a numpy/pandas array or any iterable of truth values) as
    a bytearray of n zeros and ones."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        out = bytearray(bytes(value).translate(_TO_BIT))
    elif hasattr(value, "dtype") and hasattr(value, "__array__"):
        import numpy  # value is a numpy or pandas object, so numpy is there

        arr = numpy.asarray(value)
        if arr.ndim != 1:
            raise ValueError(f"{what}: want a 1-dimensional array, got shape {arr.shape}")
        out = bytearray(arr.astype(numpy.bool_, copy=False).tobytes())
    else:
        out = bytearray(map(bool, value))
    if len(out) != n:
        raise ValueError(f"{what}: got {len(out)} values for {n} candles")
    return out


class Signals:
    """The signal columns a strategy fills: ``enter_long``, ``exit_long``,
    ``enter_short``, ``exit_short``.

    Each is a ``bytearray`` of ``n`` zeros (no signal): set
    ``signals.enter_long[i] = True`` for candle ``i``, or assign a whole
    column from a list of bools, a numpy bool array or a pandas Series.
    A signal on candle ``i`` is acted on at the open of candle ``i+1``.
    :meth:`tag` names the reason of an entry.
    """

    enter_long = _SignalColumn("enter_long")
    exit_long = _SignalColumn("exit_long")
    enter_short = _SignalColumn("enter_short")
    exit_short = _SignalColumn("exit_short")

    def __init__(self, n: int) -> None:
        self.n = n
        # The columns used so far: one is made (n zeros) when first
        # used; one never used is all false and is not sent.
        self._cols: Dict[str, bytearray] = {}
        self._tags: Dict[int, str] = {}
        # Columns assigned a bool result TradAI holds: only its ref is
        # sent, unless the column is used otherwise first.
        self._computed: Dict[str, Computed] = {}

    def _set_computed(self, name: str, c: Computed) -> None:
        c._check(f"signals.{name}")
        if c.kind != "bool":
            raise TypeError(
                f"signals.{name}: {c!r} is a float64 series; a signal needs a bool result "
                "(candles.ta.above, below, crossed_above, ...)"
            )
        if c.n != self.n:
            raise ValueError(f"signals.{name}: got {c.n} values for {self.n} candles")
        if c._remote:
            self._cols.pop(name, None)
            self._computed[name] = c
        else:
            self._computed.pop(name, None)
            self._cols[name] = c._bits()

    def _col(self, name: str) -> bytearray:
        col = self._cols.get(name)
        if col is None:
            c = self._computed.pop(name, None)
            if c is not None:  # used as a column after all: its values are fetched
                c._check(f"signals.{name}")
                col = self._cols[name] = c._bits()
                return col
            if name not in SIGNAL_COLUMNS:
                raise KeyError(f"no signal column {name!r} (known: {', '.join(SIGNAL_COLUMNS)})")
            col = self._cols[name] = bytearray(self.n)
        return col

    def __len__(self) -> int:
        return self.n

    def tag(self, i: int, tag: str) -> None:
        """Record the enter tag of the entry on candle i (an empty tag
        removes it)."""
        if isinstance(i, bool) or not isinstance(i, int):
            i = _index(i)
        if not 0 <= i < self.n:
            raise IndexError(f"tag index {i} out of range for {self.n} candles")
        if not isinstance(tag, str):
            raise TypeError(f"tag must be a string, got {type(tag).__name__}")
        if tag:
            self._tags[i] = tag
        else:
            self._tags.pop(i, None)

    @property
    def tags(self) -> Dict[int, str]:
        """The enter tags by candle index (a copy)."""
        return dict(self._tags)

    def np(self, name: str) -> Any:
        """Signal column ``name`` as a writable numpy bool array sharing
        memory with it: ``signals.np("enter_long")[mask] = True``. Needs
        numpy."""
        numpy = _need_numpy("signals.np")
        return numpy.frombuffer(self._col(name), dtype=numpy.bool_)

    def column(self, name: str) -> bytes:
        """Column ``name`` as bytes of exactly 0 and 1, as sent to TradAI."""
        return bytes(self._col(name)).translate(_TO_BIT)


def _index(i: Any) -> int:
    try:
        return int(i.__index__())
    except AttributeError:
        raise TypeError(f"tag index must be an integer, got {type(i).__name__}") from None


# --------------------------------------------------------------------------
# Indicators computed by TradAI: candles.ta


#: The most results a strategy makes in one populate call (refs 1 to 64).
MAX_COMPUTED = 64

_PERIOD_FNS = ("sma", "ema", "rsi", "stdev")
# The longest period candles.ta takes (TradAI's limit too).
_MAX_PERIOD = 1 << 31
# The functions of bool results.
_BOOL_FNS = ("and", "or", "not", "rose", "fell")
_TA_COLUMNS = ("open", "high", "low", "close", "volume")


class Computed:
    """A result of :attr:`Candles.ta`: a series of ``n`` values, one per
    candle, of kind ``"float64"`` (NaN where undefined) or ``"bool"``.

    ``len(result)``, ``result.np()`` (a read-only numpy array: needs
    numpy), ``result.list()`` (a list of floats or bools),
    ``result.bytes()`` (as the protocol carries them: a bool result as
    bytes of 0 and 1). Bool results
    combine with ``&``, ``|`` and ``~`` and are assigned to signal
    columns as they are: ``signals.enter_long = fast_up & rising``.
    When TradAI computed the result its values cross only when first
    asked for (``np``, ``list``, an indexed signal column). A result is
    valid only during the ``populate`` call that made it."""

    __slots__ = ("_ta", "_fn", "ref", "kind", "n", "_remote", "_vals")

    def __init__(self, ta: "TA", fn: str, ref: int, kind: str, remote: bool, vals: Any = None) -> None:
        self._ta = ta
        self._fn = fn
        self.ref = ref
        self.kind = kind
        self.n = ta._candles.n
        self._remote = remote
        # None (TradAI holds them, not fetched yet), bytes (fetched),
        # a list or a numpy array (computed here).
        self._vals = vals

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        where = "TradAI" if self._remote else "local"
        return f"<Computed {self._fn} ref {self.ref}: {self.n} {self.kind} ({where})>"

    def __bool__(self) -> bool:
        raise TypeError(f"{self!r} is a whole series, not a truth value: use .list() or .np(), or assign it to a signal")

    def __and__(self, other: Any) -> "Computed":
        return self._ta.and_(self, other)

    def __or__(self, other: Any) -> "Computed":
        return self._ta.or_(self, other)

    def __invert__(self) -> "Computed":
        return self._ta.not_(self)

    def _check(self, what: str) -> None:
        if not self._ta._open:
            raise RuntimeError(
                f"{what}: {self!r} is from a finished populate call: candles.ta results are valid only "
                "during the populate call that made them"
            )

    def _raw(self) -> bytes:
        """The values as the protocol sends them (fetched when needed)."""
        if self._vals is None:
            self._vals = self._ta._host.fetch(self._ta._id, self.ref, self._fn, self.kind)
        return self._vals

    def np(self) -> Any:
        """The values as a read-only numpy array (float64 or bool)."""
        self._check("Computed.np")
        numpy = _need_numpy("Computed.np")
        return self._array(numpy)

    def list(self) -> List[Any]:
        """The values as a new list of floats (NaN where undefined) or bools."""
        self._check("Computed.list")
        return self._list()

    def bytes(self) -> bytes:
        """The values as the protocol carries them: for a bool result one
        byte per candle, 0 or 1 (the format of a signal column); for a
        float64 result 8 bytes per candle, little-endian."""
        self._check("Computed.bytes")
        v = self._vals
        if v is None or isinstance(v, bytes):
            return self._raw()
        if self.kind == "bool":
            return bytes(self._bits())
        a = array("d", v) if isinstance(v, list) else array("d", v.tolist())
        if _BIG_ENDIAN:
            a.byteswap()
        return a.tobytes()

    def _array(self, numpy: Any) -> Any:
        v = self._vals
        dtype = numpy.bool_ if self.kind == "bool" else numpy.dtype("<f8")
        if v is None or isinstance(v, bytes):
            return numpy.frombuffer(self._raw(), dtype=dtype)  # read-only
        if isinstance(v, list):
            v = numpy.array(v, dtype=dtype)
        else:
            v = v.view()
        v.flags.writeable = False
        return v

    def _list(self) -> List[Any]:
        v = self._vals
        if v is None or isinstance(v, bytes):
            raw = self._raw()
            if self.kind == "bool":
                return list(map(bool, raw))
            a = array("d")
            a.frombytes(raw)
            if _BIG_ENDIAN:
                a.byteswap()
            return a.tolist()
        if isinstance(v, list):
            return list(v)
        return v.tolist()

    def _bits(self) -> bytearray:
        """A bool result as a signal column: n bytes of 0 and 1."""
        v = self._vals
        if v is None or isinstance(v, bytes):
            return bytearray(self._raw())
        if isinstance(v, list):
            return bytearray(v)
        return bytearray(v.astype(bool, copy=False).tobytes())


class TA:
    """The indicators of one ``populate`` call, as ``candles.ta``.

    Inputs are candle column names (``"close"``, ``"open"``, ``"high"``,
    ``"low"``, ``"volume"``) or earlier :class:`Computed` results; each
    method returns a :class:`Computed`:

    - ``sma(x, period)``, ``ema(x, period)``, ``rsi(x, period=14)``,
      ``stdev(x, period)``: float64, as :func:`sma`, :func:`ema`,
      :func:`rsi`, :func:`stdev` (the Go ``sdk/ta`` values bit for bit);
      ``period`` an integer from 1 on (beyond the candles, all NaN);
    - ``above(a, b)``, ``below(a, b)``: bool, ``a > b`` / ``a < b``
      (false where either is NaN); ``b`` an input or a number;
    - ``crossed_above(a, b)``, ``crossed_below(a, b)``: bool,
      :func:`crossed_above` / :func:`crossed_below` at every candle;
    - ``and_(a, b)``, ``or_(a, b)``, ``not_(a)`` (also ``a & b``,
      ``a | b``, ``~a``): bool, of bool results;
    - ``rose(a)``, ``fell(a)``: bool, where the bool result ``a`` became
      true (``a[i] and not a[i-1]``) or false (``not a[i] and a[i-1]``);
      false at candle 0.

    When TradAI offers the functions (its hello's ``compute``), it
    computes them and keeps the values until they are asked for: a
    strategy that only assigns bool results to signals moves no series
    at all. Otherwise (an older TradAI, :func:`evaluate`, candles built by
    hand) the SDK computes the same values itself, with numpy when there
    is one. At most 64 results per ``populate`` call; they are valid
    during that call only."""

    #: The protocol's names of the functions, in the order TradAI offers them.
    _FUNCTIONS = ("sma", "ema", "rsi", "stdev", "above", "below", "crossed_above", "crossed_below", "and", "or", "not", "rose", "fell")

    def __init__(self, candles: "Candles", host: Optional["_Host"] = None, req_id: Any = None,
                 limit: Optional[int] = MAX_COMPUTED) -> None:
        self._candles = candles
        self._host = host
        self._id = req_id
        self._limit = limit
        self._refs = 0
        self._open = True

    def sma(self, x: Any, period: int) -> Computed:
        """Simple moving average (float64), as :func:`sma`."""
        return self._compute("sma", (x,), period)

    def ema(self, x: Any, period: int) -> Computed:
        """Exponential moving average (float64), as :func:`ema`."""
        return self._compute("ema", (x,), period)

    def rsi(self, x: Any, period: int = 14) -> Computed:
        """Relative strength index (float64), as :func:`rsi`."""
        return self._compute("rsi", (x,), period)

    def stdev(self, x: Any, period: int) -> Computed:
        """Population standard deviation (float64), as :func:`stdev`."""
        return self._compute("stdev", (x,), period)

    def above(self, a: Any, b: Any) -> Computed:
        """``a > b`` at every candle (bool); ``b`` an input or a number."""
        return self._compare("above", a, b)

    def below(self, a: Any, b: Any) -> Computed:
        """``a < b`` at every candle (bool); ``b`` an input or a number."""
        return self._compare("below", a, b)

    def crossed_above(self, a: Any, b: Any) -> Computed:
        """Where ``a`` crossed above ``b`` (bool), as :func:`crossed_above`."""
        return self._compute("crossed_above", (a, b))

    def crossed_below(self, a: Any, b: Any) -> Computed:
        """Where ``a`` crossed below ``b`` (bool), as :func:`crossed_below`."""
        return self._compute("crossed_below", (a, b))

    def and_(self, a: Computed, b: Computed) -> Computed:
        """Both bool results true (also ``a & b``)."""
        return self._compute("and", (a, b))

    def or_(self, a: Computed, b: Computed) -> Computed:
        """Either bool result true (also ``a | b``)."""
        return self._compute("or", (a, b))

    def not_(self, a: Computed) -> Computed:
        """The bool result negated (also ``~a``)."""
        return self._compute("not", (a,))

    def rose(self, a: Computed) -> Computed:
        """Where the bool result became true: ``a[i] and not a[i-1]``."""
        return self._compute("rose", (a,))

    def fell(self, a: Computed) -> Computed:
        """Where the bool result became false: ``not a[i] and a[i-1]``."""
        return self._compute("fell", (a,))

    def _compare(self, fn: str, a: Any, b: Any) -> Computed:
        if isinstance(b, (int, float)) and not isinstance(b, bool):
            if not math.isfinite(b):
                raise ValueError(f"candles.ta.{fn}: the constant must be a finite number, got {b!r}")
            return self._compute(fn, (a,), b)
        return self._compute(fn, (a, b))

    def _compute(self, fn: str, inputs: Tuple[Any, ...], arg: Any = None) -> Computed:
        what = f"candles.ta.{fn}"
        if not self._open:
            raise RuntimeError(f"{what}: this candles.ta is from a finished populate call")
        n = self._candles.n
        if fn in _PERIOD_FNS and (isinstance(arg, bool) or not isinstance(arg, int) or not 1 <= arg <= _MAX_PERIOD):
            raise ValueError(f"{what}: period must be an integer from 1 to {_MAX_PERIOD}, got {arg!r}")
        want = "bool" if fn in _BOOL_FNS else "float64"
        wire: List[Any] = []
        for k, x in enumerate(inputs):
            if isinstance(x, Computed):
                if x._ta is not self:
                    x._check(what)
                    raise ValueError(f"{what}: input {k + 1} ({x!r}) belongs to other candles")
                x._check(what)
                if x.kind != want:
                    raise TypeError(f"{what}: input {k + 1} ({x!r}) is {x.kind}, want {want}")
                wire.append(x.ref)
            elif isinstance(x, str) and want == "float64":
                if x not in _TA_COLUMNS:
                    raise ValueError(f"{what}: input {k + 1}: no candle column {x!r} (known: {', '.join(_TA_COLUMNS)})")
                wire.append(x)
            else:
                kind = "a bool result" if want == "bool" else "a candle column name or a float64 result"
                raise TypeError(f"{what}: input {k + 1} must be {kind}, got {type(x).__name__} {x!r}")
        if self._limit is not None and self._refs >= self._limit:
            raise ValueError(f"{what}: more than {self._limit} candles.ta results in one populate call")
        self._refs += 1
        ref = self._refs
        kind = "float64" if fn in _PERIOD_FNS else "bool"
        host = self._host
        args = [] if arg is None else [arg]
        if host is not None and fn in host.functions and all(
            not isinstance(x, Computed) or x._remote for x in inputs
        ):
            host.compute(self._id, ref, fn, wire, args)
            return Computed(self, fn, ref, kind, True)
        return Computed(self, fn, ref, kind, False, self._local(fn, inputs, args, what))

    def _local(self, fn: str, inputs: Tuple[Any, ...], args: List[Any], what: str) -> Any:
        """fn computed here, with the SDK's functions: the values TradAI
        computes, bit for bit."""
        numpy = numpy_or_none()
        xs = []
        for x in inputs:
            if isinstance(x, Computed):
                xs.append(x._list() if numpy is None else x._array(numpy))
                continue
            if x not in self._candles.columns:
                raise ValueError(
                    f"{what}: candle column {x!r} was not requested: add it to the strategy's columns "
                    f"to compute it without TradAI (requested: {', '.join(self._candles.columns)})"
                )
            xs.append(getattr(self._candles, x) if numpy is None else self._candles.np(x))
        a = xs[0]
        if fn in _PERIOD_FNS:
            if fn == "sma" and numpy is not None:
                return sma_np(a, args[0])
            return {"sma": sma, "ema": ema, "rsi": rsi, "stdev": stdev}[fn](a, args[0])
        b = xs[1] if len(xs) > 1 else (args[0] if args else None)
        if numpy is not None:
            if fn == "above":
                return numpy.greater(a, b)
            if fn == "below":
                return numpy.less(a, b)
            if fn in ("crossed_above", "crossed_below"):
                out = numpy.zeros(len(a), dtype=bool)
                if fn == "crossed_above":
                    numpy.logical_and(a[:-1] <= b[:-1], a[1:] > b[1:], out=out[1:])
                else:
                    numpy.logical_and(a[:-1] >= b[:-1], a[1:] < b[1:], out=out[1:])
                return out
            if fn == "and":
                return numpy.logical_and(a, b)
            if fn == "or":
                return numpy.logical_or(a, b)
            if fn in ("rose", "fell"):
                out = numpy.zeros(len(a), dtype=bool)
                if fn == "rose":
                    numpy.greater(a[1:], a[:-1], out=out[1:])
                else:
                    numpy.less(a[1:], a[:-1], out=out[1:])
                return out
            return numpy.logical_not(a)
        a = _floats(a) if fn not in _BOOL_FNS else a
        if fn in ("above", "below"):
            if not isinstance(b, (int, float)):
                b = _floats(b)
                return [x > y for x, y in zip(a, b)] if fn == "above" else [x < y for x, y in zip(a, b)]
            return [x > b for x in a] if fn == "above" else [x < b for x in a]
        if fn == "crossed_above":
            return crossed_above(a, _floats(b))
        if fn == "crossed_below":
            return crossed_below(a, _floats(b))
        if fn == "and":
            return [x and y for x, y in zip(a, b)]
        if fn == "or":
            return [x or y for x, y in zip(a, b)]
        if fn == "rose":
            return [False] + [bool(y and not x) for x, y in zip(a, a[1:])] if a else []
        if fn == "fell":
            return [False] + [bool(x and not y) for x, y in zip(a, a[1:])] if a else []
        return [not x for x in a]


class _Host:
    """TradAI's side of the "compute" extension during a request: sends
    compute and fetch messages and reads and checks their answers."""

    def __init__(self, inp: BinaryIO, out: BinaryIO, shm: Optional["_Shm"], functions: Iterable[str]) -> None:
        self.inp, self.out, self.shm = inp, out, shm
        self.functions = frozenset(functions)
        self.n = 0  # the candle count of the request being served
        #: The ProtocolError that ended the conversation, kept in case
        #: the strategy's code catches it.
        self.broken: Optional[ProtocolError] = None

    def compute(self, req_id: Any, ref: int, fn: str, inputs: List[Any], args: List[Any]) -> None:
        msg: Dict[str, Any] = {"type": "compute", "id": req_id, "ref": ref, "fn": fn, "inputs": inputs}
        if args:
            msg["args"] = args
        what = f"compute {fn} (ref {ref}) of request {req_id}"
        self._ask(msg, what, f"candles.ta.{fn}", "float64" if fn in _PERIOD_FNS else "bool", None)

    def fetch(self, req_id: Any, ref: int, fn: str, kind: str) -> bytes:
        what = f"fetch {fn} (ref {ref}) of request {req_id}"
        raw = bytearray(self.n * (1 if kind == "bool" else 8))
        self._ask({"type": "fetch", "id": req_id, "ref": ref}, what, f"candles.ta.{fn}", kind, raw)
        if kind == "bool" and raw.translate(_TO_BIT) != raw:
            raise self._broken(ProtocolError(f"the answer to {what} has bool values other than 0 and 1"))
        return bytes(raw)

    def column(self, req_id: Any, name: str) -> array:
        """Candle column name of request req_id (the "fetch" transport),
        read straight into an array of its own."""
        col = array("q" if name == "time" else "d", bytes(8)) * self.n
        kind = "int64" if name == "time" else "float64"
        self._ask({"type": "fetch", "id": req_id, "column": name}, f"fetch of column {name} of request {req_id}",
                  f"candles.{name}", kind, col, name)
        if _BIG_ENDIAN:
            col.byteswap()
        return col

    def _broken(self, e: ProtocolError) -> ProtocolError:
        self.broken = e
        return e

    def _ask(self, msg: Dict[str, Any], what: str, user: str, kind: str, into: Any, column: Optional[str] = None) -> None:
        """Sends msg and reads its answer: with into (a buffer of the
        values' size), the values, read into it."""
        if self.broken is not None:
            raise self.broken
        try:
            _write(self.out, msg)
            self._answer(msg["id"], msg.get("ref", 0), column, what, user, kind, into)
        except ProtocolError as e:
            raise self._broken(e)

    def _answer(self, req_id: Any, ref: int, column: Optional[str], what: str, user: str, kind: str, into: Any) -> None:
        """Reads and checks the computed answer to a compute, or with
        values (into) to a fetch of a result or of a candle column."""
        msg = _read_header(self.inp)
        if msg is None:
            raise ProtocolError(f"input ended while waiting for the answer to {what}")
        nbytes = _payload_size(msg)
        if msg.get("type") != "computed":
            raise ProtocolError(f"got a {msg.get('type')!r} message where the answer to {what} was expected")
        got_ref = msg.get("ref", 0)
        if msg.get("id") != req_id or got_ref != ref or isinstance(got_ref, bool):
            raise ProtocolError(f"the answer to {what} is for ref {msg.get('ref')!r} of request {msg.get('id')!r}")
        if msg.get("column") != column:
            raise ProtocolError(f"the answer to {what} is for column {msg.get('column')!r}")
        region = msg.get("shm")
        err = msg.get("error")
        if err is not None:
            if not isinstance(err, str) or nbytes or region is not None:
                raise ProtocolError(f"malformed refusal of {what}: {msg!r}")
            raise ValueError(f"{user}: TradAI refused it: {err}")
        if msg.get("kind") != kind:
            raise ProtocolError(f"the answer to {what} is of kind {msg.get('kind')!r}, want {kind!r}")
        got_n = msg.get("n", 0)  # omitted when 0
        if isinstance(got_n, bool) or got_n != self.n:
            raise ProtocolError(f"the answer to {what} has n = {got_n!r} for a request of {self.n} candles")
        n = self.n
        if into is None:
            if nbytes or region is not None:
                raise ProtocolError(f"the answer to {what} carries values that were not asked for")
            return
        buf = memoryview(into).cast("B")
        size = len(buf)
        if region is None:
            if nbytes != size:
                raise ProtocolError(f"the answer to {what} has a payload of {nbytes} bytes for {n} {kind} values")
            _read_exact(self.inp, buf)
            return
        off = region.get("offset") if isinstance(region, dict) else None
        cnt = region.get("bytes") if isinstance(region, dict) else None
        if self.shm is None or nbytes or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (off, cnt)):
            raise ProtocolError(f"bad shared memory region {region!r} in the answer to {what} (payload {nbytes} bytes)")
        if cnt != size:
            raise ProtocolError(f"the answer to {what} has {cnt} bytes in shared memory for {n} {kind} values")
        if not self.shm.read_into(off, buf):
            raise ProtocolError(f"shared memory region {region!r} of the answer to {what} is outside the shared file")


# --------------------------------------------------------------------------
# The strategy


class Strategy:
    """Base class of a strategy. Declare it with class attributes and
    implement :meth:`populate`.

    Required: ``name``, ``timeframe`` (``"1m"`` … ``"1M"``) and ``stoploss``
    (a negative ratio, e.g. ``-0.10``). Optional: ``description``,
    ``startup_candle_count`` (candles the indicators need, default 0),
    ``can_short``, ``columns`` (the candle columns to receive; default all
    six), ``params`` (a list of ``*Param``), ``minimal_roi`` (Freqtrade's
    ``{"minutes": ratio}``, default none), ``trailing_stop``,
    ``trailing_stop_positive``, ``trailing_stop_positive_offset``,
    ``trailing_only_offset_is_reached``.

    :meth:`on_start` runs once per process, while TradAI loads the candles.
    """

    name: str = ""
    description: str = ""
    timeframe: str = ""
    startup_candle_count: int = 0
    can_short: bool = False
    columns: Optional[Sequence[str]] = None
    params: Sequence[Param] = ()
    minimal_roi: Mapping[Union[str, int], Number] = {}
    stoploss: Optional[float] = None
    trailing_stop: bool = False
    trailing_stop_positive: float = 0.0
    trailing_stop_positive_offset: float = 0.0
    trailing_only_offset_is_reached: bool = False

    def on_start(self) -> None:
        """Called once per process, right after TradAI has the declaration
        and before the first request, while TradAI loads the candles: the
        place to import heavy modules (numpy: :func:`numpy_or_none`) or
        build tables, so that this time is not waited for. An exception
        here ends the process. Does nothing by default."""

    def populate(self, candles: Candles, params: Params, signals: Signals) -> None:
        """Fill ``signals`` from ``candles`` with parameter values ``params``.

        The decision for candle i may use candles 0..i only. Do not change
        ``candles``: the same object serves later requests of the same
        frame (protocol version 2). Raise an exception to refuse the
        request: its message goes to TradAI and the strategy keeps
        serving.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement populate")

    # -- declaration -------------------------------------------------------

    def wanted_columns(self) -> List[str]:
        """The candle columns the strategy receives, validated."""
        cols = ALL_COLUMNS if self.columns is None else self.columns
        if isinstance(cols, str):
            raise DeclarationError(f"columns must be a list of names, not the string {cols!r}")
        cols = list(cols)
        if not cols:
            raise DeclarationError("columns is empty (leave it out to receive all six)")
        for c in cols:
            if c not in ALL_COLUMNS:
                raise DeclarationError(f"unknown column {c!r} (known: {', '.join(ALL_COLUMNS)})")
        if len(set(cols)) != len(cols):
            raise DeclarationError(f"columns repeat: {cols}")
        return cols

    def spec(self) -> Dict[str, Any]:
        """The declaration as the protocol's ``spec`` object, after checking
        it as TradAI does. Raises DeclarationError."""
        name = self.name
        if not isinstance(name, str) or not name:
            raise DeclarationError("the strategy has no name (set the class attribute name)")
        try:
            return self._spec(name)
        except DeclarationError as e:
            raise DeclarationError(f"strategy {name}: {e}") from None

    def _spec(self, name: str) -> Dict[str, Any]:
        if not isinstance(self.description, str):
            raise DeclarationError("description must be a string")
        if self.timeframe not in TIMEFRAMES:
            raise DeclarationError(f"unknown timeframe {self.timeframe!r} (supported: {', '.join(TIMEFRAMES)})")
        startup = self.startup_candle_count
        if isinstance(startup, bool) or not isinstance(startup, int) or startup < 0:
            raise DeclarationError(f"startup_candle_count must be a whole number >= 0, got {startup!r}")
        _want_bool("can_short", self.can_short)
        params = list(self.params)
        seen = set()
        for p in params:
            if not isinstance(p, Param):
                raise DeclarationError(f"params must hold IntParam, FloatParam, BoolParam or CategoricalParam, got {p!r}")
            p.check()
            if p.name in seen:
                raise DeclarationError(f"parameter {p.name!r} declared twice")
            seen.add(p.name)
        spec: Dict[str, Any] = {"name": name}
        if self.description:
            spec["description"] = self.description
        spec["timeframe"] = self.timeframe
        spec["startup_candle_count"] = startup
        spec["can_short"] = self.can_short
        if params:
            spec["parameters"] = [p.to_json() for p in params]
        spec["risk"] = self._risk()
        return spec

    def _risk(self) -> Dict[str, Any]:
        sl = self.stoploss
        if sl is None:
            raise DeclarationError("stoploss is required (a negative ratio such as -0.10; -1 for none)")
        sl = _want_number("stoploss", sl)
        if not (-1 <= sl < 0):
            raise DeclarationError(f"stoploss {sl} must be in [-1, 0)")
        _want_bool("trailing_stop", self.trailing_stop)
        _want_bool("trailing_only_offset_is_reached", self.trailing_only_offset_is_reached)
        tsp = _want_number("trailing_stop_positive", self.trailing_stop_positive)
        tspo = _want_number("trailing_stop_positive_offset", self.trailing_stop_positive_offset)
        if not (0 <= tsp < 1):
            raise DeclarationError(f"trailing_stop_positive {tsp} must be in [0, 1)")
        if tspo < 0:
            raise DeclarationError(f"trailing_stop_positive_offset {tspo} must not be negative")
        if tsp > 0 and tspo > 0 and tspo <= tsp:
            raise DeclarationError(
                f"trailing_stop_positive_offset {tspo} must be greater than trailing_stop_positive {tsp}"
            )
        risk: Dict[str, Any] = {
            "minimal_roi": self._roi(),
            "stoploss": sl,
            "trailing_stop": self.trailing_stop,
        }
        if tsp:
            risk["trailing_stop_positive"] = tsp
        if tspo:
            risk["trailing_stop_positive_offset"] = tspo
        if self.trailing_only_offset_is_reached:
            risk["trailing_only_offset_is_reached"] = True
        return risk

    def _roi(self) -> Dict[str, float]:
        roi = self.minimal_roi
        if not isinstance(roi, abc.Mapping):
            raise DeclarationError(f'minimal_roi must be a dict of minutes to ratio such as {{"0": 0.05}}, got {roi!r}')
        steps: List[Tuple[int, float]] = []
        for k, v in roi.items():
            try:
                if isinstance(k, bool) or isinstance(k, float):
                    raise ValueError
                minutes = int(k)
            except ValueError:
                raise DeclarationError(f"minimal_roi key {k!r} is not a whole number of minutes") from None
            if minutes < 0:
                raise DeclarationError(f"minimal_roi: age {minutes} minutes is negative")
            ratio = _want_number(f"minimal_roi[{k!r}]", v)
            if ratio < -1:
                raise DeclarationError(f"minimal_roi[{k!r}]: ratio {ratio} must be >= -1")
            steps.append((minutes, ratio))
        steps.sort()
        for a, b in zip(steps, steps[1:]):
            if a[0] == b[0]:
                raise DeclarationError(f"minimal_roi: age {a[0]} minutes appears twice")
        return {str(m): r for m, r in steps}


def _want_bool(what: str, v: Any) -> None:
    if not isinstance(v, bool):
        raise DeclarationError(f"{what} must be True or False, got {v!r}")


def _want_number(what: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise DeclarationError(f"{what} must be a finite number, got {v!r}")
    return float(v)


def resolve(strategy: Strategy, values: Optional[Mapping[str, Any]] = None) -> Params:
    """The strategy's parameter values: defaults, replaced by ``values``.
    Raises ValueError for an undeclared parameter or a bad value."""
    declared = {p.name: p for p in strategy.params}
    out = Params((p.name, p.coerce(p.default)) for p in strategy.params)
    for name, v in (values or {}).items():
        p = declared.get(name)
        if p is None:
            raise ValueError(f"strategy {strategy.name} has no parameter {name!r}")
        try:
            out[name] = p.coerce(v)
        except ValueError as e:
            raise ValueError(f"strategy {strategy.name} parameter {name!r}: {e}") from None
    return out


def evaluate(
    strategy: Strategy,
    columns: Mapping[str, Sequence[Number]],
    params: Optional[Mapping[str, Any]] = None,
    pair: str = "TEST/USDT",
) -> Signals:
    """Run ``strategy.on_start`` then ``strategy.populate`` on in-memory
    columns (any of time, open, high, low, close, volume) with parameter
    overrides ``params``, as TradAI would, and return the signals. For tests
    without TradAI."""
    candles = Candles(columns, pair=pair, timeframe=strategy.timeframe)
    strategy.on_start()
    signals = Signals(len(candles))
    candles._session = ta = TA(candles)
    try:
        strategy.populate(candles, resolve(strategy, params), signals)
    finally:
        ta._open = False
        candles._session = None
    return signals


# --------------------------------------------------------------------------
# The protocol


class ProtocolError(Exception):
    """TradAI sent something this SDK cannot follow."""


def _read_header(inp: BinaryIO) -> Optional[Dict[str, Any]]:
    line = inp.readline(_MAX_HEADER + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        if len(line) > _MAX_HEADER:
            raise ProtocolError("header longer than 1 MiB")
        raise ProtocolError("input ended in the middle of a header")
    try:
        msg = json.loads(line)
    except ValueError as e:
        raise ProtocolError(f"header is not JSON: {e}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("header is not a JSON object")
    return msg


def _read_exact(inp: BinaryIO, buf: Union[bytearray, memoryview]) -> None:
    view = memoryview(buf).cast("B")
    got, want = 0, len(view)
    while got < want:
        k = inp.readinto(view[got:])
        if not k:
            raise ProtocolError(f"input ended after {got} of {want} payload bytes")
        got += k


def _skip(inp: BinaryIO, nbytes: int) -> None:
    while nbytes > 0:
        chunk = inp.read(min(nbytes, 1 << 20))
        if not chunk:
            raise ProtocolError("input ended in a payload")
        nbytes -= len(chunk)


def _write(out: BinaryIO, header: Dict[str, Any], payload: Sequence[bytes] = ()) -> None:
    out.write(json.dumps(header, separators=(",", ":"), allow_nan=False).encode() + b"\n")
    for part in payload:
        out.write(part)
    out.flush()


def _payload_size(msg: Mapping[str, Any]) -> int:
    b = msg.get("bytes", 0)
    if isinstance(b, bool) or not isinstance(b, int) or b < 0:
        raise ProtocolError(f"bad payload size {b!r}")
    return b


def _read_columns(inp: BinaryIO, msg: Mapping[str, Any], nbytes: int) -> Candles:
    """The request's candle columns, read from its payload. Raises
    ValueError (after consuming the payload) for an inconsistent request."""
    try:
        n, names = _request_columns(msg, nbytes, "payload")
    except ValueError:
        _skip(inp, nbytes)
        raise
    cols: Dict[str, array] = {}
    for name in names:
        col = array("q" if name == "time" else "d", bytes(8)) * n
        _read_exact(inp, col)
        if _BIG_ENDIAN:
            col.byteswap()
        cols[name] = col
    tf = msg.get("timeframe")
    pair = msg.get("pair")
    return Candles(cols, pair=pair if isinstance(pair, str) else "", timeframe=tf if isinstance(tf, str) else "")


def _request_columns(msg: Mapping[str, Any], nbytes: Optional[int], where: str) -> Tuple[int, List[str]]:
    """The request's candle count and column names, checked against the
    nbytes bytes of its columns (in its payload or shared memory, where;
    None when they are fetched). Raises ValueError for an inconsistent
    request."""
    n, names = msg.get("n"), msg.get("columns")
    problem = ""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        problem = f"bad candle count {n!r}"
    elif not isinstance(names, list) or any(c not in ALL_COLUMNS for c in names) or len(set(names)) != len(names):
        problem = f"bad columns {names!r}"
    elif nbytes is not None and nbytes != 8 * n * len(names):
        problem = f"{where} of {nbytes} bytes for {len(names)} columns of {n} candles"
    if problem:
        raise ValueError(f"bad populate request: {problem}")
    return n, names


class _Shm:
    """The shared memory file TradAI offers (the "shm" transport: the hello
    message's ``shm_fd``), mapped as far as TradAI has grown it. TradAI
    writes a request's columns there and reads the answer's signals from
    there; the columns are used in place."""

    def __init__(self, fd: int) -> None:
        import mmap  # only with the transport

        os.fstat(fd)  # OSError when the descriptor is not open
        self._mmap = mmap
        self.fd = fd
        self.mem: Optional[memoryview] = None
        self.size = 0

    def view(self, off: int, size: int) -> Optional[memoryview]:
        """Bytes off … off+size of the file, mapped anew when TradAI has
        grown it; None when the file is shorter."""
        if self.mem is None or off + size > self.size:
            grown = os.fstat(self.fd).st_size
            if grown > 0 and (self.mem is None or grown != self.size):
                # Arrays that view the old mapping keep it alive.
                self.mem = memoryview(self._mmap.mmap(self.fd, grown))
                self.size = grown
        if off + size > self.size:
            return None
        if self.mem is None:  # an empty region of an empty file
            return memoryview(b"")
        return self.mem[off : off + size]


    def read_into(self, off: int, buf: memoryview) -> bool:
        """Copies bytes off … off+len(buf) of the file into buf (with
        ``os.preadv``, or ``os.pread`` where there is none; the file's size
        checked first: TradAI may have grown it); False when the file is
        shorter."""
        size = len(buf)
        if off + size > os.fstat(self.fd).st_size:
            return False
        preadv = getattr(os, "preadv", None)
        got = 0
        while got < size:
            if preadv is not None:
                k = preadv(self.fd, [buf[got:]], off + got)
            else:
                part = os.pread(self.fd, size - got, off + got)
                k = len(part)
                buf[got : got + k] = part
            if not k:
                return False
            got += k
        return True


def _open_shm(hello: Mapping[str, Any]) -> Optional[_Shm]:
    """The shared memory TradAI offers in its hello message, when this
    system can use it; None to stay on the pipes."""
    fd = hello.get("shm_fd")
    if isinstance(fd, bool) or not isinstance(fd, int) or fd <= 0 or _BIG_ENDIAN:
        return None
    try:
        return _Shm(fd)
    except (ImportError, OSError):
        return None


def _shared_columns(shm: _Shm, msg: Mapping[str, Any], nbytes: int) -> Tuple[int, Candles]:
    """The request's candle columns in shared memory, and where they end.
    Raises ValueError for an inconsistent request, ProtocolError for a
    region TradAI cannot have sent."""
    region = msg.get("shm")
    off = region.get("offset") if isinstance(region, dict) else None
    size = region.get("bytes") if isinstance(region, dict) else None
    if nbytes or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (off, size)):
        raise ProtocolError(f"bad shared memory region {region!r} (with a payload of {nbytes} bytes)")
    n, names = _request_columns(msg, size, "shared memory")
    view = shm.view(off, size)
    if view is None:
        raise ProtocolError(f"shared memory region {region!r} is outside the {shm.size}-byte shared file")
    views = {name: view[8 * n * k : 8 * n * (k + 1)] for k, name in enumerate(names)}
    tf, pair = msg.get("timeframe"), msg.get("pair")
    candles = Candles._in_shared(views, n, pair if isinstance(pair, str) else "", tf if isinstance(tf, str) else "")
    return off + size, candles


def _frame_fields(msg: Mapping[str, Any], version: int, nbytes: int, kept: Dict[int, Candles]) -> Tuple[int, bool]:
    """Checks a populate request's kept-frame fields (protocol version 2),
    drops the frames it forgets, and returns its frame number (0: none)
    and whether it is about a kept frame. Raises ProtocolError for fields
    TradAI cannot have sent."""
    frame, cached, forget = msg.get("frame", 0), msg.get("cached", False), msg.get("forget", [])
    if version < 2 and (frame or cached or forget):
        raise ProtocolError(f"kept frames in protocol version {version}")
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise ProtocolError(f"bad frame number {frame!r}")
    if not isinstance(cached, bool):
        raise ProtocolError(f"bad cached flag {cached!r}")
    if not isinstance(forget, list) or any(isinstance(k, bool) or not isinstance(k, int) for k in forget):
        raise ProtocolError(f"bad forget list {forget!r}")
    for k in forget:
        kept.pop(k, None)
    if cached:
        if frame not in kept:
            raise ProtocolError(f"frame {frame} is not kept")
        if nbytes or msg.get("n") != kept[frame].n:
            raise ProtocolError(f"a request for kept frame {frame} carries columns or another candle count")
    elif frame and frame not in kept and len(kept) >= _MAX_KEPT:
        raise ProtocolError(f"more than {_MAX_KEPT} kept frames")
    return frame, cached


def _error_text(e: BaseException) -> str:
    import traceback  # only on a failure: it costs the start of every process

    text = "".join(traceback.format_exception_only(type(e), e)).strip()
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


def _pwrite_all(fd: int, data: bytearray, off: int) -> None:
    view = memoryview(data)
    while view:
        k = os.pwrite(fd, view, off)
        if k <= 0:
            raise OSError(f"writing the signals into the shared memory: wrote {k} bytes")
        view, off = view[k:], off + k


def _signals_message(
    req_id: Any, signals: Signals, shm: Optional[_Shm] = None, end: int = 0
) -> Tuple[Dict[str, Any], List[bytearray]]:
    """The answer to a request: its header and payload. With shm, the
    signal columns go into the shared file after the request's columns
    (which end at end), rounded up to 64 bytes as the Go SDK writes them,
    where TradAI keeps room for them: written with ``os.pwrite``, which
    copies them in the kernel, rather than through the mapping, where
    each fresh page costs a page fault."""
    names: List[str] = []
    cols: List[bytearray] = []
    for name in SIGNAL_COLUMNS:
        col = signals._cols.get(name)
        if col is None:  # never used: all false, left out
            continue
        if len(col) != signals.n:  # a column was resized in place
            raise ValueError(f"signal column {name} has {len(col)} values for {signals.n} candles")
        if col.count(0) == len(col):  # columns without a single signal are left out (all false)
            continue
        names.append(name)
        cols.append(col.translate(_TO_BIT))  # signals.column without a second copy
    header: Dict[str, Any] = {
        "type": "signals",
        "id": req_id,
        "n": signals.n,
        "columns": names,
        "bytes": len(cols) * signals.n,
    }
    if signals._computed:
        header["computed"] = {}
        for name in SIGNAL_COLUMNS:
            c = signals._computed.get(name)
            if c is not None:
                c._check(f"signals.{name}")
                if c._ta._id != req_id:
                    raise ValueError(f"signals.{name}: {c!r} is a result of request {c._ta._id}, not {req_id}")
                header["computed"][name] = c.ref
    if signals._tags:
        header["enter_tags"] = {str(i): t for i, t in sorted(signals._tags.items())}
    if shm is not None and cols:
        at = (end + 63) & ~63
        if shm.view(at, len(cols) * signals.n) is not None:  # the file has room
            for k, col in enumerate(cols):
                _pwrite_all(shm.fd, col, at + k * signals.n)
            header["bytes"] = 0
            header["shm"] = {"offset": at, "bytes": len(cols) * signals.n}
            return header, []
    return header, cols


def serve(strategy: Strategy, inp: BinaryIO, out: BinaryIO, log: Any = None) -> None:
    """Speak the protocol for ``strategy`` on binary streams ``inp`` and
    ``out`` until ``inp`` ends. Errors of the strategy's code are answered
    with ``error`` messages (traceback to ``log``, default stderr).
    Raises DeclarationError for a bad declaration and ProtocolError when
    TradAI's side does not follow the protocol."""
    log = log or sys.stderr
    spec = strategy.spec()
    columns = strategy.wanted_columns()
    hello = _read_header(inp)
    if hello is None:
        return
    if hello.get("type") != "hello":
        raise ProtocolError(f"expected a hello message, got type {hello.get('type')!r}")
    _skip(inp, _payload_size(hello))
    version = hello.get("protocol")
    if isinstance(version, bool) or not isinstance(version, int) or version < MIN_PROTOCOL:
        raise ProtocolError(f"TradAI speaks protocol {version!r}; this SDK needs {MIN_PROTOCOL} to {PROTOCOL}")
    version = min(version, PROTOCOL)
    shm = _open_shm(hello)
    offer = hello.get("compute", [])
    if not isinstance(offer, list) or not all(isinstance(f, str) for f in offer):
        raise ProtocolError(f"bad compute offer {offer!r} in the hello")
    if os.environ.get("TRADAI_NO_COMPUTE"):
        offer = []  # as with a TradAI that offers none: candles.ta computes here
    host = _Host(inp, out, shm, offer) if offer else None
    header: Dict[str, Any] = {"type": "spec", "protocol": version, "spec": spec}
    if strategy.columns is not None:
        header["columns"] = columns
    transports = []
    if shm is not None:
        transports.append("shm")
    if host is not None and (shm is not None or version < 2):
        # Columns on demand: TradAI sends none, the strategy fetches those
        # it reads (a strategy made of candles.ta reads none). Not on the
        # pipes of version 2: there TradAI keeps frames (each frame's
        # columns cross once per process), which it does not with this
        # transport, so the columns a strategy reads would cross with
        # every request.
        transports.append("fetch")
    if transports:
        header["transports"] = transports
    _write(out, header)
    strategy.on_start()
    kept: Dict[int, Candles] = {}  # version 2: frames by number
    while True:
        msg = _read_header(inp)
        if msg is None:
            return
        req_id = msg.get("id")
        nbytes = _payload_size(msg)
        if msg.get("type") != "populate":
            _skip(inp, nbytes)
            _write(out, {"type": "error", "id": req_id, "message": f"unknown request type {msg.get('type')!r}"})
            continue
        frame, cached = _frame_fields(msg, version, nbytes, kept)
        in_shm = msg.get("shm") is not None
        if in_shm and shm is None:
            raise ProtocolError("a request in shared memory, which was not offered")
        fetch = msg.get("fetch", False)
        if fetch is not False:
            if fetch is not True:
                raise ProtocolError(f"bad fetch flag {fetch!r}")
            if "fetch" not in transports:
                raise ProtocolError("a request whose columns are to be fetched, without the fetch transport")
            if nbytes or in_shm or frame or cached:
                raise ProtocolError("a request whose columns are to be fetched carries columns or names a kept frame")
        end = 0
        try:
            if fetch:
                n, names = _request_columns(msg, None, "")
                tf, pair = msg.get("timeframe"), msg.get("pair")
                candles = Candles._on_demand(names, n, pair if isinstance(pair, str) else "", tf if isinstance(tf, str) else "")
            elif cached:
                candles = kept[frame]
            elif in_shm:
                end, candles = _shared_columns(shm, msg, nbytes)
                if frame:
                    raise ProtocolError("a kept frame in shared memory")
            else:
                candles = _read_columns(inp, msg, nbytes)
                if frame:
                    kept[frame] = candles
            raw = msg.get("params")
            params = resolve(strategy, raw if isinstance(raw, dict) else None)
            signals = Signals(len(candles))
            if host is not None:
                host.n = candles.n
            candles._session = ta = TA(candles, host, req_id)
            if fetch:
                candles._fetch_ta = ta
            try:
                strategy.populate(candles, params, signals)
                if host is not None and host.broken is not None:
                    raise host.broken
                # With the fetch transport over shared memory, TradAI keeps
                # room for the signals at the start of the file.
                answer, payload = _signals_message(req_id, signals, shm if in_shm or fetch else None, end)
            finally:
                ta._open = False
                candles._session = None
        except ProtocolError:
            raise
        except Exception as e:  # the strategy's own failure: report it, keep serving
            if host is not None and host.broken is not None:
                raise host.broken from e
            import traceback

            print(f"tradai_strategy: {strategy.name}: request {req_id} ({msg.get('pair', '')}) failed:", file=log)
            traceback.print_exc(file=log)
            log.flush()
            _write(out, {"type": "error", "id": req_id, "message": _error_text(e)})
            continue
        _write(out, answer, payload)


def run(strategy: Strategy, argv: Optional[Sequence[str]] = None) -> None:
    """Serve ``strategy`` on standard input and output, then exit: status 0
    when TradAI closes standard input, 2 for a bad declaration, 1 on a
    protocol failure. ``--spec`` prints the declaration and exits.

    While serving, ``print`` and anything else written to standard output
    goes to standard error, so it cannot corrupt the protocol.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "strategy"
    try:
        spec = strategy.spec()
        columns = strategy.wanted_columns()
    except DeclarationError as e:
        print(f"{prog}: invalid strategy declaration: {e}", file=sys.stderr)
        sys.exit(2)
    if args == ["--spec"]:
        print(json.dumps({"columns": columns, "spec": spec}, indent=2))
        sys.exit(0)
    if args:
        print(f"usage: {prog} [--spec]\n"
              "Speaks the TradAI strategy protocol on standard input and output; "
              "--spec prints the declaration.", file=sys.stderr)
        sys.exit(2)
    if sys.stdin.isatty():
        print(f"{prog}: strategy {strategy.name} speaks the TradAI strategy protocol on standard input "
              "and output; run it through tradai, or with --spec to see its declaration", file=sys.stderr)
    inp = sys.stdin.buffer
    out = _protocol_stdout()
    try:
        serve(strategy, inp, out)
    except ProtocolError as e:
        print(f"{prog}: protocol error: {e}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)
    _exit_served()


def _exit_served() -> None:
    """Exit with status 0 once TradAI has closed the input, without tearing
    the interpreter down: TradAI waits for the exit, and freeing every
    module and object (numpy's thousands) takes tens of milliseconds. As a
    normal exit does, the functions registered with :mod:`atexit` run
    (logging's flush, say) and the standard streams are flushed; objects
    are not finalised one by one. Where the interpreter has no way to run
    the atexit functions first, it exits normally."""
    import atexit

    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if run_exitfuncs is None:
        # Nothing allocated so far needs collecting: the exit's collections
        # skip what is frozen.
        gc.freeze()
        sys.exit(0)
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def _protocol_stdout() -> BinaryIO:
    """Take file descriptor 1 for the protocol and point standard output
    (Python's and the descriptor, for C code) at standard error."""
    sys.stdout.flush()
    try:
        fd = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        out = sys.stdout.buffer
    else:
        out = os.fdopen(fd, "wb")
    sys.stdout = sys.stderr
    return out


# --------------------------------------------------------------------------
# Indicators: pure Python, bit for bit the Go sdk/ta definitions.


def _floats(src: Iterable[Number]) -> List[float]:
    """src as a list of floats (lists are the fastest to index in Python)."""
    if isinstance(src, list):
        return src
    if isinstance(src, array) and src.typecode == "d":
        return src.tolist()
    if getattr(src, "dtype", None) is not None and getattr(src.dtype, "kind", "") == "f":
        return src.tolist()  # numpy / pandas floats
    return [float(v) for v in src]


def _check_period(fn: str, arg: str, p: int) -> None:
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ValueError(f"{fn}: {arg} must be an integer >= 1, got {p!r}")


def _first_valid(x: List[float]) -> int:
    for i, v in enumerate(x):
        if v == v:
            return i
    return len(x)


def _sma_into(out: List[float], x: List[float], p: int) -> None:
    """Write SMA(x, p) into out (already NaN): a compensated rolling sum, as
    sdk/ta smaCore, starting at the first number of x."""
    s = _first_valid(x)
    n = len(x)
    if n - s < p:
        return
    fp = float(p)
    hi = lo = 0.0
    for v in x[s : s + p]:
        t = hi + v
        z = t - hi
        lo += (hi - (t - z)) + (v - z)
        hi = t
    out[s + p - 1] = (hi + lo) / fp
    for i in range(s + p, n):
        a = x[i]
        b = -x[i - p]
        d = a + b
        z = d - a
        e = (a - (d - z)) + (b - z)
        t = hi + d
        z = t - hi
        lo += (hi - (t - z)) + (d - z)
        hi = t
        lo += e
        out[i] = (hi + lo) / fp


def sma(src: Iterable[Number], period: int) -> List[float]:
    """Simple moving average over ``period`` values; NaN at 0..period-2
    (after any leading NaNs of src). As Go ta.SMA."""
    _check_period("sma", "period", period)
    x = _floats(src)
    out = [_NAN] * len(x)
    _sma_into(out, x, min(period, len(x) + 1))
    return out


#: Candles per block of :func:`sma_np`: its buffers stay in the CPU's cache.
_SMA_BLOCK = 16384


def sma_np(src: Any, period: int) -> Any:
    """:func:`sma` as a float64 numpy array: the same values bit for bit,
    computed block by block with numpy instead of a Python loop over the
    candles. ``src`` is any sequence of numbers (a float64 numpy array is
    not copied). Needs numpy.

    The Go rolling sum is sequential, but each of its two running sums (a
    high and a low part) is a sequence of plain float additions, which
    ``numpy.cumsum`` performs in the same order: the high part adds the
    first ``period`` values, then each change ``x[i] - x[i-period]``; the
    low part adds the rounding error of each of those additions (found
    element-wise from consecutive high parts) and, after each change, the
    rounding error of the change itself."""
    numpy = _need_numpy("sma_np")
    _check_period("sma_np", "period", period)
    x = numpy.asarray(src, dtype=numpy.float64)
    if x.ndim != 1:
        raise ValueError(f"sma_np: want a 1-dimensional series, got shape {x.shape}")
    n = len(x)
    p = min(period, n + 1)
    s = 0
    if n and x[0] != x[0]:  # leading NaNs: start at the first number
        valid = numpy.flatnonzero(x == x)
        s = int(valid[0]) if len(valid) else n
    y = x[s:]
    m = n - s
    if m < p:
        return numpy.full(n, _NAN)
    # NaN in the warm-up; every later value is written below.
    out = numpy.empty(n)
    out[: s + p - 1] = _NAN
    fp = float(p)
    sub, add, cumsum = numpy.subtract, numpy.add, numpy.cumsum

    def errors(h: Any, terms: Any, err: Any, tmp: Any) -> None:
        # err[k] = the rounding error of h[k] + terms[k] = h[k+1] (TwoSum).
        cur, prev = h[1:], h[:-1]
        sub(cur, prev, out=tmp)  # z
        sub(terms, tmp, out=err)  # x - z
        sub(cur, tmp, out=tmp)  # t - z
        sub(prev, tmp, out=tmp)  # hi - (t - z)
        add(tmp, err, out=err)

    # The first window: p additions to a zero sum.
    h = numpy.empty(p + 1)
    h[0] = 0.0
    cumsum(y[:p], out=h[1:])
    lo = numpy.empty(p + 1)
    lo[0] = 0.0
    errors(h, y[:p], lo[1:], numpy.empty(p))
    cumsum(lo, out=lo)
    hi_part, lo_part = h[p], lo[p]
    out[s + p - 1] = (hi_part + lo_part) / fp

    # Then block by block: terms[0] carries the high part in, terms[1:] are
    # the changes; lows[0] carries the low part in, then the errors of each
    # addition and of each change, interleaved. The change of a price
    # series is nearly always exact (no error): adding a zero leaves the
    # low part as it is (it is never -0, being a sum that starts at +0),
    # so a block whose changes are all exact sums the additions' errors
    # alone, half as many.
    size = max(min(_SMA_BLOCK, m - p), 1)
    terms, h = numpy.empty(size + 1), numpy.empty(size + 1)
    lows, tmp, z = numpy.empty(2 * size + 1), numpy.empty(size), numpy.empty(size)
    for a in range(p, m, size):
        c = min(size, m - a)
        incoming, outgoing = y[a : a + c], y[a - p : a - p + c]
        t, hc, tm, zc = terms[: c + 1], h[: c + 1], tmp[:c], z[:c]
        d = t[1:]
        t[0] = hi_part
        sub(incoming, outgoing, out=d)  # in + out, out = -x[i-p]
        cumsum(t, out=hc)
        # The changes of values within a factor of 2 of each other are
        # exact (Sterbenz): the window's smallest and largest value say so
        # for the whole block, as they nearly always do for prices.
        window = y[a - p : a + c]
        least = window.min()
        if least > 0 and window.max() <= 2 * least:
            inexact = False
        else:
            # The error of the change: (in - (d - z)) + (out - z), z = d - in,
            # with out - z written -(x[i-p] + z) (rounding is symmetric).
            sub(d, incoming, out=zc)
            sub(d, zc, out=tm)
            sub(incoming, tm, out=tm)
            add(outgoing, zc, out=zc)
            sub(tm, zc, out=zc)  # zc: the errors of the changes
            inexact = bool(zc.any())
        if inexact:
            lc = lows[: 2 * c + 1]
            lc[2::2] = zc
            step = 2
        else:
            lc = lows[: c + 1]
            step = 1
        lc[0] = lo_part
        errors(hc, d, lc[1::step], tm)
        cumsum(lc, out=lc)
        body = out[s + a : s + a + c]
        add(hc[1:], lc[step::step], out=body)
        body /= fp
        hi_part, lo_part = hc[c], lc[-1]
    return out


def _ema_core(out: List[float], x: List[float], start: int, p: int) -> None:
    # TA-Lib's EMA of x[start:], seeded with the SMA of its first p values.
    n = len(x)
    if n - start < p:
        return
    k = 2 / float(p + 1)
    total = 0.0
    for i in range(start, start + p):
        total += x[i]
    prev = total / float(p)
    out[start + p - 1] = prev
    for i in range(start + p, n):
        prev = (x[i] - prev) * k + prev
        out[i] = prev


def ema(src: Iterable[Number], period: int) -> List[float]:
    """Exponential moving average with smoothing 2/(period+1), seeded with
    the SMA of the first period values; NaN at 0..period-2. As Go ta.EMA."""
    _check_period("ema", "period", period)
    x = _floats(src)
    out = [_NAN] * len(x)
    _ema_core(out, x, _first_valid(x), min(period, len(x) + 1))
    return out


def rsi(src: Iterable[Number], period: int = 14) -> List[float]:
    """Relative strength index with Wilder smoothing, seeded with the mean
    gain and loss of the first period changes; 50 when nothing moved; NaN at
    0..period-1. As Go ta.RSI (and TA-Lib)."""
    _check_period("rsi", "period", period)
    x = _floats(src)
    n = len(x)
    out = [_NAN] * n
    p = min(period, n + 1)
    s = _first_valid(x)
    if n - s <= p:
        return out
    fp = float(p)
    fp1 = fp - 1
    gain = loss = 0.0
    for i in range(s + 1, s + p + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= fp
    loss /= fp
    t = gain + loss
    out[s + p] = 50.0 if t == 0 else 100 * (gain / t)
    for i in range(s + p + 1, n):
        d = x[i] - x[i - 1]
        loss *= fp1
        gain *= fp1
        if d < 0:
            loss -= d
        else:
            gain += d
        loss /= fp
        gain /= fp
        t = gain + loss
        out[i] = 50.0 if t == 0 else 100 * (gain / t)
    return out


def _stdev_into(out: List[float], x: List[float], p: int) -> None:
    s = _first_valid(x)
    n = len(x)
    if n - s < p:
        return
    fp = float(p)
    mean = m2 = 0.0
    # changes counts the moves inside the window: 0 means it is flat and the
    # deviation is exactly 0.
    changes = 0
    for j in range(s + 1, s + p):
        if x[j] != x[j - 1]:
            changes += 1
    left = 0
    sqrt = math.sqrt
    for i in range(s + p - 1, n):
        if i >= s + p:
            if x[i] != x[i - 1]:
                changes += 1
            if x[i - p + 1] != x[i - p]:
                changes -= 1
        if left == 0:
            # Recompute from scratch every p steps so the running sums cannot drift.
            total = 0.0
            for v in x[i - p + 1 : i + 1]:
                total += v
            mean = total / fp
            m2 = 0.0
            for v in x[i - p + 1 : i + 1]:
                d = v - mean
                m2 += d * d
            left = p
        else:
            a, b = x[i], x[i - p]
            old = mean
            mean += (a - b) / fp
            m2 += (a - b) * (a - mean + b - old)
        left -= 1
        if changes == 0 or m2 <= 0:
            out[i] = 0.0
        else:
            out[i] = sqrt(m2 / fp)


def stdev(src: Iterable[Number], period: int) -> List[float]:
    """Population standard deviation over ``period`` values; NaN at
    0..period-2. As Go ta.StdDev."""
    _check_period("stdev", "period", period)
    x = _floats(src)
    out = [_NAN] * len(x)
    _stdev_into(out, x, min(period, len(x) + 1))
    return out


def bollinger(src: Iterable[Number], period: int = 20, k: float = 2.0) -> Tuple[List[float], List[float], List[float]]:
    """Bollinger bands ``(upper, middle, lower)``: middle = SMA(period),
    upper/lower = middle ± k·stdev; NaN at 0..period-2. As Go
    ta.BollingerBands."""
    _check_period("bollinger", "period", period)
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not (0 <= k < math.inf):
        raise ValueError(f"bollinger: k must be a finite number >= 0, got {k!r}")
    k = float(k)
    x = _floats(src)
    n = len(x)
    p = min(period, n + 1)
    middle = [_NAN] * n
    sd = [_NAN] * n
    _sma_into(middle, x, p)
    _stdev_into(sd, x, p)
    upper = [m + v * k for m, v in zip(middle, sd)]
    lower = [m - v * k for m, v in zip(middle, sd)]
    return upper, middle, lower


def macd(
    src: Iterable[Number], fast: int = 12, slow: int = 26, signal: int = 9
) -> Tuple[List[float], List[float], List[float]]:
    """MACD ``(macd, signal_line, hist)`` as TA-Lib and Go ta.MACD: both EMAs
    seeded at candle slow-1; NaN at 0..slow-2 for macd and at
    0..slow+signal-3 for the signal line and histogram."""
    _check_period("macd", "fast", fast)
    _check_period("macd", "slow", slow)
    _check_period("macd", "signal", signal)
    if fast > slow:
        raise ValueError(f"macd: fast ({fast}) must be <= slow ({slow})")
    x = _floats(src)
    n = len(x)
    fast, slow, signal = min(fast, n + 1), min(slow, n + 1), min(signal, n + 1)
    line = [_NAN] * n
    sig = [_NAN] * n
    hist = [_NAN] * n
    s = _first_valid(x)
    if n - s >= slow:
        slow_ema = [_NAN] * n
        fast_ema = [_NAN] * n
        _ema_core(slow_ema, x, s, slow)
        _ema_core(fast_ema, x, s + slow - fast, fast)
        for i in range(s + slow - 1, n):
            line[i] = fast_ema[i] - slow_ema[i]
        _ema_core(sig, line, s + slow - 1, signal)
        for i in range(s + slow + signal - 2, n):
            hist[i] = line[i] - sig[i]
    return line, sig, hist


def crossed_above(a: Sequence[float], b: Sequence[float], i: Optional[int] = None) -> Any:
    """Whether ``a`` crossed above ``b`` at candle ``i``:
    ``a[i-1] <= b[i-1] and a[i] > b[i]`` (False for i < 1 or any NaN), as Go
    ta.CrossedAbove. Without ``i``, a list of that for every candle."""
    if len(a) != len(b):
        raise ValueError(f"crossed_above: len(a) = {len(a)} does not match len(b) = {len(b)}")
    if i is not None:
        return i >= 1 and a[i - 1] <= b[i - 1] and a[i] > b[i]
    x, y = _floats(a), _floats(b)
    if not x:
        return []
    return [False] + [p <= q and c > d for p, q, c, d in zip(x, y, x[1:], y[1:])]


def crossed_below(a: Sequence[float], b: Sequence[float], i: Optional[int] = None) -> Any:
    """Whether ``a`` crossed below ``b`` at candle ``i``:
    ``a[i-1] >= b[i-1] and a[i] < b[i]`` (False for i < 1 or any NaN), as Go
    ta.CrossedBelow. Without ``i``, a list of that for every candle."""
    if len(a) != len(b):
        raise ValueError(f"crossed_below: len(a) = {len(a)} does not match len(b) = {len(b)}")
    if i is not None:
        return i >= 1 and a[i - 1] >= b[i - 1] and a[i] < b[i]
    x, y = _floats(a), _floats(b)
    if not x:
        return []
    return [False] + [p >= q and c < d for p, q, c, d in zip(x, y, x[1:], y[1:])]
