/* nullderef: a guest that reads through a NULL pointer, for /proc's Broken-process tests.
 * `nullderef` faults in its own main; `nullderef child` forks a child that faults, waits for
 * it (printing the signal the wait status carries) and then pauses forever, so a /proc client
 * can read the parent's `wait` file and the Broken child's `status`, `segment` and `regs`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int deref(volatile int *p)
{
	return *p;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		pid_t c = fork();
		if (c == 0)
			return deref(NULL);
		int st = 0;
		waitpid(c, &st, 0);
		if (WIFSIGNALED(st))
			printf("child killed by signal %d\n", WTERMSIG(st));
		else
			printf("child exited %d\n", WEXITSTATUS(st));
		fflush(stdout);
		for (;;)
			pause();
	}
	return deref(NULL);
}
