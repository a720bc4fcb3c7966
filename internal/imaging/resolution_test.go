package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
)

// withJFIF puts a JFIF segment with the density units and X density given
// after a JPEG's SOI.
func withJFIF(t *testing.T, units byte, density uint16, seg int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	app0 := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2, units, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(app0[12:], density)
	binary.BigEndian.PutUint16(app0[14:], density)
	binary.BigEndian.PutUint16(app0[2:], uint16(seg))
	return append(append(b.Bytes()[:2:2], app0...), b.Bytes()[2:]...)
}

// pngAfterIDAT puts a chunk into a PNG after its first IDAT, where
// readers stop looking.
func pngAfterIDAT(t *testing.T, typ string, data []byte) []byte {
	p := encode(t, "png", page(4, 4))
	at := bytes.Index(p, []byte("IDAT")) - 4
	at += 12 + int(binary.BigEndian.Uint32(p[at:]))
	return append(append(bytes.Clone(p[:at]), pngChunk(typ, data)...), p[at:]...)
}

func pHYs(x uint32, unit byte) []byte {
	d := binary.BigEndian.AppendUint32(nil, x)
	return append(binary.BigEndian.AppendUint32(d, x), unit)
}

func TestStatesResolution(t *testing.T) {
	var plainJPEG, plainPNG, plainGIF, plainBMP bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	jpeg.Encode(&plainJPEG, img, nil)
	png.Encode(&plainPNG, img)
	gif.Encode(&plainGIF, img, nil)
	bmp.Encode(&plainBMP, img)
	bmpPPM := bytes.Clone(plainBMP.Bytes())
	binary.LittleEndian.PutUint32(bmpPPM[38:], 11811) // 300 dpi
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"JPEG without JFIF", plainJPEG.Bytes(), false},
		{"JPEG with JFIF aspect ratio only (units 0)", withJFIF(t, 0, 1, 16), false},
		{"JPEG with JFIF 300 dots per inch", withJFIF(t, 1, 300, 16), true},
		{"JPEG with JFIF 118 dots per cm", withJFIF(t, 2, 118, 16), true},
		{"JPEG with JFIF 0 dots per inch", withJFIF(t, 1, 0, 16), false},
		{"JPEG with a JFIF segment too short", withJFIF(t, 1, 300, 10), false},
		{"JPEG with a JFIF segment past the end", withJFIF(t, 1, 300, 60000), false},
		{"PNG without pHYs", plainPNG.Bytes(), false},
		{"PNG with pHYs in pixels per metre", insertPNGChunk(plainPNG.Bytes(), "pHYs", pHYs(11811, 1)), true},
		{"PNG with pHYs as an aspect ratio", insertPNGChunk(plainPNG.Bytes(), "pHYs", pHYs(1, 0)), false},
		{"PNG with a short pHYs", insertPNGChunk(plainPNG.Bytes(), "pHYs", pHYs(11811, 1)[:5]), false},
		{"PNG with pHYs after its image data", pngAfterIDAT(t, "pHYs", pHYs(11811, 1)), false},
		{"GIF", plainGIF.Bytes(), false},
		{"BMP without pixels per metre", plainBMP.Bytes(), false},
		{"BMP with pixels per metre", bmpPPM, true},
		{"nothing", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := statesResolution(c.data); got != c.want {
				t.Fatalf("statesResolution = %v, want %v", got, c.want)
			}
			if c.data == nil {
				return
			}
			d, err := Open(c.data, limit, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := d.StatesResolution(0); got != c.want {
				t.Fatalf("Document.StatesResolution = %v, want %v", got, c.want)
			}
		})
	}
}

func TestStatesResolution_TIFFPageByPage(t *testing.T) {
	for _, c := range []struct {
		file string
		want []bool
	}{
		{"hello.tif", []bool{true}},         // 72 dpi, x/image/tiff's
		{"pages.tif", []bool{false, false}}, // no XResolution
	} {
		d, err := Open(readTestdata(t, c.file), limit, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range c.want {
			if got := d.StatesResolution(i); got != want {
				t.Errorf("%s page %d: StatesResolution = %v, want %v", c.file, i+1, got, want)
			}
		}
		d.Close()
	}
}
