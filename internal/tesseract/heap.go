package tesseract

// Tesseract allocates each page's images and results on the C heap, many
// megabytes a page, and frees them when the page is done. glibc's malloc
// keeps what is freed for later by default: it raises its mmap threshold
// each time a large block is freed (so the next page's images come from the
// heap instead of fresh mappings), and keeps one arena per thread that ever
// called into C (Go runs cgo calls on any of its threads). A container then
// grows with the number of pages it reads although no page needs more than
// the first did. Fixing the threshold, capping the arenas (one per engine
// reading at once, and one for the rest), calling from one thread per
// engine (thread.go) and trimming after each page keep its memory flat;
// internal/bench measures it (make bench, item 6).

/*
#include <malloc.h>

static void s3ocr_heap_init(int arenas) {
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, arenas);
}
static void s3ocr_heap_arenas(int arenas) { mallopt(M_ARENA_MAX, arenas); }
static void s3ocr_heap_trim(void) { malloc_trim(0); }
static size_t s3ocr_heap_in_use(void) {
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd;
}
*/
import "C"

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
)

var (
	heapInit sync.Once
	arenas   atomic.Int32 // malloc arenas allowed, 0 until a Pool says
)

// minArenas serves one engine: its page, and the Go side's few C calls.
const minArenas = 2

// tuneHeap sets malloc's parameters once, before the first page.
func tuneHeap() {
	heapInit.Do(func() { C.s3ocr_heap_init(C.int(max(minArenas, arenas.Load()))) })
}

// heapArenas allows an arena per engine of a pool of n, and one more, so
// that engines reading at once do not wait on each other's malloc locks.
func heapArenas(n int) {
	want := int32(max(minArenas, n+1))
	for {
		cur := arenas.Load()
		if cur >= want {
			return
		}
		if arenas.CompareAndSwap(cur, want) {
			C.s3ocr_heap_arenas(C.int(want))
			return
		}
	}
}

// trimHeap gives the C heap's free memory back to the system.
func trimHeap() { C.s3ocr_heap_trim() }

// cHeapInUse is the C heap's bytes in use, in every arena and in mapped
// blocks: for tests.
func cHeapInUse() int64 { return int64(C.s3ocr_heap_in_use()) }

// releaseGo hands the Go heap's free pages back to the system. It is called
// once Leptonica holds its own copy of a page, and before Tesseract reads
// it: the page's decoded image and its grey pixels, no longer referenced, would
// otherwise stay resident beside the C heap Tesseract grows while reading
// (Go returns freed memory lazily, and lets its heap reach twice what is
// live before it collects). Measured on a 300-dpi A4 PNG with
// releasePage: the process's peak fell from 128 to 94 MB, Go holding 12 MB
// of it at Tesseract's peak; the collection costs a few milliseconds of a
// 1.4 s page (make bench's seconds per page did not change).
func releaseGo() { debug.FreeOSMemory() }

// releasePage drops the page a client holds once it has been read: gosseract
// keeps the last image it was given (one byte a pixel, 8.7 MB for an A4 page
// at 300 dpi) and Tesseract its thresholded copy and its results, until the
// next page, where they would sit beside that page's decoding. Reading the
// 8×8 blank page frees both in a few milliseconds: the C heap in use after
// an A4 page falls from 47 MB to 17 MB (mallinfo2), the model's. e.mu must
// be held.
func (e *Engine) releasePage() {
	if e.client == nil {
		return
	}
	apiLock.RLock()
	defer apiLock.RUnlock()
	if e.client.SetImageFromBytes(blankPGM) == nil {
		_, _ = e.client.GetBoundingBoxesVerbose()
	}
}
