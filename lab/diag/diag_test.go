package diag

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestText(t *testing.T) {
	tests := []struct {
		name string
		d    Diagnostic
		want string
	}{
		{"no hint", Diagnostic{Pos: Pos{"a.yaml", 3, 5}, Msg: "lab has no name"}, "a.yaml:3:5: lab has no name"},
		{"fix after colon", Diagnostic{Pos: Pos{"a.yaml", 9, 5}, Msg: "name too long", Hint: "shorten it"}, "a.yaml:9:5: name too long: shorten it"},
		{"suggestion in parentheses", Diagnostic{Pos: Pos{"a.yaml", 1, 1}, Msg: `unknown field "adresses"`, Hint: `did you mean "addresses"?`},
			`a.yaml:1:1: unknown field "adresses" (did you mean "addresses"?)`},
		{"line only", Diagnostic{Pos: Pos{"a.yaml", 4, 0}, Msg: "YAML syntax: x"}, "a.yaml:4: YAML syntax: x"},
		{"file only", Diagnostic{Pos: Pos{File: "a.yaml"}, Msg: "cannot read lab file"}, "a.yaml: cannot read lab file"},
		{"warning", Diagnostic{Pos: Pos{"a.yaml", 2, 2}, Severity: Warning, Msg: "odd"}, "a.yaml:2:2: warning: odd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSortAndErr(t *testing.T) {
	var l List
	l.Errorf(Pos{"b.yaml", 1, 1}, "b")
	l.Errorf(Pos{"a.yaml", 9, 1}, "late")
	l.Errorf(Pos{"a.yaml", 2, 7}, "early")
	l.Errorf(Pos{"a.yaml", 2, 7}, "early") // an exact repeat is dropped
	l.Warnf(Pos{"a.yaml", 2, 3}, "w")
	l.Sort()
	var got []string
	for _, d := range l {
		got = append(got, d.String())
	}
	want := []string{"a.yaml:2:3: warning: w", "a.yaml:2:7: early", "a.yaml:9:1: late", "b.yaml:1:1: b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
	err := l.Err()
	if err == nil || !strings.Contains(err.Error(), "a.yaml:9:1: late") {
		t.Fatalf("Err() = %v, want all diagnostics", err)
	}
	back, ok := AsList(err)
	if !ok || len(back) != len(l) {
		t.Errorf("AsList gave %d diagnostics, %v; want %d", len(back), ok, len(l))
	}
	var warnings List
	warnings.Warnf(Pos{}, "only a warning")
	if warnings.HasErrors() || warnings.Err() != nil {
		t.Error("a list of warnings counts as having errors")
	}
}

func TestJSON(t *testing.T) {
	var l List
	data, err := json.Marshal(l)
	if err != nil || string(data) != "[]" {
		t.Fatalf("empty list encodes as %s, %v; want []", data, err)
	}
	l.Hintf(Pos{"a.yaml", 3, 4}, "shorten it", "too long")
	data, err = json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"file":"a.yaml","line":3,"col":4,"severity":"error","message":"too long","hint":"shorten it"}]`
	if string(data) != want {
		t.Errorf("JSON = %s, want %s", data, want)
	}
}

func TestRelFile(t *testing.T) {
	tests := []struct{ dir, path, want string }{
		{"/home/u/labs", "/home/u/labs/a.yaml", "a.yaml"},
		{"/home/u/labs", "/home/u/labs/x/a.yaml", "x/a.yaml"},
		{"/home/u/labs", "/etc/a.yaml", "/etc/a.yaml"},
		{"/home/u/labs", "/home/u/labsx/a.yaml", "/home/u/labsx/a.yaml"},
		{"/home/u", "rel.yaml", "rel.yaml"},
	}
	for _, tc := range tests {
		if got := RelFile(tc.dir, tc.path); got != tc.want {
			t.Errorf("RelFile(%q, %q) = %q, want %q", tc.dir, tc.path, got, tc.want)
		}
	}
}
