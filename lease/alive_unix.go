//go:build unix

package lease

import (
	"errors"
	"os"
	"syscall"
)

// ProcessAlive reports whether a holder's process still runs, as far as
// this host can tell: a holder on another host is taken to run; one on
// this host runs if its pid does and is not this process (a container
// restarted in place keeps its host name and may get the same pid).
func ProcessAlive(h Holder) bool {
	host, _ := os.Hostname()
	if h.Host != host {
		return true
	}
	if h.PID == os.Getpid() || h.PID <= 0 {
		return false
	}
	err := syscall.Kill(h.PID, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
