package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// marker is the first argument of a re-executed binary that is to become a
// sandboxed tool. No command of the project's takes it as an argument.
const marker = "s3ocr-sandbox"

// reportFD is where the child says why it could not become the tool; it is
// close-on-exec, so a successful exec closes it with nothing written.
const reportFD = 3

func init() {
	if len(os.Args) > 1 && os.Args[1] == marker {
		child(os.Args[2:])
	}
}

func childArgs(lim Limits, tool string, args []string) []string {
	return append([]string{marker,
		strconv.FormatInt(lim.Memory, 10),
		strconv.FormatInt(int64(cpuSeconds(lim.CPU)/time.Second), 10),
		strconv.FormatInt(lim.FileSize, 10),
		"--", tool}, args...)
}

// child sets the limits on this process and becomes the tool. It never
// returns.
func child(args []string) {
	fail := func(format string, a ...any) {
		f := os.NewFile(reportFD, "report")
		fmt.Fprintf(f, format, a...)
		os.Exit(127)
	}
	unix.CloseOnExec(reportFD)
	if len(args) < 5 || args[3] != "--" {
		fail("bad arguments %q", args)
	}
	var n [3]uint64
	for i := range n {
		v, err := strconv.ParseUint(args[i], 10, 63)
		if err != nil {
			fail("bad limit %q", args[i])
		}
		n[i] = v
	}
	as, cpu, fsize := n[0], n[1], n[2]
	tool, argv := args[4], args[4:]
	// Everything execve needs is built before the address-space limit is
	// lowered: this Go process may already map more than the tool may.
	path, err := syscall.BytePtrFromString(tool)
	if err != nil {
		fail("%v", err)
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		fail("%v", err)
	}
	envp, _ := syscall.SlicePtrFromStrings(nil)
	msg := make([]byte, 0, len(tool)+256)
	msg = append(append(append(msg, "exec "...), tool...), ": "...)
	for _, l := range []struct {
		res        int
		name       string
		soft, hard uint64
	}{
		{unix.RLIMIT_CORE, "core", 0, 0},
		// poppler and libtiff open a document, fonts and fontconfig's
		// caches: tens of files. Go raised this process's limit to the hard
		// one at start; the tool gets a small one back.
		{unix.RLIMIT_NOFILE, "nofile", 256, 256},
		{unix.RLIMIT_FSIZE, "fsize", fsize, fsize},
		// SIGXCPU at the soft limit, SIGKILL a second later for a program
		// that ignores it.
		{unix.RLIMIT_CPU, "cpu", cpu, cpu + 1},
		{unix.RLIMIT_AS, "as", as, as},
	} {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.soft, Max: l.hard}); err != nil {
			fail("setrlimit %s: %v", l.name, err)
		}
	}
	_, _, errno := syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	// Under the lowered limits the Go runtime may not be able to map
	// another page: fmt, a new thread or a heap growth can end in a fatal
	// "cannot allocate memory" instead of the report. The message goes
	// into a buffer allocated above and out by raw system calls.
	msg = append(msg, errno.Error()...)
	syscall.RawSyscall(unix.SYS_WRITE, reportFD, uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
}
