//go:build linux

package flatpipe_test

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPUTime returns the CPU time consumed by the whole process (every
// thread, so the runtime's GC workers too), or 0 if it cannot be read. Unlike
// wall time it does not count time the process spends descheduled, which
// makes it the steadier figure on a shared machine.
func processCPUTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
