package clock

// DayMs is one UTC day in Unix milliseconds.
const DayMs int64 = 86_400_000

// Day is the number of the UTC day that holds the Unix-millisecond time
// ms: days since 1970-01-01, negative before it (rounded towards minus
// infinity, so the last millisecond of 1969 is day -1). Day(ms)·DayMs is
// the day's midnight.
func Day(ms int64) int64 {
	d := ms / DayMs
	if ms%DayMs < 0 {
		d--
	}
	return d
}
