package imaging

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpen_MultiPageTIFFPageByPage(t *testing.T) {
	data := readTestdata(t, "pages.tif")
	d, err := Open(data, 60_000_000, 100)
	defer d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d.Pages() != 2 {
		t.Fatalf("pages = %d, want 2", d.Pages())
	}
	first, err := d.Page(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.Page(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// The pages differ (hello, then invoice) and match the PNGs they came from.
	hello, _ := Decode(readTestdata(t, "hello.png"), 60_000_000)
	invoice, _ := Decode(readTestdata(t, "invoice.png"), 60_000_000)
	if first.Bounds() != hello.Bounds() || second.Bounds() != invoice.Bounds() || first.Bounds() == second.Bounds() {
		t.Fatalf("pages %v and %v; want %v and %v", first.Bounds(), second.Bounds(), hello.Bounds(), invoice.Bounds())
	}
	if _, err := d.Page(context.Background(), 2); err == nil {
		t.Fatal("page 3 of 2 decoded")
	}
}

func TestOpen_PageLimitIsCheckedBeforeDecoding(t *testing.T) {
	_, err := Open(readTestdata(t, "pages.tif"), 60_000_000, 1)
	if ocr.ErrorCode(err) != ocr.ETOOMANYPAGES {
		t.Fatalf("Open over the page limit = %v, want too_many_pages", err)
	}
	if d, err := Open(readTestdata(t, "hello.png"), 60_000_000, 1); err != nil || d.Pages() != 1 {
		t.Fatalf("a PNG = %v pages, %v", d, err)
	}
}

func TestOpen_CorruptDirectoryChains(t *testing.T) {
	good := readTestdata(t, "pages.tif")
	le := binary.LittleEndian
	first := le.Uint32(good[4:8])
	n := int(le.Uint16(good[first:]))
	nextAt := int(first) + 2 + 12*n
	for name, corrupt := range map[string]func(b []byte){
		"loop":           func(b []byte) { le.PutUint32(b[nextAt:], first) },
		"past the end":   func(b []byte) { le.PutUint32(b[nextAt:], uint32(len(b)+100)) },
		"no directories": func(b []byte) { le.PutUint32(b[4:8], uint32(len(b)-1)) },
	} {
		b := append([]byte(nil), good...)
		corrupt(b)
		if _, err := Open(b, 60_000_000, 100); ocr.ErrorCode(err) != ocr.EBADIMAGE {
			t.Errorf("%s: Open = %v, want bad_image", name, err)
		}
	}
}

// A compression Go does not read (ZSTD here; before tiffjpeg.go, JPEG) is
// read through libtiff, a page at a time.
func TestOpen_TIFFGoCannotReadIsConvertedAndRead(t *testing.T) {
	tiffcp, err := exec.LookPath("tiffcp")
	if err != nil {
		if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
			t.Fatal("tiffcp (libtiff-tools) not installed")
		}
		t.Skip("tiffcp not installed")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.tif"), filepath.Join(dir, "zstd.tif")
	os.WriteFile(in, readTestdata(t, "pages.tif"), 0o600)
	if b, err := exec.Command(tiffcp, "-c", "zstd", in, out).CombinedOutput(); err != nil {
		t.Fatalf("tiffcp: %v %s", err, b)
	}
	data, _ := os.ReadFile(out)
	if _, err := Decode(data, 60_000_000); ocr.ErrorCode(err) != ocr.EUNSUPPORTED {
		t.Fatalf("Go decoded a ZSTD-compressed TIFF itself (%v): the conversion is untested", err)
	}
	original, err := Open(readTestdata(t, "pages.tif"), 60_000_000, 10)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(data, 60_000_000, 10)
	defer d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d.Pages() != 2 {
		t.Fatalf("pages = %d", d.Pages())
	}
	// Out of order: each page is converted alone, when it is read.
	for _, i := range []int{1, 0, 1} {
		img, err := d.Page(context.Background(), i)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		want, err := original.Page(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != want.Bounds() {
			t.Fatalf("page %d is %v, want %v", i+1, img.Bounds(), want.Bounds())
		}
	}
	// The converted file is one page: memory and disk hold one page's
	// pixels however many the document has.
	if d.page == nil || len(d.page.pages.ifds) != 1 {
		t.Fatalf("the conversion holds %+v", d.page)
	}
	kept := d.dir
	if _, err := os.Stat(filepath.Join(kept, "in.tif")); err != nil {
		t.Fatalf("the document's file for libtiff: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(kept); !os.IsNotExist(err) {
		t.Fatalf("Close left %s: %v", kept, err)
	}
}

// FuzzSniffAndOpen: whatever the bytes, sniffing and opening never panic, a
// document never has more pages than the limit, and every failure has a code.
func FuzzSniffAndOpen(f *testing.F) {
	f.Add(readTestdata(f, "pages.tif"))
	f.Add(readTestdata(f, "hello.png")[:64])
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Sniff(data)
		d, err := Open(data, 1_000_000, 3)
		defer d.Close()
		if err != nil {
			if ocr.ErrorCode(err) == ocr.EINTERNAL {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		if d.Pages() < 1 || d.Pages() > 3 {
			t.Fatalf("%d pages", d.Pages())
		}
	})
}
