package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// AsyncInvoker delivers S3 events to a handler the way Lambda's asynchronous
// invocation does: the event is accepted at once, each attempt runs with the
// function's timeout as its deadline, a failed attempt is retried (twice by
// default, after a delay), and an event that fails every attempt goes to the
// on-failure destination: here, a JSON file in DeadLetterDir.
//
// Each worker is one "container": with Handlers set, worker i always uses
// Handlers[i], as a Lambda container keeps its own warm state; otherwise
// every worker uses Handler.
//
// Deprecated: it calls handlers in-process. Lambda (lambda.go) runs each
// function's built bootstrap as Lambda does; use Lambda.InvokeAsync. This
// stays only until the stack and the webhook move over.
type AsyncInvoker struct {
	Handler       func(context.Context, events.S3Event) error
	Handlers      []func(context.Context, events.S3Event) error // one per worker; overrides Handler and Concurrency
	Timeout       time.Duration                                 // per attempt; default 5m
	Backoff       []time.Duration                               // delay before each retry; default 1s, 2s (AWS: about 1 and 2 minutes)
	Concurrency   int                                           // events handled at once; default 2
	DeadLetterDir string                                        // where exhausted events are written; "" keeps none
	Log           *slog.Logger

	once     sync.Once
	queue    chan events.S3Event
	inflight sync.WaitGroup
	pending  atomic.Int64

	Attempts     atomic.Int64 // handler calls
	Failures     atomic.Int64 // handler calls that returned an error
	DeadLettered atomic.Int64 // events given up on
}

func (a *AsyncInvoker) start() {
	a.once.Do(func() {
		if a.Timeout == 0 {
			a.Timeout = 5 * time.Minute
		}
		if a.Backoff == nil {
			a.Backoff = []time.Duration{time.Second, 2 * time.Second}
		}
		handlers := a.Handlers
		if len(handlers) == 0 {
			if a.Concurrency == 0 {
				a.Concurrency = 2
			}
			for range a.Concurrency {
				handlers = append(handlers, a.Handler)
			}
		}
		a.queue = make(chan events.S3Event, 1024)
		for _, h := range handlers {
			go a.worker(h)
		}
	})
}

// Invoke queues the event and returns at once.
func (a *AsyncInvoker) Invoke(ev events.S3Event) {
	a.start()
	a.inflight.Add(1)
	a.pending.Add(1)
	a.queue <- ev
}

// Pending returns how many events are queued or running.
func (a *AsyncInvoker) Pending() int64 { return a.pending.Load() }

// Wait blocks until every accepted event has finished (succeeded or been
// dead-lettered), or ctx ends.
func (a *AsyncInvoker) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d events still in flight: %w", a.pending.Load(), ctx.Err())
	}
}

func (a *AsyncInvoker) worker(h func(context.Context, events.S3Event) error) {
	for ev := range a.queue {
		a.deliver(h, ev)
		a.pending.Add(-1)
		a.inflight.Done()
	}
}

func (a *AsyncInvoker) deliver(h func(context.Context, events.S3Event) error, ev events.S3Event) {
	var err error
	for attempt := 0; attempt <= len(a.Backoff); attempt++ {
		if attempt > 0 {
			time.Sleep(a.Backoff[attempt-1])
		}
		a.Attempts.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), a.Timeout)
		err = h(ctx, ev)
		cancel()
		if err == nil {
			return
		}
		a.Failures.Add(1)
		a.Log.Warn("invocation failed", "attempt", attempt+1, "err", err)
	}
	a.DeadLettered.Add(1)
	a.Log.Error("event failed every attempt; sent to the dead-letter directory", "err", err, "dir", a.DeadLetterDir)
	if a.DeadLetterDir == "" {
		return
	}
	if err := os.MkdirAll(a.DeadLetterDir, 0o755); err != nil {
		a.Log.Error("dead-letter directory", "err", err)
		return
	}
	b, _ := json.MarshalIndent(ev, "", "  ")
	name := filepath.Join(a.DeadLetterDir, fmt.Sprintf("%d.json", time.Now().UnixNano()))
	if err := os.WriteFile(name, b, 0o644); err != nil {
		a.Log.Error("dead-letter write", "err", err)
	}
}
