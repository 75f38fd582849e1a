/* bench_scatter: a store loop over a 16 MiB heap buffer in a scattered (hash-like) order, the
 * access pattern of hash tables, sorts and allocators, for the emulation benchmark (glass
 * bench). Usage: bench_scatter [PASSES]; each pass stores to every word once, in the order
 * i * 2654435761 mod 2^22 (an odd multiplier: a permutation of the 4 Mi word indexes). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#define WORDS (1u << 22) /* 16 MiB of uint32_t */

int main(int argc, char **argv)
{
	unsigned passes = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 4;
	volatile uint32_t *buf = malloc(WORDS * sizeof(uint32_t));
	uint32_t sum = 0;
	if (!buf)
		return 1;
	for (unsigned p = 0; p < passes; p++) {
		for (uint32_t i = 0; i < WORDS; i++)
			buf[(i * 2654435761u) & (WORDS - 1)] = i + p;
		sum += buf[p % WORDS];
	}
	printf("bench_scatter %u %08x\n", passes, sum);
	return 0;
}
