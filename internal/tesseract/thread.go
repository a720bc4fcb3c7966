package tesseract

import (
	"runtime"
	"syscall"
)

// Each engine makes all its calls into Tesseract from one OS thread of its
// own. Go runs a cgo call on whichever thread its goroutine is on, so
// without this an engine's pages are read on several threads in turn, and
// glibc's malloc gives each thread its own cache of freed blocks and, up to
// the arena limit (heap.go), its own arena. Every page then grows the heap
// a thread has not used before, and blocks left in each thread's cache keep
// pages of memory that malloc_trim cannot return. Measured with make
// bench's memory figures on a 50-page PDF: Tesseract's main arena grew to
// 46–56 MB and the process's peak to 106 MB (1.10× one page); on one
// thread the arena stays at 21 MB, as for one page, and the peak at 102 MB
// (1.06×).
type thread struct {
	calls chan func()
	tids  map[int]int // calls run, by the ID of the OS thread they ran on: for tests
}

// run runs f on the thread, starting it on the first call, and returns
// when f has. A panic in f is raised again in the caller, as if f had run
// there. Calls must not overlap: the engine's mutex orders them.
func (t *thread) run(f func()) {
	if t.calls == nil {
		t.calls = make(chan func())
		go serve(t.calls)
	}
	done := make(chan any, 1)
	t.calls <- func() {
		defer func() { done <- recover() }()
		if t.tids == nil {
			t.tids = map[int]int{}
		}
		t.tids[syscall.Gettid()]++
		f()
	}
	if p := <-done; p != nil {
		panic(p)
	}
}

// stop ends the thread once f has run on it; run must not be called after.
func (t *thread) stop(f func()) {
	if t.calls == nil {
		f()
		return
	}
	t.run(f)
	close(t.calls)
	t.calls = nil
}

// serve runs the calls on the OS thread it locks. The thread is never
// unlocked: when calls is closed the goroutine ends, and the runtime ends
// its thread with it, and with the thread its malloc cache.
func serve(calls chan func()) {
	runtime.LockOSThread()
	for f := range calls {
		f()
	}
}
