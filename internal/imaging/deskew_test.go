package imaging

import (
	"math"
	"testing"
)

func TestSkew_FindsATiltAndRotateUndoesIt(t *testing.T) {
	page, err := Decode(readTestdata(t, "hello.png"), 60_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if a := Skew(page, 5, 0.25); math.Abs(a) > 0.25 {
		t.Fatalf("an upright page measured %.2f°", a)
	}
	for _, tilt := range []float64{-3, 2} {
		tilted := Rotate(page, tilt)
		a := Skew(tilted, 5, 0.25)
		if math.Abs(a-tilt) > 0.5 {
			t.Fatalf("a page turned %.1f° measured %.2f°", tilt, a)
		}
		if back := Skew(Rotate(tilted, -a), 5, 0.25); math.Abs(back) > 0.5 {
			t.Fatalf("after turning back, %.2f° remain", back)
		}
	}
}
