package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Stages whose time the report shows, in pipeline order.
const (
	stageList = iota
	stageHealth
	stageRead
	stageCheck
	stageFlatten
	stageValidate
	stageInfer
	stageStage
	stageLoad
	stageCheckpoint
	numStages
)

var stageNames = [numStages]string{"list", "health", "read", "check", "flatten", "validate", "infer", "stage", "load", "checkpoint"}

// stats counts what the job did. Counters are atomic so the progress
// display can read them while the pipeline runs; the reject reasons and
// table changes are guarded by mu.
type stats struct {
	objects, objectsSkipped, objectsDone atomic.Int64
	recordsRead, recordsLoaded           atomic.Int64
	alreadyLoaded                        atomic.Int64 // records of staged files COPY skipped as loaded before
	childRows                            atomic.Int64 // -arrays tables: rows loaded into child tables
	recordsRejected, recordsSkipped      atomic.Int64
	bytesIn, bytesStaged                 atomic.Int64
	filesStaged, chunks                  atomic.Int64
	rawDone                              atomic.Int64            // listed bytes of the objects done
	stage                                [numStages]atomic.Int64 // nanoseconds

	mu       sync.Mutex
	reasons  map[string]int64
	changes  []string
	bytesAll int64 // size of the shard's objects as listed (for the ETA)
}

func newStats() *stats { return &stats{reasons: map[string]int64{}} }

func (s *stats) addStage(i int, d time.Duration) { s.stage[i].Add(int64(d)) }

func (s *stats) reject(reason string) {
	s.recordsRejected.Add(1)
	s.mu.Lock()
	s.reasons[reason]++
	s.mu.Unlock()
}

func (s *stats) tableChanges(sql ...string) {
	s.mu.Lock()
	s.changes = append(s.changes, sql...)
	s.mu.Unlock()
}

// summary is the final report, also written as JSON with -log-format json.
type summary struct {
	Status          string           `json:"status"`
	ExitCode        int              `json:"exit_code"`
	Error           string           `json:"error,omitempty"`
	Table           string           `json:"table"`
	Destination     string           `json:"destination"`
	Shard           string           `json:"shard"`
	Objects         int64            `json:"objects"`
	ObjectsSkipped  int64            `json:"objects_skipped"`
	RecordsRead     int64            `json:"records_read"`
	RecordsLoaded   int64            `json:"records_loaded"`
	AlreadyLoaded   int64            `json:"records_already_loaded"`
	RecordsRejected int64            `json:"records_rejected"`
	RecordsSkipped  int64            `json:"records_skipped_by_checkpoint"`
	ChildRows       int64            `json:"child_table_rows_loaded,omitempty"`
	Rejected        map[string]int64 `json:"rejected_by_reason,omitempty"`
	BytesIn         int64            `json:"bytes_in"`
	BytesStaged     int64            `json:"bytes_staged"`
	FilesStaged     int64            `json:"files_staged"`
	Chunks          int64            `json:"chunks"`
	TableChanges    []string         `json:"table_changes,omitempty"`
	Elapsed         time.Duration    `json:"elapsed_ns"`
	Stages          map[string]int64 `json:"stage_ns"`
	RecordsPerSec   float64          `json:"records_per_second"`
	MBPerSec        float64          `json:"input_mb_per_second"`
	PeakRSS         int64            `json:"peak_rss_bytes,omitempty"`
	Sample          [][]string       `json:"sample_rows,omitempty"`
	SampleColumns   []string         `json:"sample_columns,omitempty"`
	TableRows       int64            `json:"table_rows"`
}

func (s *stats) summary(elapsed time.Duration) summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm := summary{
		Objects:         s.objects.Load(),
		ObjectsSkipped:  s.objectsSkipped.Load(),
		RecordsRead:     s.recordsRead.Load(),
		RecordsLoaded:   s.recordsLoaded.Load(),
		AlreadyLoaded:   s.alreadyLoaded.Load(),
		RecordsRejected: s.recordsRejected.Load(),
		RecordsSkipped:  s.recordsSkipped.Load(),
		ChildRows:       s.childRows.Load(),
		Rejected:        maps.Clone(s.reasons),
		BytesIn:         s.bytesIn.Load(),
		BytesStaged:     s.bytesStaged.Load(),
		FilesStaged:     s.filesStaged.Load(),
		Chunks:          s.chunks.Load(),
		TableChanges:    slices.Clone(s.changes),
		Elapsed:         elapsed,
		Stages:          map[string]int64{},
		PeakRSS:         peakRSS(),
	}
	for i := range s.stage {
		sm.Stages[stageNames[i]] = s.stage[i].Load()
	}
	if sec := elapsed.Seconds(); sec > 0 {
		sm.RecordsPerSec = float64(sm.RecordsRead) / sec
		sm.MBPerSec = float64(sm.BytesIn) / 1e6 / sec
	}
	return sm
}

// writeText writes the report for a person.
func (sm *summary) writeText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "batch report\t%s (exit %d)\n", sm.Status, sm.ExitCode)
	if sm.Error != "" {
		fmt.Fprintf(tw, "  error\t%s\n", sm.Error)
	}
	fmt.Fprintf(tw, "  destination\t%s, table %s, shard %s\n", sm.Destination, sm.Table, sm.Shard)
	fmt.Fprintf(tw, "  objects\t%d (%d already done by an earlier run)\n", sm.Objects, sm.ObjectsSkipped)
	fmt.Fprintf(tw, "  records read\t%d\n", sm.RecordsRead)
	fmt.Fprintf(tw, "  records loaded\t%d\n", sm.RecordsLoaded)
	if sm.AlreadyLoaded > 0 {
		fmt.Fprintf(tw, "  already loaded\t%d record(s) in staged files COPY skipped as loaded before (not loaded again)\n", sm.AlreadyLoaded)
	}
	if sm.ChildRows > 0 {
		fmt.Fprintf(tw, "  child table rows\t%d\n", sm.ChildRows)
	}
	fmt.Fprintf(tw, "  records rejected\t%d\n", sm.RecordsRejected)
	for _, r := range slices.Sorted(maps.Keys(sm.Rejected)) {
		fmt.Fprintf(tw, "    %s\t%d\n", r, sm.Rejected[r])
	}
	if sm.RecordsSkipped > 0 {
		fmt.Fprintf(tw, "  records skipped\t%d (loaded by an earlier run)\n", sm.RecordsSkipped)
	}
	fmt.Fprintf(tw, "  bytes in / staged\t%s / %s in %d file(s), %d chunk(s)\n", humanBytes(sm.BytesIn), humanBytes(sm.BytesStaged), sm.FilesStaged, sm.Chunks)
	fmt.Fprintf(tw, "  time\t%s: %.0f records/s, %.2f MB/s\n", sm.Elapsed.Round(time.Millisecond), sm.RecordsPerSec, sm.MBPerSec)
	for i, name := range stageNames {
		_ = i
		if d := time.Duration(sm.Stages[name]); d > 0 {
			fmt.Fprintf(tw, "    %s\t%s\n", name, d.Round(time.Microsecond))
		}
	}
	if sm.PeakRSS > 0 {
		fmt.Fprintf(tw, "  peak RSS\t%s\n", humanBytes(sm.PeakRSS))
	}
	if len(sm.TableChanges) > 0 {
		fmt.Fprintf(tw, "  table changes\t%d\n", len(sm.TableChanges))
		for _, c := range sm.TableChanges {
			fmt.Fprintf(tw, "    \t%s\n", c)
		}
	}
	tw.Flush()
	if sm.TableRows >= 0 && sm.Destination != "" && !strings.HasPrefix(sm.Destination, "dry run") {
		fmt.Fprintf(w, "table %s holds %d row(s)\n", sm.Table, sm.TableRows)
	}
	if len(sm.Sample) > 0 {
		dropNullColumns(sm)
		fmt.Fprintf(w, "first %d row(s) of %s (columns NULL in all of them left out):\n", len(sm.Sample), sm.Table)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for i, c := range sm.SampleColumns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
		for _, row := range sm.Sample {
			for i, v := range row {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, truncate(v, 40))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}

// dropNullColumns removes the sample's columns that are NULL in every row.
func dropNullColumns(sm *summary) {
	var keep []int
	for i := range sm.SampleColumns {
		for _, r := range sm.Sample {
			if i < len(r) && r[i] != "NULL" {
				keep = append(keep, i)
				break
			}
		}
	}
	cols := make([]string, len(keep))
	for k, i := range keep {
		cols[k] = sm.SampleColumns[i]
	}
	for j, r := range sm.Sample {
		row := make([]string, len(keep))
		for k, i := range keep {
			row[k] = r[i]
		}
		sm.Sample[j] = row
	}
	sm.SampleColumns = cols
}

func truncate(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
