/* debugme: the debugger's test guest (built with -g like every guest image). main calls
 * compute(counter), compute calls add; afterwards main prints the global `counter`, so a
 * debugger that changes it through /proc/N/mem while the process is stopped at a
 * breakpoint sees the new value printed. */
#include <stdio.h>

int counter = 41;
volatile int sink;

__attribute__((noinline)) static int add(int a, int b)
{
	sink = a;
	return a + b;
}

__attribute__((noinline)) int compute(int x)
{
	int y = add(x, 1);
	return y * 2;
}

int main(void)
{
	int r = compute(counter);
	printf("counter=%d r=%d\n", counter, r);
	return 0;
}
