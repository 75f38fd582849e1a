/* forktree: create N processes (default 1000) as a tree of depth 2 fan-out, each child
 * writing one line into a pipe its parent reads; the root prints how many it received.
 * Exercises fork, pipe, read/write, exit and wait at scale in one machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static int spawn(int n) /* n children, each writing "x\n"; returns lines read */
{
	int p[2], got = 0;
	char buf[256];
	ssize_t r;
	if (pipe(p))
		return -1;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			close(p[0]);
			if (write(p[1], "x\n", 2) != 2)
				_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	while ((r = read(p[0], buf, sizeof buf)) > 0)
		for (ssize_t k = 0; k < r; k++)
			got += buf[k] == '\n';
	close(p[0]);
	for (int i = 0; i < n; i++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return -1;
	}
	return got;
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 1000;
	int fan = 25, groups = total / fan, sum = 0;
	int p[2];
	if (pipe(p))
		return 2;
	/* groups of middle processes, each spawning `fan` leaves */
	for (int g = 0; g < groups; g++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			int got = spawn(fan - 1);
			char line[32];
			int len = snprintf(line, sizeof line, "%d\n", got + 1);
			if (write(p[1], line, len) != len)
				_exit(1);
			_exit(got == fan - 1 ? 0 : 1);
		}
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	int v;
	while (f && fscanf(f, "%d", &v) == 1)
		sum += v;
	int ok = 1;
	for (int g = 0; g < groups; g++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			ok = 0;
	}
	printf("forktree: %d processes reported, %s\n", sum, ok ? "all exited 0" : "FAILURES");
	return ok && sum == groups * fan ? 0 : 1;
}
