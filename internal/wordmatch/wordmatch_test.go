package wordmatch

import (
	"strings"
	"testing"
)

func TestCommonAndRecall(t *testing.T) {
	for _, c := range []struct {
		a, b   string
		common int
		recall float64
	}{
		{"the cat sat", "the cat sat", 3, 1},
		{"the the cat", "the cat", 2, 2.0 / 3}, // "the" twice in a, once in b
		{"a b c d", "d x", 1, 0.25},
		{"", "a", 0, 0},
		{"a", "", 0, 0},
	} {
		a, b := strings.Fields(c.a), strings.Fields(c.b)
		if got := Common(a, b); got != c.common {
			t.Errorf("Common(%q, %q) = %d, want %d", c.a, c.b, got, c.common)
		}
		if got := Common(b, a); got != c.common {
			t.Errorf("Common(%q, %q) = %d, want %d (it is symmetric)", c.b, c.a, got, c.common)
		}
		if got := Recall(a, b); got != c.recall {
			t.Errorf("Recall(%q, %q) = %v, want %v", c.a, c.b, got, c.recall)
		}
	}
}
