/* bench_threads: thread workloads for the emulation benchmark (glass bench).
 * Usage: bench_threads pingpong N   two threads hand a futex word back and forth N times
 *        bench_threads create N     N rounds of pthread_create + pthread_join
 * Prints a line with the count so the work cannot be optimised away. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile uint32_t turn;
static long rounds;

static void wait_for(uint32_t want)
{
	uint32_t v;
	while ((v = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != want)
		syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void hand_to(uint32_t who)
{
	__atomic_store_n(&turn, who, __ATOMIC_RELEASE);
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pong(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		wait_for(1);
		hand_to(0);
	}
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? strtol(argv[2], 0, 10) : 100000;
	if (argc > 1 && strcmp(argv[1], "pingpong") == 0) {
		pthread_t t;
		rounds = n;
		pthread_create(&t, NULL, pong, NULL);
		for (long i = 0; i < n; i++) {
			hand_to(1);
			wait_for(0);
		}
		pthread_join(t, NULL);
		printf("pingpong %ld\n", n);
	} else if (argc > 1 && strcmp(argv[1], "create") == 0) {
		long sum = 0;
		for (long i = 0; i < n; i++) {
			pthread_t t;
			void *r;
			pthread_create(&t, NULL, nothing, (void *)i);
			pthread_join(t, &r);
			sum += (long)r;
		}
		printf("create %ld %ld\n", n, sum);
	} else {
		fprintf(stderr, "usage: bench_threads pingpong|create N\n");
		return 2;
	}
	return 0;
}
