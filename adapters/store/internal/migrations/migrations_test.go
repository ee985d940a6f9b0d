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

func TestLoadContinuesAcrossPatterns(t *testing.T) {
	fsys := fstest.MapFS{
		"m/1_a.sql":       {Data: []byte("a")},
		"m/2_b.sql":       {Data: []byte("b")},
		"m/kind/3_c.sql":  {Data: []byte("c")},
		"m/other/3_d.sql": {Data: []byte("d")},
		"m/gap/4_e.sql":   {Data: []byte("e")},
	}
	migs, err := Load(fsys, "m/*.sql", "m/kind/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 3 || migs[2].Name != "3_c.sql" || migs[2].Version != 3 {
		t.Fatalf("got %+v", migs)
	}
	if _, err := Load(fsys, "m/*.sql", "m/gap/*.sql"); err == nil {
		t.Fatal("a gap between the patterns loaded")
	}
}
