package tesseract

// Tesseract allocates each page's images and results on the C heap, many
// megabytes a page, and frees them when the page is done. glibc's malloc
// keeps what is freed for later by default: it raises its mmap threshold
// each time a large block is freed (so the next page's images come from the
// heap instead of fresh mappings), and keeps one arena per thread that ever
// called into C (Go runs cgo calls on any of its threads). A container then
// grows with the number of pages it reads although no page needs more than
// the first did. Fixing the threshold, capping the arenas (one per engine
// reading at once, and one for the rest) and trimming after each page keep
// its memory flat; internal/bench measures it (make bench, item 6).

/*
#include <malloc.h>

static void s3ocr_heap_init(int arenas) {
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, arenas);
}
static void s3ocr_heap_arenas(int arenas) { mallopt(M_ARENA_MAX, arenas); }
static void s3ocr_heap_trim(void) { malloc_trim(0); }
*/
import "C"

import (
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
