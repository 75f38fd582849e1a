/* bench_int: a CPU-bound integer loop for the emulation benchmark (glass bench).
 * Usage: bench_int [ITERATIONS]; prints a checksum so the work cannot be optimised away. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 100000000ULL;
	uint64_t x = 88172645463325252ULL, acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		/* xorshift64 plus a data-dependent branch */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (x & 1)
			acc += x >> 3;
		else
			acc ^= x;
	}
	printf("bench_int %llu %016llx\n", (unsigned long long)n, (unsigned long long)acc);
	return 0;
}
