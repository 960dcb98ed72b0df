package source

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

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
