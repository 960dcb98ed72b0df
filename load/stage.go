package load

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/flatpipe/flatpipe/internal/enumtext"
	"github.com/flatpipe/flatpipe/load/stagefile"
)

// StageKind says which kind of stage files go through. Its text form
// (String, MarshalText, UnmarshalText) is "table", "named" or "external".
type StageKind uint8

const (
	// TableStage is the target table's own stage (@%TABLE): nothing to
	// create, files PUT by the driver. The default.
	TableStage StageKind = iota
	// NamedStage is an internal named stage (@NAME), created when
	// Stage.Create is set.
	NamedStage
	// ExternalStage is an external stage over S3 (@NAME with a URL):
	// files are uploaded with the AWS SDK (Stage.S3), not PUT.
	ExternalStage
)

var stageKindText = enumtext.Enum[StageKind]{Type: "StageKind", Err: ErrOptions, Names: []string{
	TableStage: "table", NamedStage: "named", ExternalStage: "external"}}

// String returns "table", "named" or "external".
func (k StageKind) String() string { return stageKindText.String(k) }

// MarshalText implements encoding.TextMarshaler.
func (k StageKind) MarshalText() ([]byte, error) { return stageKindText.Marshal(k) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *StageKind) UnmarshalText(b []byte) error { return stageKindText.Unmarshal(b, k) }

// Stage configures where files are staged before COPY. The zero value is the
// table stage.
type Stage struct {
	Kind StageKind
	// Name is the named or external stage's name; an unquoted name is
	// normalised like a table name.
	Name string
	// Path is a folder inside the stage ("batch/2026-12-03"); files are
	// staged under it. Empty means the stage's root.
	Path string
	// Create creates a named stage (CREATE STAGE IF NOT EXISTS) before
	// the first PUT; Temporary makes it a temporary stage, dropped with
	// the session. A temporary stage exists in one session only, so a
	// Loader on a *sql.DB runs a Load with one connection of the pool,
	// uploading one file at a time.
	Create, Temporary bool
	// S3 uploads the files of an external stage, whose URL must be
	// s3://<S3.Bucket>/<S3.Prefix>: a file goes to S3.Key(Path, file) and
	// COPY reads @Name/Path. Nil means the files are already there
	// (uploaded by an S3Sink, for example) under Path.
	S3 *S3Sink
}

func (s Stage) check() error {
	switch s.Kind {
	case TableStage:
		if s.Name != "" || s.Create || s.Temporary || s.S3 != nil {
			return errors.New("the table stage takes no Name, Create, Temporary or S3")
		}
	case NamedStage:
		if s.Name == "" {
			return errors.New("a named stage needs a Name")
		}
		if s.S3 != nil {
			return errors.New("a named internal stage takes no S3 uploader")
		}
	case ExternalStage:
		if s.Name == "" {
			return errors.New("an external stage needs the Name of a stage created with its URL")
		}
		if s.Create || s.Temporary {
			return errors.New("an external stage is created by its owner (URL and credentials or storage integration), not by the Loader")
		}
	default:
		return fmt.Errorf("unknown stage kind %d", s.Kind)
	}
	if strings.ContainsAny(s.Path, "'\\*?[\x00") || strings.Contains(s.Path, "..") {
		return fmt.Errorf("stage path %q has a character a stage path cannot hold", s.Path)
	}
	return nil
}

// stageRef returns the @reference of the stage for table (the table COPY
// loads into, whose stage is the table stage), with the path.
func (l *Loader) stageRef(table string) (string, error) {
	var ref string
	switch l.o.Stage.Kind {
	case TableStage:
		q := ""
		for _, p := range l.qual.Qualifier {
			q += quote(p) + "."
		}
		ref = "@" + q + "%" + quote(table)
	default:
		name, err := TableName(l.o.Stage.Name)
		if err != nil {
			return "", fmt.Errorf("load: stage name: %w", err)
		}
		ref = "@" + l.qualified(name)
	}
	if p := strings.Trim(l.o.Stage.Path, "/"); p != "" {
		ref += "/" + p
	}
	return ref, nil
}

// createStage creates the named stage if asked.
func (l *Loader) createStage(ctx context.Context) error {
	if l.o.Stage.Kind != NamedStage || !l.o.Stage.Create {
		return nil
	}
	name, err := TableName(l.o.Stage.Name)
	if err != nil {
		return fmt.Errorf("load: stage name: %w", err)
	}
	kind := "STAGE"
	if l.o.Stage.Temporary {
		kind = "TEMPORARY STAGE"
	}
	return l.execScript(ctx, "CREATE "+kind+" IF NOT EXISTS "+l.qualified(name))
}

// upload stages files for a COPY into table: PUT of each local file
// (bounded parallelism), or an S3 upload for an external stage.
func (l *Loader) upload(ctx context.Context, table string, files []stagefile.File) error {
	if l.o.Stage.Kind == ExternalStage {
		if l.o.Stage.S3 == nil {
			return nil
		}
		return l.parallel(ctx, files, func(ctx context.Context, f stagefile.File) error {
			start := time.Now()
			err := l.do(ctx, func(ctx context.Context) error {
				_, err := l.o.Stage.S3.Put(ctx, strings.Trim(l.o.Stage.Path, "/"), f)
				return err
			})
			if err == nil {
				l.event(Event{Step: StepUpload, File: f.Name, Bytes: f.Size, Duration: time.Since(start)})
			}
			return err
		})
	}
	if err := l.createStage(ctx); err != nil {
		return err
	}
	ref, err := l.stageRef(table)
	if err != nil {
		return err
	}
	return l.parallel(ctx, files, func(ctx context.Context, f stagefile.File) error {
		start := time.Now()
		err := l.do(ctx, func(ctx context.Context) error { return l.put(ctx, ref, f) })
		if err == nil {
			l.event(Event{Step: StepUpload, File: f.Name, Bytes: f.Size, Duration: time.Since(start)})
		}
		return err
	})
}

// parallel runs fn for each file, at most LoaderOptions.Parallel at once; the
// first error cancels the others and is returned.
func (l *Loader) parallel(ctx context.Context, files []stagefile.File, fn func(context.Context, stagefile.File) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := l.o.Parallel
	if pinned(ctx) != nil {
		n = 1 // one session, one statement at a time
	}
	sem := make(chan struct{}, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, f := range files {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, f); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return fmt.Errorf("load: upload: %w", context.Cause(ctx))
	}
	return firstErr
}

// sourceCompression is PUT's SOURCE_COMPRESSION for f.
func sourceCompression(f stagefile.File) string {
	if f.Format == stagefile.Parquet {
		return "NONE"
	}
	switch f.Compression {
	case stagefile.Zstd:
		return "ZSTD"
	case stagefile.Uncompressed:
		return "NONE"
	}
	return "GZIP"
}

// put uploads one local file with PUT (a regular file: the driver's stream
// PUT is avoided) and checks the driver's per-file result.
func (l *Loader) put(ctx context.Context, ref string, f stagefile.File) error {
	abs, err := filepath.Abs(f.Path)
	if err != nil {
		return fmt.Errorf("%w: PUT %s: %w", ErrStatement, f.Name, err)
	}
	if filepath.Base(abs) != f.Name {
		return fmt.Errorf("%w: file %s: its path %s must end with its name (PUT stages a file under its base name)", ErrOptions, f.Name, f.Path)
	}
	overwrite := "TRUE"
	if l.o.NoOverwrite {
		overwrite = "FALSE"
	}
	stmt := fmt.Sprintf("PUT 'file://%s' %s AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = %s OVERWRITE = %s PARALLEL = 1",
		filepath.ToSlash(abs), ref, sourceCompression(f), overwrite)
	return l.stmt(ctx, func(db DB) error {
		rows, err := db.QueryContext(ctx, stmt)
		if err != nil {
			return fmt.Errorf("%w: PUT %s: %w", ErrStatement, f.Name, err)
		}
		defer rows.Close()
		row, err := newNamedRow(rows)
		if err != nil {
			return fmt.Errorf("%w: PUT %s: %w", ErrStatement, f.Name, err)
		}
		n := 0
		for rows.Next() {
			if err := row.scan(rows); err != nil {
				return fmt.Errorf("%w: PUT %s: %w", ErrStatement, f.Name, err)
			}
			n++
			status, msg := row.str("status"), row.str("message")
			if status != "UPLOADED" && status != "SKIPPED" {
				return fmt.Errorf("%w: PUT %s: status %q: %s", ErrStatement, f.Name, status, msg)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%w: PUT %s: %w", ErrStatement, f.Name, err)
		}
		if n != 1 {
			return fmt.Errorf("%w: PUT %s: %d result rows, want 1", ErrStatement, f.Name, n)
		}
		return nil
	})
}
