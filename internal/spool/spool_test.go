package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
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
