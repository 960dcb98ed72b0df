package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ListOptions selects S3 objects.
type ListOptions struct {
	Bucket string
	Prefix string
	// StartAfter resumes a listing after this key.
	StartAfter string
	// Suffixes keeps only keys ending in one of them (all keys if empty).
	Suffixes []string
	// ModifiedAfter and ModifiedBefore, when not zero, keep objects with
	// LastModified > ModifiedAfter and < ModifiedBefore.
	ModifiedAfter, ModifiedBefore time.Time
	// Limit stops after this many objects (no limit if zero).
	Limit int
}

func (o *ListOptions) keep(key string, mod time.Time) bool {
	if strings.HasSuffix(key, "/") {
		return false // a "folder" marker
	}
	if len(o.Suffixes) > 0 && !slices.ContainsFunc(o.Suffixes, func(s string) bool { return strings.HasSuffix(key, s) }) {
		return false
	}
	if !o.ModifiedAfter.IsZero() && !mod.After(o.ModifiedAfter) {
		return false
	}
	if !o.ModifiedBefore.IsZero() && !mod.Before(o.ModifiedBefore) {
		return false
	}
	return true
}

// WalkS3 calls fn for every object selected by opts, in key order, following
// ListObjectsV2 pagination. An error from fn stops the walk and is returned.
func WalkS3(ctx context.Context, client S3API, opts ListOptions, fn func(Object) error) error {
	if client == nil || opts.Bucket == "" {
		return errors.New("source: WalkS3 needs a client and a bucket")
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(opts.Bucket)}
	if opts.Prefix != "" {
		in.Prefix = aws.String(opts.Prefix)
	}
	if opts.StartAfter != "" {
		in.StartAfter = aws.String(opts.StartAfter)
	}
	n := 0
	p := s3.NewListObjectsV2Paginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("source: list s3://%s/%s: %w", opts.Bucket, opts.Prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			mod := aws.ToTime(o.LastModified)
			if !opts.keep(key, mod) {
				continue
			}
			obj := Object{Bucket: opts.Bucket, Key: key, ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size), LastModified: mod}
			if err := fn(obj); err != nil {
				return err
			}
			if n++; opts.Limit > 0 && n >= opts.Limit {
				return nil
			}
		}
	}
	return nil
}

// ListS3 returns the objects WalkS3 visits.
func ListS3(ctx context.Context, client S3API, opts ListOptions) ([]Object, error) {
	var out []Object
	err := WalkS3(ctx, client, opts, func(o Object) error { out = append(out, o); return nil })
	return out, err
}

// ListLocal expands local paths, glob patterns and directories (walked
// recursively, skipping hidden entries) into objects: the files of each
// argument in lexical order, arguments in the order given, duplicates removed.
// A pattern or path that matches nothing is an error.
func ListLocal(paths ...string) ([]Object, error) {
	var out []Object
	seen := map[string]bool{}
	add := func(p string, fi fs.FileInfo) {
		if !seen[p] {
			seen[p] = true
			out = append(out, Object{Key: p, Size: fi.Size(), LastModified: fi.ModTime()})
		}
	}
	for _, arg := range paths {
		matches := []string{arg}
		if strings.ContainsAny(arg, "*?[") {
			m, err := filepath.Glob(arg)
			if err != nil {
				return nil, fmt.Errorf("source: bad pattern %q: %w", arg, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("source: %q matches no files", arg)
			}
			matches = m
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("source: %w", err)
			}
			if !fi.IsDir() {
				add(m, fi)
				continue
			}
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p != m && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					fi, err := d.Info()
					if err != nil {
						return err
					}
					add(p, fi)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("source: %w", err)
			}
		}
	}
	return out, nil
}
