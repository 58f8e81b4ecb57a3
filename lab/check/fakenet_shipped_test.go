package check_test

// notOnFake are the shipped labs whose checks prove what the fake network
// does not simulate (see kerneltest.Net), with why: TestShippedLabChecks
// runs them on the real kernel only.
var notOnFake = map[string]string{
	"macvlan.yaml":         "a macvlan cannot reach its parent's address: link-layer isolation",
	"macvlan-modes.yaml":   "private and vepa modes isolate at the link layer",
	"netfilter-hooks.yaml": "its checks depend on the firewall rules of the lab",
	"policy-routing.yaml":  "its two paths are its policy rules' doing, and the fake network routes by the main table alone",
}

// exercisesNotOnFake are the exercises whose mistake lies where the fake
// network does not look, with why: TestExercises runs them on the real
// kernel only.
var exercisesNotOnFake = map[string]string{
	"03-ip-forward":        "the mistake is a sysctl: the fake forwards through every router, ip_forward or not",
	"04-bridge-port":       "the mistake is a bridge port: the fake has no link layer",
	"07-stateful-firewall": "the mistake and its fix are firewall rules, which the fake does not read",
	"08-vxlan-vni":         "the mistake is a VXLAN VNI: the fake has no link layer",
	"10-bind-address":      "the mistake is the address a program listens on: the fake runs no programs",
	"11-firewall-path":     "the grade is path checks, which trace the kernel's netfilter hooks: the fake has no tracing",
}
