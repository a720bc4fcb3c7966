package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestRead_KeepsTheBytesAndTheirHash(t *testing.T) {
	want := bytes.Repeat([]byte("s3ocr spool "), 100_000)
	f, err := Read(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := sha256.Sum256(want)
	if !bytes.Equal(f.Data, want) || f.Size != int64(len(want)) || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("spooled %d bytes, hash %s", f.Size, f.SHA256)
	}
	if err := f.Close(); err != nil || f.Data != nil {
		t.Fatalf("Close = %v, data %d bytes", err, len(f.Data))
	}
}

func TestRead_EmptyAndFailingStreams(t *testing.T) {
	f, err := Read(bytes.NewReader(nil))
	if err != nil || f.Size != 0 || f.Data != nil || f.Close() != nil {
		t.Fatalf("empty = %+v, %v", f, err)
	}
	broken := io.MultiReader(bytes.NewReader([]byte("part")), errReader{})
	if _, err := Read(broken); !errors.Is(err, errBroken) {
		t.Fatalf("a failing stream = %v", err)
	}
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

// TestEvict_DropsTheResidentPagesAndKeepsTheData reads a spooled file
// whole, as a copy to another file does, evicts it, and checks the
// mapping's resident size in /proc/self/smaps before and after, and the
// bytes after.
func TestEvict_DropsTheResidentPagesAndKeepsTheData(t *testing.T) {
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7 / 4096)
	}
	f, err := Read(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !bytes.Equal(f.Data, want) { // touches every page
		t.Fatal("spooled bytes differ")
	}
	before := residentKB(t, f.Data)
	f.Evict()
	after := residentKB(t, f.Data)
	if before < 8<<10*3/4 || after > before/8 {
		t.Fatalf("resident: %d kB after reading 8 MB, %d kB after Evict", before, after)
	}
	if !bytes.Equal(f.Data, want) {
		t.Fatal("the bytes changed after Evict")
	}
	f.Close()
	f.Evict() // after Close: nothing to do, no fault
	(*File)(nil).Evict()
}

// residentKB is the resident size of the mapping that starts at b, from
// /proc/self/smaps.
func residentKB(t *testing.T, b []byte) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	start := strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&b[0]))), 16)
	in := false
	for line := range strings.SplitSeq(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.TrimLeft(strings.SplitN(f[0], "-", 2)[0], "0") == start
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no mapping at %s in /proc/self/smaps", start)
	return 0
}
