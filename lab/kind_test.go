package lab_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"netlab/lab"
	"netlab/lab/state"
)

// TestOneKindType: the model's interface kind and the observed link's
// kind are one type, so that a kind flows from the lab file to the kernel
// without a conversion, and a constant of the one type names it.
func TestOneKindType(t *testing.T) {
	model := reflect.TypeFor[lab.Interface]()
	observed := reflect.TypeFor[state.Link]()
	mk, _ := model.FieldByName("Kind")
	ok, _ := observed.FieldByName("Kind")
	if mk.Type != ok.Type {
		t.Fatalf("lab.Interface.Kind is a %v, state.Link.Kind a %v: want one type", mk.Type, ok.Type)
	}
	if mk.Type.PkgPath() != "netlab/lab/device" {
		t.Errorf("the kind type is %s.%s, want it in netlab/lab/device, which every package may import", mk.Type.PkgPath(), mk.Type.Name())
	}
}

// TestKindJSONUnchanged: the record of the last up (a state.State as
// JSON) and status -o json hold a kind as its plain text, before and
// after the kind became a type.
func TestKindJSONUnchanged(t *testing.T) {
	const old = `{"Name":"eth0","Kind":"veth"}`
	var l state.Link
	if err := json.Unmarshal([]byte(old), &l); err != nil {
		t.Fatal(err)
	}
	if l.Kind != "veth" {
		t.Fatalf("kind read from a record = %q, want veth", l.Kind)
	}
	data, err := json.Marshal(&l)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back["Kind"] != "veth" {
		t.Errorf("kind written to a record = %#v, want the string veth (%s)", back["Kind"], data)
	}
}
