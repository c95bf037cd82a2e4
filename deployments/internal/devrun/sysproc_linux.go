package devrun

import "syscall"

// sysProcAttr puts the child in its own process group and, on Linux, has the
// kernel SIGKILL it if devrun itself dies without stopping it (kill -9 of devrun).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
