/* memgrow: buffers that grow and shrink the ways allocators grow them, with their contents
 * checked at every step, for tests/tests/memgrow.rs (compared with native and qemu-user runs).
 * Phases: an mremap buffer grown a page at a time, shrunk and grown again; the same after a
 * partial munmap and a partial mprotect inside it; the heap grown a page at a time with sbrk,
 * shrunk and grown again (regrown pages read zero). Prints one line per phase: the number of
 * steps and a checksum of the contents; any wrong byte prints "BAD" and exits 1.
 * Usage: memgrow [PAGES] (default 600). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096L

static unsigned char pat(long page, long salt)
{
	return (unsigned char)(page * 131 + salt * 7 + 1);
}

static unsigned long check(const unsigned char *p, long pages, long salt, const char *what)
{
	unsigned long sum = 0;
	for (long i = 0; i < pages; i++) {
		if (p[i * PG] != pat(i, salt) || p[i * PG + PG - 1] != pat(i, salt)) {
			printf("BAD %s page %ld: %u\n", what, i, p[i * PG]);
			exit(1);
		}
		sum = sum * 31 + p[i * PG];
	}
	return sum;
}

static void fill(unsigned char *p, long from, long to, long salt)
{
	for (long i = from; i < to; i++) {
		p[i * PG] = pat(i, salt);
		p[i * PG + PG - 1] = pat(i, salt);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 600;

	/* mremap growth a page at a time, then shrink to half and grow back. */
	unsigned char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	fill(p, 0, 1, 1);
	for (long i = 1; i < n; i++) {
		p = mremap(p, i * PG, (i + 1) * PG, MREMAP_MAYMOVE);
		if (p == MAP_FAILED) {
			perror("mremap grow");
			return 1;
		}
		fill(p, i, i + 1, 1);
	}
	printf("mremap grow %ld %lx\n", n, check(p, n, 1, "mremap grow"));
	p = mremap(p, n * PG, n / 2 * PG, 0);
	if (p == MAP_FAILED)
		return 3;
	p = mremap(p, n / 2 * PG, n * PG, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return 4;
	for (long i = n / 2; i < n; i++)
		if (p[i * PG] != 0) {
			printf("BAD regrown mremap page %ld not zero\n", i);
			return 1;
		}
	fill(p, n / 2, n, 1);
	printf("mremap shrink+grow %lx\n", check(p, n, 1, "mremap shrink+grow"));

	/* A hole and a read-only page inside it, then more growth (the tail stays usable). */
	if (munmap(p + 10 * PG, PG) != 0 || mprotect(p + 20 * PG, PG, PROT_READ) != 0)
		return 5;
	unsigned char *q = mremap(p + 21 * PG, (n - 21) * PG, (n - 21 + 50) * PG, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		perror("mremap after hole");
		return 1;
	}
	for (long i = 0; i < n - 21; i++)
		if (q[i * PG] != pat(i + 21, 1)) {
			printf("BAD moved page %ld\n", i);
			return 1;
		}
	printf("mremap after hole %u %u %u\n", p[0], p[11 * PG], p[20 * PG]);

	/* The heap: sbrk a page at a time, shrink by half, grow back (zeros), check. */
	unsigned char *h = sbrk(0);
	h = (unsigned char *)(((uintptr_t)h + PG - 1) & ~(uintptr_t)(PG - 1));
	if (brk(h) != 0)
		return 6;
	for (long i = 0; i < n; i++) {
		if (sbrk(PG) == (void *)-1) {
			perror("sbrk");
			return 1;
		}
		fill(h, i, i + 1, 2);
	}
	printf("brk grow %ld %lx\n", n, check(h, n, 2, "brk grow"));
	if (brk(h + n / 2 * PG) != 0 || brk(h + n * PG) != 0)
		return 7;
	for (long i = n / 2; i < n; i++)
		if (h[i * PG] != 0) {
			printf("BAD regrown heap page %ld not zero\n", i);
			return 1;
		}
	fill(h, n / 2, n, 2);
	printf("brk shrink+grow %lx\n", check(h, n, 2, "brk shrink+grow"));
	return 0;
}
