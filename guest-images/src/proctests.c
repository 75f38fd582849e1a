/* proctests: process tests in the xv6 usertests spirit — fork, exec, wait, pipes, signals.
 * Each test prints exactly "test NAME: OK" or "test NAME: FAILED (reason)", then a summary
 * line "N passed, M failed"; exit status 0 iff all passed. The output never depends on pids,
 * times or the host, so a native run and a run under glass print the same bytes.
 * Usage: proctests            run all tests
 *        proctests --exit N   exit with status N at once (the exec target) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static int passed, failed;
static char self[4096];

static void report(const char *name, int ok, const char *why)
{
	if (ok) {
		printf("test %s: OK\n", name);
		passed++;
	} else {
		printf("test %s: FAILED (%s)\n", name, why);
		failed++;
	}
	fflush(stdout);
}

#define CHECK(name, cond) report(name, (cond), #cond)

static int child_status(pid_t pid)
{
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static void t_fork_wait(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	int st = child_status(p);
	CHECK("fork_wait_exit_status", p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

static int global = 1;
static void t_fork_memory(void)
{
	pid_t p = fork();
	if (p == 0) {
		global = 42;
		_exit(global == 42 ? 0 : 1);
	}
	int st = child_status(p);
	CHECK("fork_memory_isolated", WIFEXITED(st) && WEXITSTATUS(st) == 0 && global == 1);
}

static void t_exec(void)
{
	pid_t p = fork();
	if (p == 0) {
		char *argv[] = { self, "--exit", "5", 0 };
		execv(self, argv);
		_exit(99);
	}
	int st = child_status(p);
	CHECK("exec_self_exit_status", WIFEXITED(st) && WEXITSTATUS(st) == 5);
}

static void t_exec_enoent(void)
{
	char *argv[] = { "nope", 0 };
	int r = execv("/no/such/program", argv);
	CHECK("exec_missing_enoent", r == -1 && errno == ENOENT);
}

static volatile int vfork_seen;

static void t_vfork(void)
{
	vfork_seen = 0;
	pid_t p = vfork();
	if (p == 0) {
		/* The child runs in the parent's memory until it execs or exits. */
		vfork_seen = 42;
		_exit(3);
	}
	int st = child_status(p);
	CHECK("vfork_exit_status", WIFEXITED(st) && WEXITSTATUS(st) == 3);
	CHECK("vfork_child_write_seen_by_parent", vfork_seen == 42);
	/* posix_spawn reports a failed exec through the memory it shares with the child. */
	char *argv[] = { "nope", 0 };
	pid_t sp;
	int r = posix_spawn(&sp, "/no/such/program", NULL, NULL, argv, NULL);
	CHECK("posix_spawn_missing_enoent", r == ENOENT);
	char *true_argv[] = { "true", 0 };
	r = posix_spawn(&sp, "/bin/true", NULL, NULL, true_argv, NULL);
	int st2 = r == 0 ? child_status(sp) : -1;
	CHECK("posix_spawn_true", r == 0 && WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
}

static void t_pipe(void)
{
	int fd[2];
	char buf[32] = { 0 };
	if (pipe(fd)) {
		report("pipe_across_fork", 0, "pipe");
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		close(fd[0]);
		write(fd[1], "through the pipe", 16);
		_exit(0);
	}
	close(fd[1]);
	ssize_t n = read(fd[0], buf, sizeof buf - 1);
	ssize_t eof = read(fd[0], buf + 20, 4);
	close(fd[0]);
	child_status(p);
	CHECK("pipe_across_fork", n == 16 && strcmp(buf, "through the pipe") == 0);
	CHECK("pipe_eof_after_writer_exits", eof == 0);
}

static void t_pipe_big(void)
{
	/* More than the pipe's capacity: the writer blocks until the reader drains. */
	int fd[2];
	if (pipe(fd)) {
		report("pipe_blocking_large_transfer", 0, "pipe");
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		static char b[200000];
		memset(b, 'x', sizeof b);
		close(fd[0]);
		size_t off = 0;
		while (off < sizeof b) {
			ssize_t w = write(fd[1], b + off, sizeof b - off);
			if (w <= 0)
				_exit(1);
			off += w;
		}
		_exit(0);
	}
	close(fd[1]);
	long total = 0;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd[0], buf, sizeof buf)) > 0)
		total += n;
	close(fd[0]);
	int st = child_status(p);
	CHECK("pipe_blocking_large_transfer", total == 200000 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void t_pipe_nonblock(void)
{
	int fd[2];
	char c;
	if (pipe2(fd, O_NONBLOCK)) {
		report("pipe_nonblock_eagain", 0, "pipe2");
		return;
	}
	ssize_t r = read(fd[0], &c, 1);
	CHECK("pipe_nonblock_eagain", r == -1 && errno == EAGAIN);
	close(fd[0]);
	close(fd[1]);
}

static void t_epipe(void)
{
	int fd[2];
	if (pipe(fd)) {
		report("pipe_epipe", 0, "pipe");
		return;
	}
	close(fd[0]);
	signal(SIGPIPE, SIG_IGN);
	ssize_t w = write(fd[1], "x", 1);
	CHECK("pipe_epipe_when_no_reader", w == -1 && errno == EPIPE);
	signal(SIGPIPE, SIG_DFL);
	pid_t p = fork();
	if (p == 0) {
		write(fd[1], "x", 1);
		_exit(0);
	}
	int st = child_status(p);
	CHECK("pipe_sigpipe_kills_writer", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
	close(fd[1]);
}

static void t_dup2_redirect(void)
{
	int fd[2];
	char buf[16] = { 0 };
	if (pipe(fd)) {
		report("dup2_redirects_stdout", 0, "pipe");
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		printf("redirected");
		fflush(stdout);
		_exit(0);
	}
	close(fd[1]);
	read(fd[0], buf, sizeof buf - 1);
	close(fd[0]);
	child_status(p);
	CHECK("dup2_redirects_stdout", strcmp(buf, "redirected") == 0);
}

static volatile sig_atomic_t got;
static void on_sig(int s) { got = s; }

static void t_signal_handler(void)
{
	got = 0;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, 0);
	raise(SIGUSR1);
	CHECK("signal_handler_runs", got == SIGUSR1);
}

static void t_signal_mask(void)
{
	sigset_t s, pend;
	got = 0;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, 0);
	raise(SIGUSR1);
	sigpending(&pend);
	int held = got == 0 && sigismember(&pend, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &s, 0);
	CHECK("signal_blocked_then_delivered", held && got == SIGUSR1);
}

static volatile sig_atomic_t chld;
static void on_chld(int s) { (void)s; chld++; }

static void t_sigchld(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, 0);
	chld = 0;
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	child_status(p);
	CHECK("sigchld_on_child_exit", chld >= 1);
	signal(SIGCHLD, SIG_DFL);
}

static void t_kill_child(void)
{
	pid_t p = fork();
	if (p == 0) {
		for (;;)
			pause();
	}
	kill(p, SIGTERM);
	int st = child_status(p);
	CHECK("kill_child_sigterm", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
}

static void t_stop_continue(void)
{
	pid_t p = fork();
	if (p == 0) {
		for (;;)
			pause();
	}
	kill(p, SIGSTOP);
	int st;
	pid_t r = waitpid(p, &st, WUNTRACED);
	int stopped = r == p && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
	kill(p, SIGCONT);
	kill(p, SIGKILL);
	st = child_status(p);
	CHECK("sigstop_reported_by_wuntraced", stopped && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static sigjmp_buf jb;
static void on_segv(int s) { siglongjmp(jb, s); }

static void t_sigsegv(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_segv;
	sigaction(SIGSEGV, &sa, 0);
	int r = sigsetjmp(jb, 1);
	if (r == 0)
		*(volatile int *)16 = 1;
	signal(SIGSEGV, SIG_DFL);
	CHECK("fault_becomes_sigsegv_handler", r == SIGSEGV);
	pid_t p = fork();
	if (p == 0) {
		*(volatile int *)16 = 1;
		_exit(0);
	}
	int st = child_status(p);
	CHECK("unhandled_fault_kills_with_sigsegv", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

static void t_alarm_eintr(void)
{
	int fd[2];
	char c;
	if (pipe(fd)) {
		report("alarm_interrupts_read", 0, "pipe");
		return;
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sig;
	sigaction(SIGALRM, &sa, 0); /* no SA_RESTART */
	got = 0;
	alarm(1);
	ssize_t r = read(fd[0], &c, 1); /* we hold the write end: blocks until the alarm */
	CHECK("alarm_interrupts_read_eintr", r == -1 && errno == EINTR && got == SIGALRM);
	close(fd[0]);
	close(fd[1]);
	signal(SIGALRM, SIG_DFL);
}

static void t_wnohang(void)
{
	int fd[2];
	char c;
	if (pipe(fd)) {
		report("waitpid_wnohang", 0, "pipe");
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		close(fd[1]);
		read(fd[0], &c, 1);
		_exit(0);
	}
	int st;
	pid_t r = waitpid(p, &st, WNOHANG);
	close(fd[1]);
	close(fd[0]);
	child_status(p);
	CHECK("waitpid_wnohang_running_child", r == 0);
	CHECK("wait_no_children_echild", wait(&st) == -1 && errno == ECHILD);
}

static void t_pgrp(void)
{
	pid_t p = fork();
	if (p == 0) {
		if (setpgid(0, 0))
			_exit(1);
		_exit(getpgrp() == getpid() ? 0 : 2);
	}
	int st = child_status(p);
	CHECK("setpgid_new_group", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void t_poll(void)
{
	int fd[2];
	if (pipe(fd)) {
		report("poll_pipe", 0, "pipe");
		return;
	}
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	int none = poll(&pf, 1, 0);
	write(fd[1], "y", 1);
	int one = poll(&pf, 1, 1000);
	CHECK("poll_pipe_readiness", none == 0 && one == 1 && (pf.revents & POLLIN));
	close(fd[0]);
	close(fd[1]);
}

static void t_many_children(void)
{
	int ok = 1;
	for (int i = 0; i < 50; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(i & 0x7f);
		int st = child_status(p);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == (i & 0x7f);
	}
	CHECK("fifty_children_in_turn", ok);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--exit") == 0)
		return atoi(argv[2]);
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		puts("test readlink_self: FAILED (no /proc/self/exe)");
		return 1;
	}
	self[n] = 0;
	t_fork_wait();
	t_fork_memory();
	t_exec();
	t_exec_enoent();
	t_vfork();
	t_pipe();
	t_pipe_big();
	t_pipe_nonblock();
	t_epipe();
	t_dup2_redirect();
	t_signal_handler();
	t_signal_mask();
	t_sigchld();
	t_kill_child();
	t_stop_continue();
	t_sigsegv();
	t_alarm_eintr();
	t_wnohang();
	t_pgrp();
	t_poll();
	t_many_children();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
