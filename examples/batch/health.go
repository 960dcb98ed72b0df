package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flatpipe/flatpipe/resilience"
	"github.com/flatpipe/flatpipe/source/s3source"
)

// healthChecks builds the checks run before any work: every S3 bucket the
// job reads or writes, the Snowflake login and warehouse, and the staging
// directory's free space.
func healthChecks(db *sql.DB, warehouse string, s3c *s3.Client, buckets []string, stageDir string, minFree int64) ([]resilience.Check, error) {
	var checks []resilience.Check
	seen := map[string]bool{}
	for _, b := range buckets {
		if seen[b] || s3c == nil {
			continue
		}
		seen[b] = true
		bc, err := s3source.NewBucketCheck(s3c, b, 10*time.Second)
		if err != nil {
			return nil, err
		}
		checks = append(checks, bc)
	}
	if db != nil {
		checks = append(checks, resilience.CheckWithTimeout(resilience.NewCheck("snowflake-login", db.PingContext), time.Minute))
		if warehouse != "" {
			checks = append(checks, resilience.CheckWithTimeout(resilience.NewCheck("snowflake-warehouse", func(ctx context.Context) error {
				var w sql.NullString
				if err := db.QueryRowContext(ctx, "SELECT CURRENT_WAREHOUSE()").Scan(&w); err != nil {
					return err
				}
				if !strings.EqualFold(w.String, strings.Trim(warehouse, `"`)) {
					return fmt.Errorf("session warehouse is %q, not %q (does it exist, and may the role use it?)", w.String, warehouse)
				}
				return nil
			}), time.Minute))
		}
	}
	checks = append(checks, resilience.DiskSpaceCheck("staging-disk", stageDir, uint64(minFree)))
	return checks, nil
}

// bucketOf returns the bucket of an s3:// URL, or "".
func bucketOf(u string) string {
	if !strings.HasPrefix(u, "s3://") {
		return ""
	}
	b, _, _ := strings.Cut(strings.TrimPrefix(u, "s3://"), "/")
	return b
}
