package kernel

import "runtime"

// A goroutine that changes its thread's namespace (createNetNS, InNetNS on
// a failed restore) ends without unlocking the thread, so that the runtime
// ends the thread rather than reuse it in the wrong namespace. The runtime
// cannot end the process's main thread: it parks it instead, still inside
// the namespace, which then never goes away. Pinning the main goroutine to
// the main thread keeps every other goroutine off it.
func init() { runtime.LockOSThread() }
