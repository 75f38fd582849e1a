/* hello: the smallest guest — prints "hello from glass" and exits 0. */
#include <stdio.h>

int main(void)
{
	puts("hello from glass");
	return 0;
}
