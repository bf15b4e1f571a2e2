// Package proctest starts shopedge's real binaries for process-level tests:
// build once, start with a clean environment, wait for the "serving" log
// line, check the standard endpoints, stop with SIGTERM and read the exit
// code. Only tests import it.
package proctest
