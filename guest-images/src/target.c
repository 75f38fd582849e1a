/* target: a long-running guest for /proc tests. It keeps a known string in a global
 * (`marker`, found through the ELF symbol table), counts in another global while it runs,
 * and prints `marker` and exits when `stop_now` becomes non-zero (a /proc client writes it
 * through mem while the process is Stopped). */
#include <stdio.h>

char marker[64] = "glass: read me through /proc/N/mem";
volatile unsigned long ticks;
volatile int stop_now;

int main(void)
{
	while (!stop_now)
		ticks++;
	printf("%s (stop_now=%d)\n", marker, stop_now);
	return 0;
}
