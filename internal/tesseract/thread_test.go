package tesseract

import (
	"context"
	"sync"
	"syscall"
	"testing"
)

// TestThread_RunsEveryCallOnOneOSThread calls from goroutines of their own,
// one call at a time as the engine's mutex orders them, and checks that
// every call ran on the same OS thread, that a panic reaches the caller,
// and that stop runs its call and ends the thread.
func TestThread_RunsEveryCallOnOneOSThread(t *testing.T) {
	var th thread
	var mu sync.Mutex
	var wg sync.WaitGroup
	seen := map[int]bool{}
	for range 20 {
		wg.Go(func() {
			mu.Lock()
			defer mu.Unlock()
			th.run(func() { seen[syscall.Gettid()] = true })
		})
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Fatalf("calls ran on %d OS threads, want 1", len(seen))
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the call's panic", p)
			}
		}()
		th.run(func() { panic("boom") })
	}()
	stopped := false
	th.stop(func() { stopped = true })
	if !stopped || th.calls != nil {
		t.Fatalf("stop ran its call: %v; thread left: %v", stopped, th.calls != nil)
	}
	var never thread // stop without a thread runs its call where it is
	ran := false
	never.stop(func() { ran = true })
	if !ran {
		t.Fatal("stop on an unstarted thread did not run its call")
	}
}

// TestRecognize_ReadsOnTheEnginesThread reads pages from several
// goroutines and checks that the engine made every call into Tesseract on
// one OS thread.
func TestRecognize_ReadsOnTheEnginesThread(t *testing.T) {
	e := newEngine(t)
	img := decodeFile(t, "../../testdata/hello.png")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := e.Recognize(context.Background(), img, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.thread.tids) != 1 {
		t.Fatalf("the engine called Tesseract from %d OS threads: %v", len(e.thread.tids), e.thread.tids)
	}
	for _, n := range e.thread.tids {
		if n != 3 {
			t.Fatalf("%d calls on the engine's thread for 3 pages", n)
		}
	}
}
