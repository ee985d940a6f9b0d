package audit

import (
	"strconv"
	"testing"
)

// BenchmarkSeenSetAdd is the duplicate check's cost per row of a file
// source: one hash and one map insert under a shard's lock.
func BenchmarkSeenSetAdd(b *testing.B) {
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = "installation-" + strconv.Itoa(i) + "-5f0c2a9e"
	}
	b.ReportAllocs()
	s := newSeenSet()
	b.ResetTimer()
	for i := range b.N {
		if i%len(ids) == 0 && i > 0 {
			s = newSeenSet()
		}
		s.add(ids[i%len(ids)])
	}
}

// BenchmarkCleanText is the text check's cost per field (ASCII IDs).
func BenchmarkCleanText(b *testing.B) {
	id := "installation-123456-5f0c2a9e"
	b.ReportAllocs()
	for range b.N {
		if !cleanText(id) {
			b.Fatal("not clean")
		}
	}
}
