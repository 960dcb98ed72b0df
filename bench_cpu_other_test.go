//go:build !linux

package flatpipe_test

import "time"

// processCPUTime returns 0: process CPU time is read only on Linux, and
// BenchmarkFlatten then reports no cpuMB/s.
func processCPUTime() time.Duration { return 0 }
