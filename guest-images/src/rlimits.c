/* rlimits: setrlimit(2) and what each limit does, printed so a native run and a glass run
 * can be compared line by line. Each case runs in a child (so one limit does not leak into
 * the next) and prints errno names and signal numbers only, never host-dependent values.
 * Usage: rlimits [case]; with no case it runs nofile, fsize, fsize-signal, as, data,
 * stack. The case `cpu` (RLIMIT_CPU: SIGXCPU then SIGKILL) is run on its own; `deep`
 * uses 1 MiB of stack, `deep-later` does so after sleeping a second. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case 0: return "ok";
	case EMFILE: return "EMFILE";
	case EBADF: return "EBADF";
	case EFBIG: return "EFBIG";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EAGAIN: return "EAGAIN";
	default: return strerror(e);
	}
}

static void lim(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit r = { soft, hard };
	if (setrlimit(res, &r) != 0) {
		printf("setrlimit %d: %s\n", res, ename(errno));
		exit(1);
	}
}

static void nofile(void)
{
	lim(RLIMIT_NOFILE, 10, 20);
	int last = -1, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	printf("nofile: last fd %d, then %s\n", last, ename(errno));
	errno = 0;
	printf("nofile: dup2 to 10: %s\n", dup2(0, 10) < 0 ? ename(errno) : "ok");
	int p[2];
	close(last);
	printf("nofile: pipe with one fd free: %s\n", pipe(p) < 0 ? ename(errno) : "ok");
	printf("nofile: fcntl F_DUPFD 10: %s\n", fcntl(0, F_DUPFD, 10) < 0 ? ename(errno) : "ok");
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
	printf("nofile: raise to infinity: %s\n", setrlimit(RLIMIT_NOFILE, &r) < 0 ? ename(errno) : "ok");
}

static void fsize(void)
{
	signal(SIGXFSZ, SIG_IGN);
	lim(RLIMIT_FSIZE, 4096, 4096);
	int fd = open("/tmp/rlimits-fsize", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static char buf[5000];
	ssize_t n = write(fd, buf, sizeof buf);
	printf("fsize: write 5000 at 0: %zd\n", n);
	errno = 0;
	n = write(fd, buf, 10);
	printf("fsize: write 10 at 4096: %zd %s\n", n, ename(errno));
	n = pwrite(fd, buf, 10, 100);
	printf("fsize: pwrite 10 at 100: %zd\n", n);
	unlink("/tmp/rlimits-fsize");
}

static void fsize_signal(void)
{
	lim(RLIMIT_FSIZE, 100, 100);
	int fd = open("/tmp/rlimits-fsize2", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static char buf[200];
	write(fd, buf, 100);
	write(fd, buf, 1);
	printf("fsize-signal: still alive\n");
}

static void as(void)
{
	lim(RLIMIT_AS, 256 << 20, 256 << 20);
	void *p = mmap(0, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("as: mmap 512 MiB: %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	p = malloc(512 << 20);
	printf("as: malloc 512 MiB: %s\n", p ? "ok" : "NULL");
	p = mmap(0, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("as: mmap 16 MiB: %s\n", p == MAP_FAILED ? ename(errno) : "ok");
}

static void data(void)
{
	lim(RLIMIT_DATA, 64 << 20, 64 << 20);
	errno = 0;
	void *p = sbrk(128 << 20);
	printf("data: sbrk 128 MiB: %s\n", p == (void *)-1 ? ename(errno) : "ok");
	p = mmap(0, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("data: mmap 128 MiB writable: %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	p = mmap(0, 128 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("data: mmap 128 MiB read-only: %s\n", p == MAP_FAILED ? ename(errno) : "ok");
}

static int deep(int n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	return n == 0 ? pad[0] : deep(n - 1) + pad[0];
}

static void stack(char *self)
{
	/* The stack limit applies to the next exec: a 256 KiB stack cannot hold 1 MiB of
	 * frames (SIGSEGV), an 8 MiB one can. */
	lim(RLIMIT_STACK, 256 << 10, RLIM_INFINITY);
	execl(self, self, "deep", (char *)0);
	printf("stack: exec failed: %s\n", ename(errno));
}

static void cpu(void)
{
	signal(SIGXCPU, SIG_IGN);
	lim(RLIMIT_CPU, 1, 2);
	for (volatile unsigned long i = 0;; i++)
		;
}

static void run(const char *name, void (*f)(void))
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		f();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", name, WTERMSIG(st));
	else
		printf("%s: exit %d\n", name, WEXITSTATUS(st));
}

static char *self;
static void stack_case(void) { stack(self); }

int main(int argc, char **argv)
{
	self = argv[0];
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc > 1 && strcmp(argv[1], "deep-later") == 0) {
		/* Wait a (virtual) second first, so other processes can fill the machine. */
		sleep(1);
		printf("deep-later: %d\n", deep(256));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "deep") == 0) {
		printf("deep: %d\n", deep(256));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "cpu") == 0) {
		run("cpu", cpu);
		return 0;
	}
	run("nofile", nofile);
	run("fsize", fsize);
	run("fsize-signal", fsize_signal);
	run("as", as);
	run("data", data);
	run("stack", stack_case);
	return 0;
}
