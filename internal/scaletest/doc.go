// Package scaletest holds the slow tests of netlab at a thousand nodes:
// the netlab binary, built by the test and run as a user runs it, brings
// up a 1000-node lab, checks it, finds nothing to change on a second up,
// and leaves nothing after down; and up and down killed with SIGKILL at
// random moments converge. They need root, and take tens of seconds, so
// they are a package of their own: go test ./... runs them beside the
// other packages, never inside one, and one at a time.
package scaletest
