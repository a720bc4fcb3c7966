// Package wordmatch compares two readings of a page by their words, for
// tests and benchmarks that check one reading against another.
package wordmatch

// Common is how many words a and b have in common, counted with
// multiplicity: a word twice in each counts twice, twice in one and once in
// the other counts once.
func Common(a, b []string) int {
	count := make(map[string]int, len(a))
	for _, w := range a {
		count[w]++
	}
	common := 0
	for _, w := range b {
		if count[w] > 0 {
			count[w]--
			common++
		}
	}
	return common
}

// Recall is the share of want's words that got holds (see Common); 0 when
// want has none.
func Recall(want, got []string) float64 {
	if len(want) == 0 {
		return 0
	}
	return float64(Common(want, got)) / float64(len(want))
}
