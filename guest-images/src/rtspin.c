/* rtspin: the real-time scheduling tests' guest. `rtspin N MS`: the first process forks
 * N-1 children; every process spins until MS milliseconds of CLOCK_MONOTONIC have passed
 * since the start, then prints its pid and the CPU time it got (CLOCK_PROCESS_CPUTIME_ID,
 * in microseconds); the first process then waits for the children. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	long long end = (argc > 2 ? atoll(argv[2]) : 300) * 1000000LL;
	long long t0 = ns(CLOCK_MONOTONIC);
	int child = 0;
	for (int i = 1; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			child = 1;
			break;
		}
	}
	volatile unsigned long x = 0;
	while (ns(CLOCK_MONOTONIC) - t0 < end)
		for (int k = 0; k < 1000; k++)
			x++;
	printf("%d %lld\n", getpid(), ns(CLOCK_PROCESS_CPUTIME_ID) / 1000);
	fflush(stdout);
	if (!child)
		while (wait(NULL) > 0)
			;
	return 0;
}
