package migrations

import (
	"testing"
	"testing/fstest"
)

func TestLoadOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"m/2_b.sql": {Data: []byte("CREATE TABLE b (x);")},
		"m/1_a.sql": {Data: []byte("CREATE TABLE a (x);")},
	}
	migs, err := Load(fsys, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || migs[0].Version != 1 || migs[0].Name != "1_a.sql" || migs[1].SQL != "CREATE TABLE b (x);" {
		t.Fatalf("got %+v", migs)
	}
}

func TestLoadRefusesAGapOrABadName(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/1_a.sql": {}, "m/3_c.sql": {}},
		"no number": {"m/1_a.sql": {}, "m/x_b.sql": {}},
		"no suffix": {"m/1.sql": {}},
	} {
		if _, err := Load(fsys, "m/*.sql"); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
