package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// progress shows each file's state: on a terminal, one line per file redrawn
// in place; otherwise a plain line whenever a file's state changes (uploads
// in steps of a quarter), so logs stay readable.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	names    []string
	states   []string
	terminal bool
	drawn    bool
}

func newProgress(w io.Writer, names []string, terminal bool) *progress {
	return &progress{w: w, names: names, states: make([]string, len(names)), terminal: terminal}
}

func (p *progress) set(i int, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal {
		// Plain lines: only state changes, and uploads by quarters.
		if coarse(state) == coarse(p.states[i]) {
			return
		}
		p.states[i] = state
		fmt.Fprintf(p.w, "%s: %s\n", p.names[i], coarse(state))
		return
	}
	p.states[i] = state
	p.redraw()
}

// coarse reduces an upload bar to its quarter, so plain output does not
// print a line per packet.
func coarse(state string) string {
	if i := strings.Index(state, "%"); i > 0 && strings.HasPrefix(state, "uploading") {
		j := strings.LastIndex(state[:i], " ")
		var pct int
		fmt.Sscanf(state[j+1:i], "%d", &pct)
		return fmt.Sprintf("uploading %d%%", pct/25*25)
	}
	return state
}

func (p *progress) redraw() {
	if p.drawn {
		fmt.Fprintf(p.w, "\x1b[%dA", len(p.names)) // back to the first line
	}
	for i, n := range p.names {
		fmt.Fprintf(p.w, "\x1b[2K%-30s %s\n", trim(n, 30), p.states[i])
	}
	p.drawn = true
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}

// bar draws "[#####     ]  50%".
func bar(sent, total int64) string {
	if total <= 0 {
		return ""
	}
	pct := int(sent * 100 / total)
	filled := pct / 5
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", filled), strings.Repeat(" ", 20-filled), pct)
}
