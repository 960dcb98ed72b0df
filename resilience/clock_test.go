package resilience

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestSystemClockSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c SystemClock
		start := c.Now()
		if err := c.Sleep(t.Context(), 3*time.Second); err != nil || time.Since(start) != 3*time.Second {
			t.Errorf("Sleep(3s) = %v after %v", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start = c.Now()
		if err := c.Sleep(ctx, time.Hour); err != context.DeadlineExceeded || time.Since(start) != time.Second {
			t.Errorf("Sleep(1h) under a 1s deadline = %v after %v", err, time.Since(start))
		}
		if err := c.Sleep(ctx, 0); err != context.DeadlineExceeded {
			t.Errorf("Sleep(0) with a done context = %v", err)
		}
		if err := c.Sleep(t.Context(), -time.Second); err != nil {
			t.Errorf("Sleep(-1s) = %v", err)
		}
	})
}
