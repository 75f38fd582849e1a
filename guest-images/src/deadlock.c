/* deadlock: two processes that each wait for the other forever — the parent reads a pipe
 * whose write end it still holds, and the child waits to read another pipe that nobody
 * writes. Glass must stop with a report naming both waits, and exit non-zero. */
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
	int a[2], b[2];
	char c;
	if (pipe(a) || pipe(b))
		return 2;
	if (fork() == 0) {
		read(b[0], &c, 1); /* nobody writes b, and we keep b[1] open */
		return 0;
	}
	read(a[0], &c, 1); /* we hold a[1] ourselves */
	wait(0);
	puts("unreachable");
	return 0;
}
