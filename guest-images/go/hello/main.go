// hello: goroutines exchanging values over channels, a sync.WaitGroup, and time.Sleep
// (the runtime's timers wait in epoll_pwait): the first Go programs Glass runs.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func main() {
	fmt.Println("hello from go on", runtime.GOARCH)
	results := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			s := 0
			for j := 0; j < 200000*(n+1); j++ {
				s += j % 7
			}
			results <- s
		}(i)
	}
	go func() { wg.Wait(); close(results) }()
	total := 0
	for v := range results {
		total += v
	}
	fmt.Println("total", total)
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept at least 20ms:", time.Since(start) >= 20*time.Millisecond)
	ticker := time.NewTicker(5 * time.Millisecond)
	for i := 0; i < 3; i++ {
		<-ticker.C
	}
	ticker.Stop()
	fmt.Println("three ticks")
}
