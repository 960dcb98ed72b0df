//go:build !(linux || darwin)

package resilience

import "errors"

func diskFree(string) (uint64, error) {
	return 0, errors.New("resilience: free disk space is only measured on Unix")
}
