package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseShard parses "K/N", shard K (from 0) of N, for Options.Shard and
// Options.Shards.
func ParseShard(s string) (k, n int, ok bool) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, false
	}
	return k, n, true
}

// ParseClasses parses a comma-separated list of classes ("" is none).
func ParseClasses(s string) ([]Class, error) {
	if s == "" {
		return nil, nil
	}
	var cs []Class
	for _, name := range strings.Split(s, ",") {
		c, ok := ParseClass(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown class %q", name)
		}
		cs = append(cs, c)
	}
	return cs, nil
}
