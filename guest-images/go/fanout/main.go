// fanout: CPU-bound work fanned out over GOMAXPROCS worker goroutines and gathered in
// order: the primes below a bound counted in chunks, with a mutex-protected tally.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func main() {
	const limit, chunks = 200000, 16
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan int)
	counts := make([]int, chunks)
	var mu sync.Mutex
	tally := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				n := 0
				for i := c * limit / chunks; i < (c+1)*limit/chunks; i++ {
					if isPrime(i) {
						n++
					}
				}
				counts[c] = n
				mu.Lock()
				tally += n
				mu.Unlock()
			}
		}()
	}
	for c := 0; c < chunks; c++ {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	fmt.Println("workers", workers)
	fmt.Println("chunks", counts)
	fmt.Println("primes below", limit, tally)
}
