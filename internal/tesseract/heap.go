package tesseract

// Tesseract allocates each page's images and results on the C heap, many
// megabytes a page, and frees them when the page is done. glibc's malloc
// keeps what is freed for later by default: it raises its mmap threshold
// each time a large block is freed (so the next page's images come from the
// heap instead of fresh mappings), and keeps one arena per thread that ever
// called into C (Go runs cgo calls on any of its threads). A container then
// grows with the number of pages it reads although no page needs more than
// the first did. Fixing the threshold, capping the arenas (Tesseract calls
// are serialised by Engine.mu) and trimming after each page keep its
// memory flat; internal/bench measures it (make bench, item 6).

/*
#include <malloc.h>

static void s3ocr_heap_init(void) {
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, 2);
}
static void s3ocr_heap_trim(void) { malloc_trim(0); }
*/
import "C"

import "sync"

var heapInit sync.Once

// tuneHeap sets malloc's parameters once, before the first page.
func tuneHeap() { heapInit.Do(func() { C.s3ocr_heap_init() }) }

// trimHeap gives the C heap's free memory back to the system.
func trimHeap() { C.s3ocr_heap_trim() }
