// Package ci holds the tests of the CI scripts in .ci/, which Go does not
// build (a directory starting with a dot is not a package).
package ci
