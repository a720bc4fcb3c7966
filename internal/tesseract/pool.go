package tesseract

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// apiLock orders every Tesseract call of the process around gosseract's
// Init. Init points the C library's stderr at /dev/null with freopen and
// then at a 512-byte buffer on gosseract's side (which stdio takes for
// BUFSIZ), and puts it back after: a second Init at the same time, or
// another engine printing a warning meanwhile, races on that one FILE and
// can write past the buffer. So a client's Init holds the lock alone (its
// writer side), and a recognition holds its reader side, which engines
// share. Inits are rare: an engine's first page and each change of its
// language set.
var apiLock sync.RWMutex

// Pool is several engines reading pages at the same time, one page each:
// Tesseract's recognition is single-threaded with OMP_THREAD_LIMIT=1, so a
// document's pages read N at a time on N vCPUs go N times as fast. It is an
// ocr.Engine whose Recognize may be called from up to Size goroutines at
// once; each call waits for a free engine.
//
// Each engine needs about 100 MB more memory for its vCPU: its model
// loaded and one page in work. make bench ("Every vCPU") measured the
// process's peak RSS rise by 69 MB while one engine read its first 300-dpi
// A4 page, and by 54 MB per engine with two reading at once; 100 MB leaves
// room for larger pages.
type Pool struct {
	engines []*Engine
	free    chan *Engine
}

// NewPool returns n engines for the models in cfg.TessdataPrefix. No model
// is loaded until an engine's first page, and those loads run one at a
// time (see apiLock).
func NewPool(cfg Config, n int) (*Pool, error) {
	if n < 1 {
		return nil, fmt.Errorf("tesseract: a pool needs at least one engine, got %d", n)
	}
	p := &Pool{free: make(chan *Engine, n)}
	for range n {
		e, err := New(cfg)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.engines = append(p.engines, e)
		p.free <- e
	}
	heapArenas(n)
	return p, nil
}

// Size is how many pages the pool reads at once.
func (p *Pool) Size() int { return len(p.engines) }

// Recognize reads one page with the first free engine; see
// Engine.Recognize. It waits for an engine until ctx is done.
func (p *Pool) Recognize(ctx context.Context, img image.Image, langs []string) (*ocr.Page, error) {
	select {
	case e := <-p.free:
		defer func() { p.free <- e }()
		return e.Recognize(ctx, img, langs)
	case <-ctx.Done():
		return nil, fmt.Errorf("tesseract: not started: %w", ctx.Err())
	}
}

// Info names the engine and the Tesseract version it links.
func (p *Pool) Info() ocr.EngineInfo { return p.engines[0].Info() }

// Languages lists the installed language codes, sorted, without osd.
func (p *Pool) Languages() []string { return p.engines[0].Languages() }

// Close frees every engine. An engine still reading a page (one given up on
// at a deadline) is closed when its page ends.
func (p *Pool) Close() error {
	var errs []error
	for _, e := range p.engines {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}

// lambdaMBPerVCPU is the memory at which Lambda gives a function one full
// vCPU; CPU time grows in proportion to memory, up to 6 vCPUs at 10,240 MB.
const lambdaMBPerVCPU = 1769

// CPUs is how many engines keep this process's CPUs busy: the CPUs it may
// run on (its affinity mask, which taskset and cpusets narrow, unlike
// runtime.NumCPU's count at start), fewer when a cgroup quota allows less
// CPU time, and on Lambda (memoryMB > 0, AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
// the vCPUs its memory buys, rounded: Lambda may show more cores in the
// affinity mask than the memory pays for, and at 1,769 MB a function gets
// one core's worth of time, where two engines would read each page at half
// speed with twice the memory. At least 1.
func CPUs(memoryMB int) int {
	n := 1
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() > 0 {
		n = set.Count()
	}
	if q := cgroupCPUs(); q > 0 {
		n = min(n, q)
	}
	if memoryMB > 0 {
		n = min(n, int(math.Round(float64(memoryMB)/lambdaMBPerVCPU)))
	}
	return max(1, n)
}

// cgroupCPUs is the CPU time a cgroup v2 quota allows, in whole CPUs
// rounded up; 0 when there is no quota.
func cgroupCPUs() int {
	b, err := os.ReadFile("/sys/fs/cgroup/cpu.max")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b)) // "max 100000" or "200000 100000"
	if len(f) != 2 || f[0] == "max" {
		return 0
	}
	quota, err1 := strconv.ParseFloat(f[0], 64)
	period, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || quota <= 0 || period <= 0 {
		return 0
	}
	return int(math.Ceil(quota / period))
}
