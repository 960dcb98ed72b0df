package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// showProgress displays the job's progress until ctx ends: a bar on a
// terminal (objects, records, bytes, rate, ETA by bytes), plain periodic log
// lines otherwise. It returns a function that stops the display and waits.
func showProgress(ctx context.Context, mode string, stderr io.Writer, log *slog.Logger, s *stats, every time.Duration) (stop func()) {
	if mode == "auto" {
		mode = "log"
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	if mode == "none" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		var bar *progressbar.ProgressBar
		if mode == "bar" {
			s.mu.Lock()
			total := s.bytesAll
			s.mu.Unlock()
			if total <= 0 {
				total = -1
			}
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(24),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionClearOnFinish())
			every = 200 * time.Millisecond
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if bar != nil {
					_ = bar.Finish()
				}
				return
			case <-tick.C:
			}
			read, rej := s.recordsRead.Load(), s.recordsRejected.Load()
			el := time.Since(start).Seconds()
			if bar != nil {
				bar.Describe(fmt.Sprintf("objects %d/%d  records %d (%d rejected)  %.0f rec/s",
					s.objectsDone.Load(), s.objects.Load(), read, rej, float64(read)/el))
				_ = bar.Set64(s.bytesRaw())
				continue
			}
			log.Info("progress", "objects_done", s.objectsDone.Load(), "objects", s.objects.Load(),
				"records_read", read, "records_loaded", s.recordsLoaded.Load(), "records_rejected", rej,
				"bytes_in", s.bytesIn.Load(), "records_per_second", int64(float64(read)/el))
		}
	}()
	return func() { cancel(); <-done }
}

// bytesRaw estimates how many of the listed (possibly compressed) bytes are
// done: whole objects done, for the bar's ETA.
func (s *stats) bytesRaw() int64 { return s.rawDone.Load() }

// peakRSS returns the process's peak resident set size in bytes (Linux and
// macOS report ru_maxrss in KiB and bytes respectively).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return rssUnit * int64(ru.Maxrss)
}
