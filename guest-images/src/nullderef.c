/* nullderef: a guest that reads through a NULL pointer, for /proc's Broken-process tests.
 * `nullderef` faults in its own main; `nullderef child` forks a child that faults, waits for
 * it (printing the signal the wait status carries) and then pauses forever, so a /proc client
 * can read the parent's `wait` file and the Broken child's `status`, `segment` and `regs`.
 * `nullderef brk` executes the arch's breakpoint instruction (int3, brk #0, ebreak) with no
 * handler, so it dies of SIGTRAP; `nullderef brk-handled` catches the SIGTRAP, says so and
 * exits 0. `nullderef write` stores through a NULL pointer (in `poke`). All are compared with
 * native and qemu-user runs. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int deref(volatile int *p)
{
	return *p;
}

__attribute__((noinline)) void poke(volatile int *p, int v)
{
	*p = v;
}

static void breakpoint(void)
{
#if defined(__x86_64__)
	__asm__ volatile("int3");
#elif defined(__aarch64__)
	__asm__ volatile("brk #0");
#elif defined(__riscv)
	__asm__ volatile("ebreak");
#endif
}

static void on_trap(int sig)
{
	char msg[] = "caught signal 0\n";
	msg[14] = (char)('0' + sig);
	write(1, msg, sizeof msg - 1);
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "call0") == 0) {
		/* A call through a NULL function pointer: a fetch from address 0. */
		void (*volatile fn)(void) = NULL;
		fn();
		puts("call through NULL returned");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "write") == 0) {
		poke(NULL, 42);
		puts("store to NULL returned");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "brk-handled") == 0)
		signal(SIGTRAP, on_trap);
	if (argc > 1 && strncmp(argv[1], "brk", 3) == 0) {
		breakpoint();
		puts("breakpoint returned");
		return 1;
	}
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
