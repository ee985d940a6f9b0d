package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vitalsync/vitalsync/audit"
)

// FuzzCSV: any input either fails its schema check before the first row or
// is audited in full, every line counted, without a panic.
func FuzzCSV(f *testing.F) {
	head := strings.Join(audit.Columns(), ",") + "\n"
	f.Add(head + `i1,ios,1.8.1,,true,u,v,,,"configured,signedIn,useSignInToken",V,,,token,,,2026-11-19T10:00:00Z,v` + "\n")
	f.Add(head + `i2,android,4.2.1,,1,u,v,production,eu,"configured",,,,token,network,2026-11-19T10:05:00+01:00,2026-11-19T10:00:00.5Z,` + "\n")
	f.Add(head + "\"a\"\"b\",\"\n,,\r\n\n")
	f.Add("installation_id\n")
	f.Fuzz(func(t *testing.T, data string) {
		var invalid int64
		s, err := audit.Run(context.Background(), csvSource([]byte(data)), func(fd *audit.Finding) error {
			if fd.Class == audit.Invalid {
				invalid++
				if fd.Line < 2 {
					t.Fatalf("invalid row without its line: %+v", fd)
				}
			}
			return nil
		}, audit.Options{Workers: 1})
		if err != nil {
			return
		}
		if s.Classes[audit.Invalid] != invalid {
			t.Fatalf("%d invalid counted, %d named", s.Classes[audit.Invalid], invalid)
		}
	})
}
