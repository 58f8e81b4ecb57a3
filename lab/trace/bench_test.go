package trace

import "testing"

// BenchmarkAssemble measures the reading of a real trace (the masquerade
// fixture: a request and its answer across three namespaces and a
// bridge): what netlab trace does after the probe, besides waiting.
func BenchmarkAssemble(b *testing.B) {
	events, observed := loadKernelFixture(b, "kernel-udp-masquerade")
	hops := hopsOf(observed)
	b.ReportAllocs()
	for b.Loop() {
		if r := Assemble(events, observed, hops, nil); r.Request == nil {
			b.Fatal("no request")
		}
	}
}
