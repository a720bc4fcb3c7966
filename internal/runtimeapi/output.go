package runtimeapi

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// outputPipe carries a process's output to a writer that is not a file.
// Its flush copies everything the process has written so far, so that the
// harness's START, END and REPORT lines come after it: a runtime writes its
// logs before it posts its answer, so they precede END and REPORT, in
// order, as in Lambda's log stream. (Through exec's own pipe and copying
// goroutine they could come after.)
type outputPipe struct {
	w  io.Writer
	r  *os.File
	rc syscall.RawConn

	mu  sync.Mutex // held for every read of the pipe and write of what was read
	buf []byte
	eof bool
}

// newOutputPipe returns the pipe and the end for the process to write to;
// the caller closes that end once the process has started.
func newOutputPipe(w io.Writer) (*outputPipe, *os.File, error) {
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		pw.Close()
		return nil, nil, err
	}
	p := &outputPipe{w: w, r: r, rc: rc, buf: make([]byte, 32<<10)}
	go p.copy()
	return p, pw, nil
}

// copy copies until every writer has closed the pipe (the process and
// any child it left).
func (p *outputPipe) copy() {
	defer p.r.Close()
	for {
		// The poller calls back when the pipe is readable; false waits
		// again.
		err := p.rc.Read(func(fd uintptr) bool { return p.drain(fd) })
		if err != nil || p.isEOF() {
			return
		}
	}
}

// flush copies what the pipe holds now.
func (p *outputPipe) flush() {
	// Control, unlike Read, does not wait for the copy's pending Read.
	p.rc.Control(func(fd uintptr) { p.drain(fd) })
}

// drain reads and writes until the pipe is empty; it reports whether the
// pipe has ended.
func (p *outputPipe) drain(fd uintptr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.eof {
		n, err := syscall.Read(int(fd), p.buf)
		switch {
		case n > 0:
			p.w.Write(p.buf[:n])
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.EAGAIN):
			return false
		default: // 0 bytes: every writer has closed it
			p.eof = true
		}
	}
	return true
}

func (p *outputPipe) isEOF() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.eof
}
