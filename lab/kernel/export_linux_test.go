package kernel

// LoReads is how many markers k has read over netlink (lo's alias), for
// the tests of package kernel_test that count them.
func LoReads(k *Linux) int64 { return k.loReads.Load() }
