package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// The test page for every format: w×h, ink (black) in the left half and
// paper in the right. Paper is white, or, in images with alpha, transparent
// black, which is what a drawing program saves for "no background".
const pageW, pageH = 16, 8

func ink(x int) bool { return x < pageW/2 }

// tiffSpec describes an uncompressed single-strip TIFF for writeTIFF.
type tiffSpec struct {
	photometric uint16 // 0 WhiteIsZero, 1 BlackIsZero, 2 RGB, 3 palette
	bps         int    // bits per sample
	colours     int    // colour samples per pixel (1 or 3)
	alpha       bool   // one more sample, unassociated alpha
	orientation uint16 // 0: no tag
}

func (s tiffSpec) String() string {
	name := map[uint16]string{0: "white-is-zero", 1: "grey", 2: "rgb", 3: "palette"}[s.photometric]
	if s.alpha {
		name += "+alpha"
	}
	return fmt.Sprintf("%s %d-bit", name, s.bps)
}

// writeTIFF writes the test page (turned so that applying orientation
// turns it back) as an uncompressed little-endian TIFF, samples as s says.
// It is hand-written because x/image/tiff's encoder writes neither 1-bit,
// nor grey with alpha, nor an Orientation tag.
func writeTIFF(s tiffSpec) []byte {
	w, h := pageW, pageH
	if s.orientation >= 5 {
		w, h = h, w
	}
	spp := s.colours
	if s.alpha {
		spp++
	}
	maxv := uint32(1)<<s.bps - 1
	var bw tiffBits
	for y := range h {
		for x := range w {
			ux, _ := unturn(x, y, w, h, int(s.orientation))
			dark := ink(ux)
			var v, a uint32 = maxv, maxv // white, opaque
			switch {
			case dark:
				v = 0
			case s.alpha:
				v, a = 0, 0 // transparent black
			}
			if s.photometric == 0 {
				v = maxv - v
			}
			if s.photometric == 3 {
				v = 0 // index 0 is ink
				if !dark {
					v = 1
				}
			}
			for range s.colours {
				bw.put(v, s.bps)
			}
			if s.alpha {
				bw.put(a, s.bps)
			}
		}
		bw.pad()
	}
	pix := bw.out

	type entry struct {
		tag, typ uint16
		vals     []uint32
	}
	bpsVals := make([]uint32, spp)
	for k := range bpsVals {
		bpsVals[k] = uint32(s.bps)
	}
	entries := []entry{
		{256, 4, []uint32{uint32(w)}},
		{257, 4, []uint32{uint32(h)}},
		{258, 3, bpsVals},
		{259, 3, []uint32{1}},
		{262, 3, []uint32{uint32(s.photometric)}},
		{273, 4, []uint32{0}}, // strip offset, set below
		{274, 3, []uint32{uint32(s.orientation)}},
		{277, 3, []uint32{uint32(spp)}},
		{278, 4, []uint32{uint32(h)}},
		{279, 4, []uint32{uint32(len(pix))}},
		{284, 3, []uint32{1}},
	}
	if s.photometric == 3 {
		n := 1 << s.bps
		cmap := make([]uint32, 3*n)
		for c := range 3 {
			cmap[c*n+1] = 0xFFFF // index 0 black, 1 white
		}
		entries = append(entries, entry{320, 3, cmap})
	}
	if s.alpha {
		entries = append(entries, entry{338, 3, []uint32{2}})
	}
	if s.orientation == 0 {
		entries = append(entries[:6], entries[7:]...)
	}
	// Header, then the directory, then out-of-line values, then the pixels.
	le := binary.LittleEndian
	dirLen := 2 + 12*len(entries) + 4
	var extra bytes.Buffer
	extraAt := 8 + dirLen
	for _, e := range entries {
		if size := map[uint16]int{3: 2, 4: 4}[e.typ] * len(e.vals); size > 4 {
			extra.Write(make([]byte, size+size%2))
		}
	}
	pixAt := extraAt + extra.Len()
	out := []byte("II*\x00")
	out = le.AppendUint32(out, 8)
	out = le.AppendUint16(out, uint16(len(entries)))
	extra.Reset()
	for _, e := range entries {
		if e.tag == 273 {
			e.vals = []uint32{uint32(pixAt)}
		}
		var val []byte
		for _, v := range e.vals {
			if e.typ == 3 {
				val = le.AppendUint16(val, uint16(v))
			} else {
				val = le.AppendUint32(val, v)
			}
		}
		out = le.AppendUint16(out, e.tag)
		out = le.AppendUint16(out, e.typ)
		out = le.AppendUint32(out, uint32(len(e.vals)))
		if len(val) > 4 {
			out = le.AppendUint32(out, uint32(extraAt+extra.Len()))
			extra.Write(val)
			if len(val)%2 == 1 {
				extra.WriteByte(0)
			}
		} else {
			out = append(out, append(val, make([]byte, 4-len(val))...)...)
		}
	}
	out = le.AppendUint32(out, 0)
	out = append(out, extra.Bytes()...)
	return append(out, pix...)
}

// unturn maps pixel (x, y) of a w×h image saved with orientation o to the
// upright page's coordinates.
func unturn(x, y, w, h, o int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return h - 1 - y, x
	case 7:
		return h - 1 - y, w - 1 - x
	case 8:
		return y, w - 1 - x
	}
	return x, y
}

// tiffBits packs samples most significant bit first, rows padded to bytes.
type tiffBits struct{ bitWriter }

func (b *tiffBits) pad() {
	if b.nacc > 0 {
		b.put(0, 8-b.nacc)
	}
}

// checkPage asserts img is the upright test page, opaque: dark ink on the
// left, light paper on the right.
func checkPage(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != pageW || b.Dy() != pageH {
		t.Fatalf("bounds %v, want %d×%d", b, pageW, pageH)
	}
	for y := range pageH {
		for x := range pageW {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if a != 0xFFFF {
				t.Fatalf("pixel (%d,%d) has alpha %#x: the page is not opaque", x, y, a)
			}
			lum := (r + g + bl) / 3 >> 8
			if ink(x) && lum > 90 || !ink(x) && lum < 170 {
				t.Fatalf("pixel (%d,%d) = %d; want the left half dark and the right half light", x, y, lum)
			}
		}
	}
}

// needTool is the path of a libtiff tool, or skips (fails where
// S3OCR_REQUIRE_TOOLS=1, as in make test).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s (libtiff-tools) not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// tiffcp rewrites a TIFF with libtiff, as a user's program would have
// saved it (compression -c, e.g. "lzw:2" for LZW with the predictor).
func tiffcp(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	tool := needTool(t, "tiffcp")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.tif"), filepath.Join(dir, "out.tif")
	os.WriteFile(in, data, 0o600)
	if b, err := exec.Command(tool, append(args, in, out)...).CombinedOutput(); err != nil {
		t.Fatalf("tiffcp %v: %v %s", args, err, b)
	}
	b, _ := os.ReadFile(out)
	return b
}

// openPage reads the first page as the service does.
func openPage(t *testing.T, data []byte) (image.Image, error) {
	t.Helper()
	d, err := Open(data, limit, 10)
	defer d.Close()
	if err != nil {
		return nil, err
	}
	return d.Page(context.Background(), 0)
}

func TestPage_ReadsEveryTIFFVariant(t *testing.T) {
	specs := []tiffSpec{
		{photometric: 1, bps: 1, colours: 1},
		{photometric: 0, bps: 1, colours: 1},
		{photometric: 1, bps: 8, colours: 1},
		{photometric: 1, bps: 16, colours: 1},
		{photometric: 1, bps: 8, colours: 1, alpha: true},
		{photometric: 1, bps: 16, colours: 1, alpha: true}, // ImageMagick's default for grey with alpha
		{photometric: 2, bps: 8, colours: 3},
		{photometric: 2, bps: 16, colours: 3},
		{photometric: 2, bps: 8, colours: 3, alpha: true},
		{photometric: 2, bps: 16, colours: 3, alpha: true},
		{photometric: 3, bps: 8, colours: 1},
		{photometric: 3, bps: 4, colours: 1},
		{photometric: 3, bps: 1, colours: 1},
	}
	for _, s := range specs {
		compressions := []string{"none", "lzw", "lzw:2", "zip", "packbits"}
		switch {
		case s.bps == 1 && s.photometric != 3:
			compressions = append(compressions, "g3", "g3:2d", "g4")
		case s.bps == 8 && !s.alpha && s.photometric != 3:
			compressions = append(compressions, "jpeg")
		}
		for _, c := range compressions {
			if c == "lzw:2" && s.bps < 8 {
				continue // the predictor is for 8 and 16 bits
			}
			t.Run(fmt.Sprintf("%s %s", s, c), func(t *testing.T) {
				data := writeTIFF(s)
				if c != "none" {
					data = tiffcp(t, data, "-c", c)
				} else {
					needTool(t, "tiff2rgba") // some are read through it
				}
				img, err := openPage(t, data)
				if err != nil {
					t.Fatal(err)
				}
				checkPage(t, img)
			})
		}
	}
}

func TestPage_TIFFOrientationIsHonoured(t *testing.T) {
	needTool(t, "tiff2rgba")
	for o := uint16(1); o <= 8; o++ {
		// Through Go (8-bit grey) and through libtiff (grey with 16-bit
		// alpha, which Go does not read), with the same result.
		for _, s := range []tiffSpec{
			{photometric: 1, bps: 8, colours: 1, orientation: o},
			{photometric: 1, bps: 16, colours: 1, alpha: true, orientation: o},
		} {
			t.Run(fmt.Sprintf("%d %s", o, s), func(t *testing.T) {
				img, err := openPage(t, writeTIFF(s))
				if err != nil {
					t.Fatal(err)
				}
				checkPage(t, img)
			})
		}
	}
	// Decode reads the first page's tag too.
	img, err := Decode(writeTIFF(tiffSpec{photometric: 1, bps: 8, colours: 1, orientation: 6}), limit)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, img)
}

// pagePixels is the test page in any Go image type: set(x, y, inked).
func pagePixels(set func(x, y int, ink bool)) {
	for y := range pageH {
		for x := range pageW {
			set(x, y, ink(x))
		}
	}
}

func TestDecode_ReadsEveryPNGAndOtherVariant(t *testing.T) {
	r := image.Rect(0, 0, pageW, pageH)
	gray16 := image.NewGray16(r)
	nrgba := image.NewNRGBA(r)
	nrgba64 := image.NewNRGBA64(r)
	pal := image.NewPaletted(r, color.Palette{color.Black, color.Transparent})
	pagePixels(func(x, y int, dark bool) {
		if dark {
			gray16.SetGray16(x, y, color.Gray16{0})
			nrgba.SetNRGBA(x, y, color.NRGBA{10, 20, 30, 255})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{0, 0, 0, 0xFFFF})
			return
		}
		gray16.SetGray16(x, y, color.Gray16{0xFFFF})
		pal.SetColorIndex(x, y, 1)
		// nrgba and nrgba64 stay transparent black.
	})
	var p bytes.Buffer
	png.Encode(&p, pal)
	tests := map[string][]byte{
		"png 16-bit grey":                    encode(t, "png", gray16),
		"png transparent rgba":               encode(t, "png", nrgba),
		"png transparent 16-bit rgba":        encode(t, "png", nrgba64),
		"png palette with a transparent one": p.Bytes(),
		"gif with a transparent index":       encode(t, "gif", pal),
		"jpeg cmyk":                          localFile(t, "left-dark.cmyk.jpg"),
		"jpeg progressive":                   localFile(t, "left-dark.progressive.jpg"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			img, err := Decode(data, limit)
			if err != nil {
				t.Fatal(err)
			}
			if name == "jpeg cmyk" || name == "jpeg progressive" {
				// 48×24: check the same halves at their scale.
				img = scaleDown(img, 3)
			}
			checkPage(t, img)
		})
	}
}

// scaleDown samples every k-th pixel.
func scaleDown(img image.Image, k int) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()/k, b.Dy()/k))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Set(x, y, img.At(b.Min.X+x*k+1, b.Min.Y+y*k+1))
		}
	}
	return out
}

func TestDecode_PNGAndWebPOrientationIsHonoured(t *testing.T) {
	// The page saved turned (orientation 6: "turn me clockwise") with an eXIf
	// chunk / EXIF chunk saying so.
	saved := image.NewGray(image.Rect(0, 0, pageH, pageW))
	for y := range pageW {
		for x := range pageH {
			ux, _ := unturn(x, y, pageH, pageW, 6)
			if !ink(ux) {
				saved.SetGray(x, y, color.Gray{255})
			}
		}
	}
	exif := exifBlock(6)
	withPNG := insertPNGChunk(encode(t, "png", saved), "eXIf", exif)
	img, err := Decode(withPNG, limit)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, img)

	// WebP: no Go encoder; check the chunk walk on the lossless sample.
	webp := localFile(t, "gopher-doc.1bpp.lossless.webp")
	if webpOrientation(webp) != 1 || webpOrientation(appendWebPChunk(webp, "EXIF", exif)) != 6 ||
		webpOrientation(appendWebPChunk(webp, "EXIF", append([]byte("Exif\x00\x00"), exif...))) != 6 {
		t.Fatal("WebP EXIF orientation not read")
	}
	if img, err := Decode(appendWebPChunk(webp, "EXIF", exif), limit); err != nil || img.Bounds().Dx() != 100 {
		t.Fatalf("turned WebP: %v, %v; want 100 wide", img.Bounds(), err)
	}
}

// exifBlock is a TIFF structure holding one Orientation tag.
func exifBlock(o uint16) []byte {
	var b bytes.Buffer
	b.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	binary.Write(&b, binary.BigEndian, uint16(1))
	binary.Write(&b, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&b, binary.BigEndian, uint32(1))
	binary.Write(&b, binary.BigEndian, []uint16{o, 0})
	binary.Write(&b, binary.BigEndian, uint32(0))
	return b.Bytes()
}

// insertPNGChunk puts a chunk right after IHDR.
func insertPNGChunk(p []byte, typ string, data []byte) []byte {
	at := 8 + 8 + 13 + 4
	var c bytes.Buffer
	c.Write(p[:at])
	c.Write(pngChunk(typ, data))
	c.Write(p[at:])
	return c.Bytes()
}

// appendWebPChunk adds a chunk to a RIFF WebP and fixes the RIFF size. (A
// real file would also need a VP8X header flag; the decoder ignores unknown
// trailing chunks, and the orientation walk needs no flag.)
func appendWebPChunk(w []byte, fourcc string, data []byte) []byte {
	out := append([]byte(nil), w...)
	out = append(out, fourcc...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func TestOpen_TIFFThatLibtiffCannotReadIsBadImage(t *testing.T) {
	needTool(t, "tiff2rgba")
	// Grey with alpha (Go refuses it) whose only strip lies past the end.
	data := writeTIFF(tiffSpec{photometric: 1, bps: 16, colours: 1, alpha: true})
	data = data[:len(data)-40]
	if _, err := openPage(t, data); ocr.ErrorCode(err) != ocr.EBADIMAGE {
		t.Fatalf("err = %v, want bad_image", err)
	}
}

// pngChunk is a PNG chunk: length, type, data, CRC.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}
