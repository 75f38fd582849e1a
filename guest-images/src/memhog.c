/* memhog: map N MiB (default 64) of anonymous memory, fill it with a known pattern (each
 * 8-byte word holds its own offset), then wait for a signal. The /proc throughput benchmark
 * reads it through /proc/N/mem and checks the pattern. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 64;
	size_t len = mib << 20;
	uint64_t *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < len / 8; i++)
		p[i] = i * 8;
	pause();
	return 0;
}
