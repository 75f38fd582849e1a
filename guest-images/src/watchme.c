/* watchme: the watchpoint tests' guest. main's loop reads `source` (never written), then
 * writes the global `counter` (a load and a store), and calls `tick`; it prints the
 * totals at the end, so a run where no watchpoint fired can be compared with a native
 * run. */
#include <stdio.h>

volatile long counter;
volatile long source = 3;
volatile long ticks;

__attribute__((noinline)) void tick(void)
{
	ticks = ticks + 1;
}

int main(void)
{
	long total = 0;
	for (int i = 0; i < 1000; i++) {
		total += source;
		counter = counter + 1;
		tick();
	}
	printf("counter=%ld total=%ld ticks=%ld\n", counter, total, ticks);
	return 0;
}
