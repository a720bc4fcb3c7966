package runtimeapi

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrThrottled is returned for a synchronous invocation when every
// container of a Pool is busy, where Lambda answers 429
// TooManyRequestsException.
var ErrThrottled = errors.New("runtimeapi: every container is busy (TooManyRequestsException)")

// ErrClosed is returned by a Pool after Close.
var ErrClosed = errors.New("runtimeapi: pool closed")

// Pool holds up to Size warm containers (Functions) of one function, as
// Lambda holds up to a function's reserved concurrency in execution
// environments. Containers are made lazily by New, each invocation gets an
// idle one, and a container whose process ended (a crash, a timeout, out of
// memory) is closed and replaced by a new one when next needed.
type Pool struct {
	Size int              // containers at most; default 1
	New  func() *Function // makes a container: the same bootstrap, environment, memory and timeout each time

	once   sync.Once
	slots  chan struct{} // one token per busy container
	mu     sync.Mutex
	idle   []*Function
	all    map[*Function]bool
	closed bool
}

func (p *Pool) init() {
	p.once.Do(func() {
		p.slots = make(chan struct{}, max(p.Size, 1))
		p.all = map[*Function]bool{}
	})
}

// Invoke runs one event in an idle container, or returns ErrThrottled when
// all are busy, as a synchronous Lambda invocation does.
func (p *Pool) Invoke(ctx context.Context, req Request) (Result, error) {
	f, err := p.TryAcquire()
	if err != nil {
		return Result{RequestID: req.ID}, err
	}
	defer p.Release(f)
	return f.InvokeRequest(ctx, req)
}

// TryAcquire returns an idle container, or a new one while there are fewer
// than Size, or ErrThrottled. Give it back with Release.
func (p *Pool) TryAcquire() (*Function, error) {
	p.init()
	select {
	case p.slots <- struct{}{}:
		return p.take()
	default:
		return nil, ErrThrottled
	}
}

// Acquire is TryAcquire that waits for a container to be free, as
// Lambda's asynchronous queue waits, until ctx ends.
func (p *Pool) Acquire(ctx context.Context) (*Function, error) {
	p.init()
	select {
	case p.slots <- struct{}{}:
		return p.take()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) take() (*Function, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.slots
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		f := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return f, nil
	}
	f := p.New()
	p.all[f] = true
	return f, nil
}

// Release gives back a container taken by Acquire or TryAcquire. One whose
// process is gone is closed, so that the next invocation gets a fresh
// container, as Lambda replaces a failed execution environment.
func (p *Pool) Release(f *Function) {
	p.mu.Lock()
	switch {
	case p.closed || f.PID() == 0:
		delete(p.all, f)
		defer f.Close()
	default:
		p.idle = append(p.idle, f)
	}
	p.mu.Unlock()
	<-p.slots
}

// Containers returns how many containers exist, busy or idle.
func (p *Pool) Containers() int {
	p.init()
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// Close stops every container, ending the invocations that run in them
// (they report Runtime.ExitError); later calls return ErrClosed.
func (p *Pool) Close() error {
	p.init()
	p.mu.Lock()
	p.closed = true
	all := p.all
	p.idle, p.all = nil, map[*Function]bool{}
	p.mu.Unlock()
	var errs []error
	for f := range all {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Busy returns the process ids of the containers running an invocation now,
// for fault tests that kill one mid-event.
func (p *Pool) Busy() []int {
	p.init()
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for f := range p.all {
		if pid := f.PID(); pid != 0 && !slices.Contains(p.idle, f) {
			pids = append(pids, pid)
		}
	}
	return pids
}
