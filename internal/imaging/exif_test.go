package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"testing"
)

// withOrientation inserts an EXIF segment saying o after a JPEG's SOI.
func withOrientation(jpg []byte, o uint16) []byte {
	seg := append([]byte("Exif\x00\x00"), exifBlock(o)...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestDecode_HonoursEXIFOrientation(t *testing.T) {
	// A 40×20 page, dark in its left half; saved turned 90° anticlockwise
	// (20×40, dark at the bottom), with orientation 6: "turn me clockwise".
	upright := image.NewGray(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			if x >= 20 {
				upright.Pix[y*40+x] = 255
			}
		}
	}
	saved := image.NewGray(image.Rect(0, 0, 20, 40))
	for y := range 20 {
		for x := range 40 {
			saved.Pix[(39-x)*20+y] = upright.Pix[y*40+x]
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, saved, &jpeg.Options{Quality: 95})
	for o, want := range map[uint16]image.Rectangle{1: saved.Bounds(), 6: upright.Bounds()} {
		img, err := Decode(withOrientation(buf.Bytes(), o), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != want {
			t.Fatalf("orientation %d: %v, want %v", o, img.Bounds(), want)
		}
		if o == 6 {
			g := img.(*image.Gray)
			if left, right := g.GrayAt(5, 10).Y, g.GrayAt(35, 10).Y; left > 60 || right < 200 {
				t.Fatalf("turned wrong: left %d right %d, want dark then light", left, right)
			}
		}
	}
	if exifOrientation(buf.Bytes()) != 1 || exifOrientation([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}) != 1 {
		t.Fatal("no or broken EXIF must read as 1")
	}
}

func TestOrient_AllEightAreInvertible(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(src.Pix, []byte{1, 2, 3, 4, 5, 6})
	// Applying o and then its inverse gives the original back.
	inverse := map[int]int{2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
	for o, inv := range inverse {
		back := orient(orient(src, o), inv).(*image.Gray)
		if !bytes.Equal(back.Pix, src.Pix) || back.Rect != src.Rect {
			t.Errorf("orientation %d then %d: %v %v", o, inv, back.Rect, back.Pix)
		}
	}
}
