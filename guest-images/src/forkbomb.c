/* forkbomb: fork children that wait, until fork fails; print how it failed (its errno
 * name), then kill and reap the children and exit 0. With an argument N it stops at N
 * children at most. The limits tests run it under --max-procs and RLIMIT_NPROC. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t kids[100000];

int main(int argc, char **argv)
{
	long max = argc > 1 ? strtol(argv[1], 0, 10) : 100000;
	long n = 0;
	int err = 0;
	while (n < max) {
		pid_t p = fork();
		if (p < 0) {
			err = errno;
			break;
		}
		if (p == 0) {
			pause();
			_exit(0);
		}
		kids[n++] = p;
	}
	printf("forkbomb: %ld children, then %s\n", n, err == EAGAIN ? "EAGAIN" : err == ENOMEM ? "ENOMEM" : err ? strerror(err) : "stopped");
	fflush(stdout);
	for (long i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	long reaped = 0;
	while (wait(0) > 0)
		reaped++;
	printf("forkbomb: reaped %ld\n", reaped);
	return 0;
}
