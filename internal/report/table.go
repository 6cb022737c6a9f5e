package report

import (
	"strings"
	"unicode/utf8"
)

// textTable is a box-drawn table for terminals. Rows come in sections that
// are separated by a horizontal rule (e.g. the pairs, then the TOTAL row).
type textTable struct {
	title    string
	header   []string
	right    []bool // per column: right-align (numbers)
	sections [][][]string
}

func (t *textTable) render(b *strings.Builder) {
	n := len(t.header)
	width := make([]int, n)
	for i, h := range t.header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, sec := range t.sections {
		for _, row := range sec {
			for i := 0; i < n && i < len(row); i++ {
				width[i] = max(width[i], utf8.RuneCountInString(row[i]))
			}
		}
	}
	total := 1
	for _, w := range width {
		total += w + 3
	}
	rule := func(l, m, r string) {
		b.WriteString(l)
		for i, w := range width {
			if i > 0 {
				b.WriteString(m)
			}
			b.WriteString(strings.Repeat("─", w+2))
		}
		b.WriteString(r)
		b.WriteByte('\n')
	}
	line := func(cells []string, header bool) {
		b.WriteString("│")
		for i, w := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			padding := strings.Repeat(" ", w-utf8.RuneCountInString(c))
			b.WriteByte(' ')
			if t.right[i] && !(header && i == 0) {
				b.WriteString(padding + c)
			} else {
				b.WriteString(c + padding)
			}
			b.WriteString(" │")
		}
		b.WriteByte('\n')
	}
	if t.title != "" {
		tw := utf8.RuneCountInString(t.title)
		if tw < total {
			b.WriteString(strings.Repeat(" ", (total-tw)/2))
		}
		b.WriteString(t.title)
		b.WriteByte('\n')
	}
	rule("┌", "┬", "┐")
	line(t.header, true)
	for _, sec := range t.sections {
		if len(sec) == 0 {
			continue
		}
		rule("├", "┼", "┤")
		for _, row := range sec {
			line(row, false)
		}
	}
	rule("└", "┴", "┘")
}
