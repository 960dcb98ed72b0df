// Package resilience keeps a flatpipe job going when its dependencies
// misbehave: retry with backoff, circuit breaker, bulkhead, timeouts, panic
// recovery, checkpoints, dead letters, health checks and metrics.
package resilience
