// A Go program whose slow syscalls come from a function of known name: tracer's --stacks must
// show Go function names (main.handler), read from the binary's own symbol table.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// handler sleeps in a syscall of its own goroutine's thread, as a blocking read would.
//
//go:noinline
func handler(ms int64) {
	ts := syscall.NsecToTimespec(ms * 1_000_000)
	// The runtime's preemption signal (SIGURG) can interrupt the sleep: sleep what is left.
	for {
		var left syscall.Timespec
		err := syscall.Nanosleep(&ts, &left)
		if err == nil {
			return
		}
		if err != syscall.EINTR {
			fmt.Fprintln(os.Stderr, "nanosleep:", err)
			os.Exit(1)
		}
		ts = left
	}
}

func main() {
	calls, _ := strconv.Atoi(os.Args[1])
	ms, _ := strconv.ParseInt(os.Args[2], 10, 64)
	for i := 0; i < calls; i++ {
		handler(ms)
	}
}
