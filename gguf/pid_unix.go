//go:build unix

package gguf

import (
	"errors"

	"golang.org/x/sys/unix"
)

// processAlive says whether process pid exists: signal 0 checks without
// sending anything, and EPERM means it exists under another user.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
