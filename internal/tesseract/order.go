package tesseract

import (
	"slices"
	"unicode"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// textLine is one of Tesseract's lines and the block it came in.
type textLine struct {
	ocr.Line
	block   int  // Tesseract's block number
	newPara bool // the line starts a paragraph (or a block)
}

// readingOrder puts Tesseract's lines in the order a reader takes them.
// Tesseract's layout analysis decides the blocks, and its order is kept
// except in two cases:
//
//   - Tables. Tesseract often cuts a table into one block per column (the
//     labels, then the amounts), so a page reads all its labels before any
//     amount. Side-by-side blocks whose lines pair up row by row, one of
//     them made of short cells, become one unit whose lines sharing a row
//     are merged, left to right, into one line.
//   - Columns. Blocks of prose side by side are columns. Each run of columns
//     is read column by column, top to bottom, followed by what sits between
//     the columns without belonging to one (a caption across the gutter),
//     in place of the first of those blocks in Tesseract's order.
//
// Words keep their boxes; only their lines and the lines' order change.
// Pages in a right-to-left script keep Tesseract's order: rows are merged
// left to right.
func readingOrder(lines []textLine) []textLine {
	if len(lines) < 2 || rightToLeft(lines) {
		return lines
	}
	blocks := splitBlocks(lines)
	if len(blocks) < 2 {
		return lines
	}
	lineH := medianLineHeight(lines)

	// Columns first: a block of prose is never a table cell.
	colPartners := make([][]int, len(blocks))
	for i, a := range blocks {
		for j := i + 1; j < len(blocks); j++ {
			if b := blocks[j]; a.prose() && b.prose() && xDisjoint(a.box, b.box) &&
				yOverlap(a.box, b.box) >= columnOverlapLines*lineH {
				colPartners[i] = append(colPartners[i], j)
				colPartners[j] = append(colPartners[j], i)
			}
		}
	}

	// Then tables, among the blocks that are not columns.
	groups := newUnionFind(len(blocks))
	for i, a := range blocks {
		for j := i + 1; j < len(blocks); j++ {
			if len(colPartners[i]) == 0 && len(colPartners[j]) == 0 && tableRows(a, blocks[j]) {
				groups.union(i, j)
			}
		}
	}
	var units []*unit
	byRoot := map[int]*unit{}
	unitOf := make([]*unit, len(blocks))
	for i, b := range blocks {
		r := groups.find(i)
		u := byRoot[r]
		if u == nil {
			u = &unit{first: i, box: b.box}
			byRoot[r] = u
			units = append(units, u)
		}
		u.blocks = append(u.blocks, b)
		u.box = union(u.box, b.box)
		unitOf[i] = u
	}
	for _, u := range units {
		if len(u.blocks) == 1 {
			u.lines = u.blocks[0].lines
		} else {
			u.lines = mergeRows(u.blocks)
		}
	}

	// Runs of columns: blocks linked by column partnership, and runs whose
	// heights overlap, are read as one.
	runs := newUnionFind(len(blocks))
	for i, ps := range colPartners {
		for _, j := range ps {
			runs.union(i, j)
		}
	}
	type run struct {
		cols     []int // column blocks
		top, bot int
	}
	runOf := map[int]*run{}
	var allRuns []*run
	for i := range blocks {
		if len(colPartners[i]) == 0 {
			continue
		}
		r := runOf[runs.find(i)]
		if r == nil {
			r = &run{top: blocks[i].box[1], bot: blocks[i].box[3]}
			runOf[runs.find(i)] = r
			allRuns = append(allRuns, r)
		}
		r.cols = append(r.cols, i)
		r.top, r.bot = min(r.top, blocks[i].box[1]), max(r.bot, blocks[i].box[3])
	}
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(allRuns) && !merged; i++ {
			for j := i + 1; j < len(allRuns) && !merged; j++ {
				a, b := allRuns[i], allRuns[j]
				if a.top < b.bot && b.top < a.bot {
					a.cols = append(a.cols, b.cols...)
					a.top, a.bot = min(a.top, b.top), max(a.bot, b.bot)
					allRuns = slices.Delete(allRuns, j, j+1)
					merged = true
				}
			}
		}
	}
	if len(allRuns) == 0 {
		return emit(units, nil)
	}
	// A block of prose stacked in one column of a run, with no partner
	// beside it (a column's last paragraph, below the others' ends), is
	// part of that column.
	for grown := true; grown; {
		grown = false
		for i, b := range blocks {
			if len(colPartners[i]) > 0 || !b.prose() || len(unitOf[i].blocks) > 1 {
				continue
			}
			for _, r := range allRuns {
				if slices.Contains(r.cols, i) {
					continue
				}
				over := slices.DeleteFunc(slices.Clone(r.cols), func(j int) bool { return xDisjoint(b.box, blocks[j].box) })
				stacked := len(over) > 0 && !slices.ContainsFunc(over, func(j int) bool {
					return yOverlap(b.box, blocks[j].box) > 0 || slices.ContainsFunc(over, func(k int) bool { return xDisjoint(blocks[j].box, blocks[k].box) })
				})
				if stacked {
					r.cols = append(r.cols, i)
					r.top, r.bot = min(r.top, b.box[1]), max(r.bot, b.box[3])
					colPartners[i] = []int{over[0]}
					grown = true
					break
				}
			}
		}
	}
	// A run above another is the same run when their columns line up and
	// nothing between them crosses a gutter, as a headline across the
	// columns does: paragraphs of two columns often end at the same height.
	slices.SortFunc(allRuns, func(a, b *run) int { return a.top - b.top })
	for k := 0; k+1 < len(allRuns); {
		a, b := allRuns[k], allRuns[k+1]
		cols := append(slices.Clone(a.cols), b.cols...)
		aligned := slices.ContainsFunc(a.cols, func(i int) bool {
			return slices.ContainsFunc(b.cols, func(j int) bool { return !xDisjoint(blocks[i].box, blocks[j].box) })
		})
		crossed := slices.ContainsFunc(units, func(u *unit) bool {
			if mid := (u.box[1] + u.box[3]) / 2; mid < a.bot || mid > b.top {
				return false
			}
			return slices.ContainsFunc(cols, func(i int) bool {
				return slices.ContainsFunc(cols, func(j int) bool {
					return xDisjoint(blocks[i].box, blocks[j].box) && xOverlap(u.box, blocks[i].box) > 0 && xOverlap(u.box, blocks[j].box) > 0
				})
			})
		})
		if !aligned || crossed {
			k++
			continue
		}
		a.cols, a.bot = cols, max(a.bot, b.bot)
		allRuns = slices.Delete(allRuns, k+1, k+2)
	}

	// Order each run: its columns (column blocks whose widths overlap, left
	// to right), each top to bottom with the other units that fall in it,
	// then the units between columns.
	placed := map[*unit][]*unit{} // first unit of a run in Tesseract's order -> the run's order
	inRun := map[*unit]bool{}
	for _, r := range allRuns {
		colOf := newUnionFind(len(blocks))
		for _, i := range r.cols {
			for _, j := range r.cols {
				if i < j && !xDisjoint(blocks[i].box, blocks[j].box) {
					colOf.union(i, j)
				}
			}
		}
		type column struct {
			box   ocr.BBox
			units []*unit
		}
		var cols []*column
		byCol := map[int]*column{}
		for _, i := range r.cols {
			c := byCol[colOf.find(i)]
			if c == nil {
				c = &column{box: blocks[i].box}
				byCol[colOf.find(i)] = c
				cols = append(cols, c)
			}
			c.box = union(c.box, blocks[i].box)
			c.units = append(c.units, unitOf[i])
		}
		slices.SortFunc(cols, func(a, b *column) int { return a.box[0] - b.box[0] })
		var between []*unit
		for _, u := range units {
			if slices.ContainsFunc(r.cols, func(i int) bool { return unitOf[i] == u }) {
				continue
			}
			if mid := (u.box[1] + u.box[3]) / 2; mid < r.top || mid > r.bot {
				continue
			}
			in := false
			for _, c := range cols {
				if 2*xOverlap(u.box, c.box) >= u.box[2]-u.box[0] {
					c.units = append(c.units, u)
					in = true
					break
				}
			}
			if !in {
				between = append(between, u)
			}
		}
		var order []*unit
		for _, c := range cols {
			slices.SortStableFunc(c.units, func(a, b *unit) int { return a.box[1] - b.box[1] })
			order = append(order, c.units...)
		}
		slices.SortStableFunc(between, func(a, b *unit) int { return a.box[1] - b.box[1] })
		order = append(order, between...)
		first := slices.MinFunc(order, func(a, b *unit) int { return a.first - b.first })
		placed[first] = order
		for _, u := range order {
			inRun[u] = true
		}
	}
	return emit(units, func(u *unit) ([]*unit, bool) {
		if order, ok := placed[u]; ok {
			return order, true
		}
		return nil, inRun[u]
	})
}

// columnOverlapLines is how many median line heights two blocks of prose
// must share to be columns rather than one paragraph above another: three
// lines side by side.
const columnOverlapLines = 3

// emit lays out the units' lines in Tesseract's order of their first
// blocks; run says, for a unit, the units to put in its place instead and
// whether it was placed elsewhere.
func emit(units []*unit, run func(*unit) ([]*unit, bool)) []textLine {
	slices.SortFunc(units, func(a, b *unit) int { return a.first - b.first })
	var out []textLine
	for _, u := range units {
		seq := []*unit{u}
		if run != nil {
			order, moved := run(u)
			switch {
			case order != nil:
				seq = order
			case moved:
				continue
			}
		}
		for _, v := range seq {
			for i, l := range v.lines {
				l.newPara = l.newPara || i == 0
				out = append(out, l)
			}
		}
	}
	return out
}

// block is one of Tesseract's blocks: its lines and their box.
type block struct {
	lines []textLine
	box   ocr.BBox
}

// unit is what is ordered: a block, or the blocks of a table.
type unit struct {
	blocks []block
	lines  []textLine
	box    ocr.BBox
	first  int // the first of its blocks in Tesseract's order
}

// splitBlocks cuts lines, in Tesseract's order, into its blocks.
func splitBlocks(lines []textLine) []block {
	var blocks []block
	for i, l := range lines {
		if i == 0 || l.block != lines[i-1].block {
			blocks = append(blocks, block{box: l.BBox})
		}
		b := &blocks[len(blocks)-1]
		b.lines = append(b.lines, l)
		b.box = union(b.box, l.BBox)
	}
	return blocks
}

// medianWords is the median number of words on the block's lines.
func (b block) medianWords() int {
	n := make([]int, len(b.lines))
	for i, l := range b.lines {
		n[i] = len(l.Words)
	}
	slices.Sort(n)
	return n[len(n)/2]
}

// prose reports whether the block reads as running text: at least three
// lines of usually four words or more. A table's cells or a list of
// amounts have fewer (the corpus's tables: one to three words a cell),
// a column of running text more (the corpus's magazine columns: 6–9
// words a line; three columns on A4 in 10 pt: 5).
func (b block) prose() bool { return len(b.lines) >= 3 && b.medianWords() >= 4 }

// cells reports whether the block's lines are short, as a table column's
// cells are: usually three words or fewer.
func (b block) cells() bool { return b.medianWords() <= 3 }

// tableRows reports whether two blocks side by side are columns of one
// table: one of them is made of short cells, and at least two thirds of
// the lines of the one with fewer lines share a row with a line of the
// other.
func tableRows(a, b block) bool {
	if !xDisjoint(a.box, b.box) || yOverlap(a.box, b.box) <= 0 || !a.cells() && !b.cells() {
		return false
	}
	if len(a.lines) > len(b.lines) {
		a, b = b, a
	}
	paired := 0
	for _, l := range a.lines {
		if slices.ContainsFunc(b.lines, func(m textLine) bool { return sameRow(l.BBox, m.BBox) }) {
			paired++
		}
	}
	return paired > 0 && 3*paired >= 2*len(a.lines)
}

// sameRow reports whether two lines' boxes are on one row: they overlap by
// at least half the lower one's height.
func sameRow(a, b ocr.BBox) bool {
	return 2*yOverlap(a, b) >= min(a[3]-a[1], b[3]-b[1])
}

// mergeRows lays the lines of a table's blocks out row by row, top to
// bottom, each row one line of the blocks' lines sharing it, left to right,
// starting a paragraph where its leftmost line did. A row takes at most one
// line of each block.
func mergeRows(blocks []block) []textLine {
	var lines []textLine
	for _, b := range blocks {
		lines = append(lines, b.lines...)
	}
	slices.SortStableFunc(lines, func(a, b textLine) int {
		return (a.BBox[1] + a.BBox[3]) - (b.BBox[1] + b.BBox[3])
	})
	var rows [][]textLine
	for _, l := range lines {
		joined := false
		// The row is among the last few: rows are made top to bottom.
		for k := len(rows) - 1; k >= 0 && k >= len(rows)-3; k-- {
			row := rows[k]
			if slices.ContainsFunc(row, func(m textLine) bool {
				return m.block == l.block || !xDisjoint(m.BBox, l.BBox)
			}) || !sameRow(rowBox(row), l.BBox) {
				continue
			}
			rows[k] = append(row, l)
			joined = true
			break
		}
		if !joined {
			rows = append(rows, []textLine{l})
		}
	}
	out := make([]textLine, 0, len(rows))
	for _, row := range rows {
		slices.SortFunc(row, func(a, b textLine) int { return a.BBox[0] - b.BBox[0] })
		m := row[0]
		m.Words = slices.Clone(m.Words)
		for _, l := range row[1:] {
			m.Text += " " + l.Text
			m.Words = append(m.Words, l.Words...)
			m.BBox = union(m.BBox, l.BBox)
		}
		if len(row) > 1 {
			var sum float64
			for _, w := range m.Words {
				sum += w.Confidence
			}
			m.Confidence = round4(sum / float64(len(m.Words)))
		}
		out = append(out, m)
	}
	return out
}

func rowBox(row []textLine) ocr.BBox {
	b := row[0].BBox
	for _, l := range row[1:] {
		b = union(b, l.BBox)
	}
	return b
}

func medianLineHeight(lines []textLine) int {
	hs := make([]int, len(lines))
	for i, l := range lines {
		hs[i] = l.BBox[3] - l.BBox[1]
	}
	slices.Sort(hs)
	return hs[len(hs)/2]
}

func xDisjoint(a, b ocr.BBox) bool { return a[2] <= b[0] || b[2] <= a[0] }

func xOverlap(a, b ocr.BBox) int { return max(0, min(a[2], b[2])-max(a[0], b[0])) }

func yOverlap(a, b ocr.BBox) int { return max(0, min(a[3], b[3])-max(a[1], b[1])) }

// rightToLeft reports whether most of the page's letters are in a script
// written right to left.
func rightToLeft(lines []textLine) bool {
	var rtl, all int
	for _, l := range lines {
		for _, r := range l.Text {
			if unicode.IsLetter(r) {
				all++
				if unicode.In(r, unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko) {
					rtl++
				}
			}
		}
	}
	return 2*rtl > all
}

// unionFind groups indices.
type unionFind []int

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = i
	}
	return u
}

func (u unionFind) find(i int) int {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

func (u unionFind) union(i, j int) { u[u.find(i)] = u.find(j) }
