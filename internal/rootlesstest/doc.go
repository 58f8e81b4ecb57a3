// Package rootlesstest tries netlab as a user who is not root, from
// outside, as such a user would: it runs the netlab binary (built by the
// tests, or given with -netlab) as an unused uid of the tests' own when
// they run as root, or as the user running them otherwise. It has tests
// only.
package rootlesstest
