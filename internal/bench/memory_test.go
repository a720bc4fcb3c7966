package bench

import (
	"sync/atomic"
	"time"
)

// sampler keeps the largest value a reading gives over time.
type sampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

// sample calls read every interval until Stop and keeps the largest value.
func sample(every time.Duration, read func() int64) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v := read(); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the largest value read.
func (s *sampler) Stop() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}
