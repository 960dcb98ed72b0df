//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package resilience

func lockFile(string) (func(), error) { return func() {}, nil }

func syncDir(string) error { return nil }
