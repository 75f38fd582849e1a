/* bench_store: a store-heavy loop over a few MiB of heap for the emulation benchmark
 * (glass bench). Usage: bench_store [PASSES]; each pass writes every word of a 4 MiB buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#define WORDS (1u << 20) /* 4 MiB of uint32_t */

int main(int argc, char **argv)
{
	unsigned passes = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 50;
	volatile uint32_t *buf = malloc(WORDS * sizeof(uint32_t));
	uint32_t sum = 0;
	if (!buf)
		return 1;
	for (unsigned p = 0; p < passes; p++) {
		for (uint32_t i = 0; i < WORDS; i++)
			buf[i] = i * 2654435761u + p;
		sum += buf[p % WORDS];
	}
	printf("bench_store %u %08x\n", passes, sum);
	return 0;
}
