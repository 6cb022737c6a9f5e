// Package clock owns time: reading it and waiting on it. Every package of
// ours that asks what time it is, sleeps, or runs a timer or ticker does so
// through a [Clock] given to its constructor (nil means [Real]), so a test
// can move time by hand and a replay of history can let the data move it.
//
// Three clocks implement it:
//
//   - [Real], the system clock (time.Now, time.NewTimer, time.NewTicker);
//   - [Fake], for tests: it stands still until [Fake.Advance] or [Fake.Set]
//     moves it, firing due timers, tickers and sleeps in time order, and
//     [Fake.BlockUntil] lets a test wait until code under test is waiting on
//     the clock, so tests never sleep;
//   - [Replay], driven by data: a runner replaying history calls
//     [Replay.AdvanceTo] with each candle's time; it only goes forwards.
//
// Fake and Replay share one scheduler (a heap of waiters); Replay is that
// scheduler with a monotonic AdvanceTo instead of Advance and Set.
//
// [Day] is the UTC day of a Unix-millisecond time, the one day count of the
// candles, trades and risk limits (a day is [DayMs]).
//
// Network deadlines (net.Conn.SetReadDeadline) and OS process timeouts are
// measured by the operating system against the real time, so code setting
// them reads the system clock directly; see the callers' comments.
package clock
