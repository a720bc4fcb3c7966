package tesseract

import (
	"context"
	"image"
	"sync"
	"testing"
)

func TestPool_TwoEnginesReadTwoPagesAtOnceWithOneEnginesText(t *testing.T) {
	img := decodeFile(t, "../../testdata/hello.png")
	one := newEngine(t)
	want, err := one.Recognize(context.Background(), img, []string{"eng"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(Config{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	readingMax.Store(0)
	// Several rounds: two calls started together may still run one after
	// the other when the scheduler lets one finish first.
	for round := 0; round < 5 && readingMax.Load() < 2; round++ {
		pages := make([]string, 2)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range pages {
			wg.Go(func() {
				pg, err := p.Recognize(context.Background(), img, []string{"eng"})
				if err == nil {
					pages[i] = pg.Text
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, text := range pages {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if text != want.Text {
				t.Fatalf("round %d, page %d: %q, one engine read %q", round, i, text, want.Text)
			}
		}
	}
	if n := readingMax.Load(); n != 2 {
		t.Fatalf("at most %d recognitions ran at once, want 2", n)
	}
	for i, e := range p.engines {
		if e.inits != 1 {
			t.Errorf("engine %d initialised %d times", i, e.inits)
		}
	}
}

func TestPool_WaitsForAFreeEngineUntilTheContextEnds(t *testing.T) {
	p, err := NewPool(Config{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := <-p.free // the only engine, busy
	defer func() { p.free <- e }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Recognize(ctx, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err == nil {
		t.Fatal("a call with no free engine and its context done did not fail")
	}
}

func TestCPUs_AtLeastOneAndLambdaMemoryBuysVCPUs(t *testing.T) {
	all := CPUs(0)
	if all < 1 {
		t.Fatalf("CPUs(0) = %d", all)
	}
	for _, c := range []struct{ mb, want int }{{128, 1}, {1769, 1}, {2048, 1}, {3538, 2}, {10240, 6}} {
		if got := CPUs(c.mb); got != min(all, c.want) {
			t.Errorf("CPUs(%d MB) = %d, want min(%d CPUs here, %d)", c.mb, got, all, c.want)
		}
	}
}
