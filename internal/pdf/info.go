package pdf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// pageKeys are the lines pdfinfo -box prints for each page, each kind in
// page order: sizes and rotations first, then the five boxes.
var pageKeys = [...]string{"size:", "rot:", "MediaBox:", "CropBox:", "BleedBox:", "TrimBox:", "ArtBox:"}

// parseInfo reads the output of `pdfinfo -f first -l last -box`: the
// document's page count and, for pages first to min(last, count), each
// one's crop box and rotation. A count it could read is returned even when
// the pages cannot be: a page tree that claims a million pages is too many
// pages, whatever pdfinfo says of the pages that are not there.
//
// pdfinfo prints the document's title, author and other free text first,
// whole, newlines included, so a title can hold lines that look like
// pdfinfo's own ("Pages: 1", "Page    1 size: 10 x 10 pts"). Everything
// after its "Pages:" line is pdfinfo's own, so that line is the last one of
// its kind, and the page lines are taken only after it: each kind exactly
// once per page, in page order, none missing.
func parseInfo(out string, first, last int) (count int, pages []pageBox, err error) {
	lines := strings.Split(out, "\n")
	k := len(lines) - 1
	for k >= 0 && !strings.HasPrefix(lines[k], "Pages:") {
		k--
	}
	if k < 0 {
		return 0, nil, errors.New("pdfinfo gave no page count")
	}
	count, err = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(lines[k], "Pages:")))
	if err != nil || count < 1 {
		return 0, nil, fmt.Errorf("pdfinfo gave a page count of %q", strings.TrimPrefix(lines[k], "Pages:"))
	}
	if first < 1 || last < first || first > count {
		return count, nil, fmt.Errorf("pages %d to %d of %d asked for", first, last, count)
	}
	last = min(last, count)
	pages = make([]pageBox, last-first+1)
	var next [len(pageKeys)]int // the page each kind of line is for next
	for i := range next {
		next[i] = first
	}
	for _, l := range lines[k+1:] {
		rest, ok := strings.CutPrefix(l, "Page ")
		if !ok {
			continue // Encrypted, File size, Optimized, PDF version
		}
		f := strings.Fields(rest)
		key := -1
		if len(f) >= 3 {
			for i, name := range pageKeys {
				if f[1] == name {
					key = i
				}
			}
		}
		if key < 0 {
			return count, nil, fmt.Errorf("pdfinfo line %q", l)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n != next[key] || n > last {
			return count, nil, fmt.Errorf("pdfinfo gave page %s's %s where page %d's was due", f[0], f[1], next[key])
		}
		next[key]++
		p := &pages[n-first]
		switch pageKeys[key] {
		case "rot:":
			if p.rot, err = strconv.Atoi(f[2]); err != nil || p.rot%90 != 0 || p.rot < 0 || p.rot >= 360 {
				return count, nil, fmt.Errorf("page %d is turned %q", n, f[2])
			}
		case "CropBox:":
			if p.w, p.h, err = boxSize(f[2:]); err != nil {
				return count, nil, fmt.Errorf("page %d: %w", n, err)
			}
		}
	}
	for i, n := range next {
		if n != last+1 {
			return count, nil, fmt.Errorf("pdfinfo gave no %s for page %d", strings.TrimSuffix(pageKeys[i], ":"), n)
		}
	}
	return count, pages, nil
}

// boxSize is the width and height of a box "x1 y1 x2 y2", which must be
// positive and finite.
func boxSize(f []string) (w, h float64, err error) {
	var v [4]float64
	if len(f) != 4 {
		return 0, 0, fmt.Errorf("box %q", f)
	}
	for i, s := range f {
		if v[i], err = strconv.ParseFloat(s, 64); err != nil {
			return 0, 0, fmt.Errorf("box %q", f)
		}
	}
	w, h = v[2]-v[0], v[3]-v[1]
	if !(w > 0 && h > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) {
		return 0, 0, fmt.Errorf("box %q has no size", f)
	}
	return w, h, nil
}
