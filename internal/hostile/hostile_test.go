package hostile

import (
	"bytes"
	"compress/zlib"
	"image/color"
	"io"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

func TestCases_AreTheSameOnEveryCall(t *testing.T) {
	a, b := Cases(), Cases()
	if len(a) != len(b) {
		t.Fatalf("%d cases, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("case %d (%s) differs between calls", i, a[i].Name)
		}
	}
}

func TestCases_NamedUniquelyAndDescribed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("%s: name used twice", c.Name)
		}
		seen[c.Name] = true
		if c.Why == "" || len(c.Want) == 0 || c.ContentType == "" {
			t.Errorf("%s: needs a Why, a Want and a ContentType", c.Name)
		}
		for _, w := range c.Want {
			if !outcomes[w] {
				t.Errorf("%s: %q is not an outcome a reading can have", c.Name, w)
			}
		}
	}
	for name := range lies {
		if !seen[name] {
			t.Errorf("lies names %s, which is no case", name)
		}
	}
	if len(seen) < 30 {
		t.Errorf("%d kinds; the corpus needs at least 30", len(seen))
	}
}

// outcomes are Done and the failure codes reading a file can end in.
var outcomes = map[string]bool{
	Done: true, ocr.EEMPTY: true, ocr.EUNSUPPORTED: true, ocr.ETYPEMISMATCH: true, ocr.EBADIMAGE: true,
	ocr.ETOOMANYPIXELS: true, ocr.ETOOMANYPAGES: true, ocr.EBADPDF: true, ocr.EENCRYPTED: true,
	ocr.ETOOCOMPLEX: true, ocr.ETIMEOUT: true,
}

func TestCases_BytesAreOfTheIntendedType(t *testing.T) {
	for _, c := range Cases() {
		if got := imaging.Sniff(c.Data); got != c.Sniffed() {
			t.Errorf("%s: sniffed %q, meant %q", c.Name, got, c.Sniffed())
		}
	}
}

func TestCases_AreSmallAndQuickToMake(t *testing.T) {
	start := time.Now()
	cs := Cases()
	took := time.Since(start)
	total := 0
	for _, c := range cs {
		total += len(c.Data)
		if len(c.Data) > 1<<20 {
			t.Errorf("%s is %d bytes; keep each file to 1 MiB", c.Name, len(c.Data))
		}
	}
	t.Logf("%d cases, %d bytes, made in %v", len(cs), total, took)
	if total > 4<<20 {
		t.Errorf("the corpus is %d bytes; keep it to a few MB", total)
	}
	// Making it took 0.2 s here, 8 s in make test with -race beside the
	// other packages: its time is logged, not held to a wall-clock bound.
}

// TestZlibRepeat checks the stitched streams the bombs are made of: they
// inflate to exactly the repeated chunk, and their checksum is right.
func TestZlibRepeat_InflatesToTheRepeatedChunkWithAValidChecksum(t *testing.T) {
	chunk := bytes.Repeat([]byte("0 0 1 1 re f\n"), 5000)
	for _, times := range []int{1, 2, 7} {
		r, err := zlib.NewReader(bytes.NewReader(zlibRepeat(chunk, times)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%d times: %v", times, err)
		}
		if !bytes.Equal(got, bytes.Repeat(chunk, times)) {
			t.Fatalf("%d times: inflated to %d bytes, not the chunk repeated", times, len(got))
		}
	}
	r, _ := zlib.NewReader(bytes.NewReader(zlibZeros(3)))
	if n, err := io.Copy(io.Discard, r); n != 3<<20 || err != nil {
		t.Fatalf("zlibZeros(3) inflated to %d bytes, %v", n, err)
	}
}

// TestLZW_EncoderAgreesWithTheDecoder round-trips the LZW writer through
// the TIFF decoder, at sizes that cross each code-width boundary.
func TestLZW_EncoderAgreesWithTheDecoder(t *testing.T) {
	for _, n := range []int{1, 300, 1000, 3000, 9000, 70000} {
		data := pattern(n, 1)
		for name, z := range map[string][]byte{"compressed": lzwCompress(data), "literals": lzwLiterals(data)} {
			img, err := imaging.Decode(tiffFile(n, 1, 1, 8, nil, 5, z), 1<<30)
			if err != nil {
				t.Fatalf("%d bytes, %s: %v", n, name, err)
			}
			for x := range n {
				if g := color.GrayModel.Convert(img.At(x, 0)).(color.Gray).Y; g != data[x] {
					t.Fatalf("%d bytes, %s: pixel %d = %d, want %d", n, name, x, g, data[x])
				}
			}
		}
	}
}
