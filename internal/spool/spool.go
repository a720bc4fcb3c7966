// Package spool keeps a stream of up to hundreds of megabytes (an upload,
// 500 MiB by default) out of the Go heap: it is written to an unlinked
// temporary file, hashed on the way, and the file is mapped into memory
// read-only. Its pages are then the kernel's page cache, which can drop
// and read them again, so a function's memory holds what it touches, not
// the whole file; the readers (image decoders, poppler through a file)
// take a []byte as before.
package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"syscall"
)

// File is a spooled stream.
type File struct {
	Data   []byte // the bytes, mapped; nil when the stream was empty
	Size   int64
	SHA256 string // hex
}

// Read spools r whole. Close releases the mapping; Data must not be used
// after it. The file has no name from the moment it is created, so it is
// gone however the process ends.
func Read(r io.Reader) (*File, error) {
	f, err := os.CreateTemp("", "s3ocr-spool-")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close() // a mapping outlives its descriptor
	_ = os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, f), r)
	if err != nil {
		return nil, err
	}
	out := &File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if n == 0 {
		return out, nil // an empty file cannot be mapped
	}
	if out.Data, err = syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("spool: map %d bytes: %w", n, err)
	}
	return out, nil
}

// Close unmaps the data.
func (f *File) Close() error {
	if f == nil || f.Data == nil {
		return nil
	}
	err := syscall.Munmap(f.Data)
	f.Data = nil
	return err
}

// Evict drops the file's pages from the process's resident memory, keeping
// the data: the mapping stays, and a page read again comes back from the
// page cache (or the disk). Reading a file once, as copying a PDF to
// poppler's own file does, otherwise leaves all of it resident in the
// process (and counted in a Lambda function's memory) until Close. It is
// safe whenever Data is valid, even while other goroutines read it.
func (f *File) Evict() {
	if f == nil || f.Data == nil {
		return
	}
	// MADV_DONTNEED on a shared mapping of a file only unmaps its pages;
	// on anonymous memory it would zero them, so this is only ever done on
	// the mapping Read made.
	_ = syscall.Madvise(f.Data, syscall.MADV_DONTNEED)
}
