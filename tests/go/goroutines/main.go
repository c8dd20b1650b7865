// Goroutines that each print their id, as runtime.Stack names it, then make a slow syscall:
// tracer's --slow lines must carry the same ids.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// goid is the N of runtime.Stack's "goroutine N [running]:" header.
func goid() string {
	buf := make([]byte, 64)
	return strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1]
}

//go:noinline
func slowSyscall(ms int64) {
	ts := syscall.NsecToTimespec(ms * 1_000_000)
	for {
		var left syscall.Timespec
		err := syscall.Nanosleep(&ts, &left)
		if err != syscall.EINTR {
			return
		}
		ts = left
	}
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	// Rounds of n goroutines (default one), for a tracer attached meanwhile.
	rounds := 1
	if len(os.Args) > 2 {
		rounds, _ = strconv.Atoi(os.Args[2])
	}
	// Time for the tracer to read this binary's Go version after its exec.
	time.Sleep(500 * time.Millisecond)
	var out sync.Mutex
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := goid()
				out.Lock()
				fmt.Println("goroutine", id)
				out.Unlock()
				slowSyscall(40)
			}()
		}
		wg.Wait()
	}
}
