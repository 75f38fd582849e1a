/* bigbss: a program with 1 GiB of bss (zero-initialised data the ELF only declares). It
 * touches argv[1] MiB of it (default 0), one byte per page, then prints what it touched.
 * Linux maps bss lazily: untouched, it costs no memory. The limits tests run it. */
#include <stdio.h>
#include <stdlib.h>

/* Not static, so the compiler keeps it whole. */
char bss[1 << 30];

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 0;
	size_t sum = 0;
	for (size_t i = 0; i < (mib << 20) && i < sizeof bss; i += 4096) {
		((volatile char *)bss)[i] = 1;
		sum += ((volatile char *)bss)[i];
	}
	printf("bigbss: touched %zu pages\n", sum);
	return 0;
}
