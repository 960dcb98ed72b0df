package s3source

import (
	"context"
	"fmt"
	"strings"

	"github.com/flatpipe/flatpipe/source"
)

// InputOptions configures ResolveInputs.
type InputOptions struct {
	// Client lists s3:// prefixes. It is needed only when an input names S3:
	// without it such an input is an error wrapping source.ErrOptions.
	Client ListObjectsAPI
	// Suffixes, if set, keeps only objects under s3:// prefixes whose keys end
	// in one of them.
	Suffixes []string
}

// ParseURL splits "s3://bucket/key" into bucket and key. A key that is
// empty or ends in "/" is a prefix.
func ParseURL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("s3source: %q is not an s3:// URL", u)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("s3source: %q has no bucket", u)
	}
	return bucket, key, nil
}

// IsURL reports whether s is an s3:// URL (a valid one or not).
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// ResolveInputs turns command-line inputs into objects, in the order given:
// local paths, globs and directories (see source.ListLocal), "s3://bucket/key"
// (one object) and "s3://bucket/prefix/" or "s3://bucket" (every object under
// the prefix, in key order). A prefix with no objects is an error.
func ResolveInputs(ctx context.Context, args []string, opts InputOptions) ([]source.Object, error) {
	var out []source.Object
	for _, a := range args {
		if !IsURL(a) {
			objs, err := source.ListLocal(a)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		bucket, key, err := ParseURL(a)
		if err != nil {
			return nil, err
		}
		if key != "" && !strings.HasSuffix(key, "/") {
			out = append(out, source.Object{Bucket: bucket, Key: key, Size: -1})
			continue
		}
		if opts.Client == nil {
			return nil, fmt.Errorf("%w: %s: no S3 client to list it with", source.ErrOptions, a)
		}
		objs, err := List(ctx, opts.Client, ListOptions{Bucket: bucket, Prefix: key, Suffixes: opts.Suffixes})
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("s3source: no objects under %s", a)
		}
		out = append(out, objs...)
	}
	return out, nil
}
