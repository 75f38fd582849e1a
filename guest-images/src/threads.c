/* threads: POSIX threads through glibc (clone with CLONE_THREAD, futexes, TLS, signals to
 * threads, robust mutexes, fork and exec from a thread). Each test prints exactly
 * "test NAME: OK" or "test NAME: FAILED (reason)" from the main thread after its threads
 * are joined, so the output is the same natively, under qemu-user and under glass.
 * Usage: threads [TEST...]   (all tests, or only those named)
 *        threads --spin N     (N threads spinning forever: for /proc tests)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static char reason[200];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return 0;
}

#define CHECK(cond, ...) do { if (!(cond)) return fail(__VA_ARGS__); } while (0)
#define NTHREADS 4

/* --- a counter under a mutex ------------------------------------------------------- */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_up(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&count_lock);
		counter++;
		pthread_mutex_unlock(&count_lock);
	}
	return (void *)n;
}

static int t_mutex_counter(void)
{
	pthread_t t[NTHREADS];
	counter = 0;
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&t[i], NULL, count_up, (void *)20000L) == 0, "create");
	long sum = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		CHECK(pthread_join(t[i], &r) == 0, "join");
		sum += (long)r;
	}
	CHECK(counter == 4 * 20000 && sum == counter, "counter %ld, returned %ld", counter, sum);
	return 1;
}

/* --- producer and consumer on a condition variable ---------------------------------- */
#define QCAP 8
static int queue[QCAP], qhead, qlen;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 2000; i++) {
		pthread_mutex_lock(&qlock);
		while (qlen == QCAP)
			pthread_cond_wait(&not_full, &qlock);
		queue[(qhead + qlen++) % QCAP] = i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qlock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0;
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&qlock);
		while (qlen == 0)
			pthread_cond_wait(&not_empty, &qlock);
		sum += queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qlen--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&qlock);
	}
	return (void *)sum;
}

static int t_condvar(void)
{
	pthread_t p, c1, c2;
	void *r1, *r2;
	CHECK(pthread_create(&c1, NULL, consumer, NULL) == 0, "create consumer");
	CHECK(pthread_create(&c2, NULL, consumer, NULL) == 0, "create consumer");
	CHECK(pthread_create(&p, NULL, producer, NULL) == 0, "create producer");
	pthread_join(p, NULL);
	pthread_join(c1, &r1);
	pthread_join(c2, &r2);
	CHECK((long)r1 + (long)r2 == 2000L * 2001 / 2, "sum %ld", (long)r1 + (long)r2);
	return 1;
}

/* --- a barrier over three rounds ---------------------------------------------------- */
static pthread_barrier_t barrier;
static int arrived[3];

static void *barrier_rounds(void *arg)
{
	(void)arg;
	for (int round = 0; round < 3; round++) {
		__atomic_fetch_add(&arrived[round], 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&barrier);
		/* Past the barrier, everyone has arrived in this round. */
		if (__atomic_load_n(&arrived[round], __ATOMIC_SEQ_CST) != NTHREADS)
			return (void *)1;
	}
	return NULL;
}

static int t_barrier(void)
{
	pthread_t t[NTHREADS];
	CHECK(pthread_barrier_init(&barrier, NULL, NTHREADS) == 0, "barrier init");
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&t[i], NULL, barrier_rounds, NULL) == 0, "create");
	int bad = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += r != NULL;
	}
	CHECK(bad == 0, "%d threads passed a barrier early", bad);
	return 1;
}

/* --- thread-local storage ----------------------------------------------------------- */
static __thread long tls_value = 7;

static void *tls_worker(void *arg)
{
	if (tls_value != 7)
		return (void *)-1;
	tls_value = (long)arg;
	for (int i = 0; i < 1000; i++)
		sched_yield();
	return (void *)tls_value;
}

static int t_tls(void)
{
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&t[i], NULL, tls_worker, (void *)(100 + i)) == 0, "create");
	for (long i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK((long)r == 100 + i, "thread %ld saw %ld", i, (long)r);
	}
	CHECK(tls_value == 7, "main's copy changed to %ld", tls_value);
	return 1;
}

/* --- a detached thread reports through a semaphore ---------------------------------- */
static sem_t done;
static pid_t detached_tid;

static void *detached(void *arg)
{
	(void)arg;
	detached_tid = gettid();
	sem_post(&done);
	return NULL;
}

static int t_detached(void)
{
	pthread_t t;
	pthread_attr_t a;
	sem_init(&done, 0, 0);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	CHECK(pthread_create(&t, &a, detached, NULL) == 0, "create");
	CHECK(sem_wait(&done) == 0, "sem_wait");
	CHECK(detached_tid > 0 && detached_tid != getpid(), "tid %d, pid %d", detached_tid, getpid());
	return 1;
}

/* --- cancellation of a thread blocked in a condition wait --------------------------- */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void unlock_it(void *m)
{
	pthread_mutex_unlock(m);
}

static void *wait_forever(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cancel_lock);
	pthread_cleanup_push(unlock_it, &cancel_lock);
	sem_post(&done);
	for (;;)
		pthread_cond_wait(&never, &cancel_lock);
	pthread_cleanup_pop(1);
	return NULL;
}

static int t_cancel(void)
{
	pthread_t t;
	void *r;
	sem_init(&done, 0, 0);
	CHECK(pthread_create(&t, NULL, wait_forever, NULL) == 0, "create");
	sem_wait(&done);
	CHECK(pthread_cancel(t) == 0, "cancel");
	CHECK(pthread_join(t, &r) == 0, "join");
	CHECK(r == PTHREAD_CANCELED, "result %p", r);
	CHECK(pthread_mutex_trylock(&cancel_lock) == 0, "cleanup handler did not unlock");
	pthread_mutex_unlock(&cancel_lock);
	return 1;
}

/* --- a robust mutex whose owner dies ------------------------------------------------ */
static pthread_mutex_t robust;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL; /* exits holding the lock */
}

static int t_robust(void)
{
	pthread_mutexattr_t a;
	pthread_t t;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &a);
	CHECK(pthread_create(&t, NULL, die_holding, NULL) == 0, "create");
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&robust);
	CHECK(r == EOWNERDEAD, "lock after the owner died: %d", r);
	CHECK(pthread_mutex_consistent(&robust) == 0, "consistent");
	CHECK(pthread_mutex_unlock(&robust) == 0, "unlock");
	CHECK(pthread_mutex_lock(&robust) == 0, "lock again");
	pthread_mutex_unlock(&robust);
	return 1;
}

/* --- signals: to the process, and to one thread ------------------------------------- */
static volatile sig_atomic_t got_in;
static volatile pid_t handler_tid;

static void on_usr1(int sig)
{
	(void)sig;
	handler_tid = gettid();
	got_in = 1;
}

static void *unblocked_waiter(void *arg)
{
	sigset_t s;
	(void)arg;
	sigemptyset(&s);
	pthread_sigmask(SIG_SETMASK, &s, NULL);
	sem_post(&done);
	while (!got_in)
		sched_yield();
	return (void *)(long)gettid();
}

static int t_signals(void)
{
	sigset_t s;
	pthread_t t;
	void *r;
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	/* Main blocks SIGUSR1: a process-directed one must go to the thread that does not. */
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	sem_init(&done, 0, 0);
	got_in = 0;
	CHECK(pthread_create(&t, NULL, unblocked_waiter, NULL) == 0, "create");
	sem_wait(&done);
	CHECK(kill(getpid(), SIGUSR1) == 0, "kill");
	pthread_join(t, &r);
	CHECK(handler_tid == (pid_t)(long)r, "handled in %d, not the unblocked thread %ld",
	      handler_tid, (long)r);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	/* A thread-directed one goes to that thread, here main itself. */
	got_in = 0;
	CHECK(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1) == 0, "tgkill");
	CHECK(got_in && handler_tid == gettid(), "tgkill handled in %d", handler_tid);
	CHECK(syscall(SYS_tgkill, getpid(), 999999, SIGUSR1) == -1 && errno == ESRCH, "tgkill of no thread");
	signal(SIGUSR1, SIG_DFL);
	return 1;
}

/* --- fork in a thread copies only that thread --------------------------------------- */
static void *forker(void *arg)
{
	(void)arg;
	pid_t c = fork();
	if (c == 0) {
		/* Only this thread exists in the child; exit through the whole process. */
		_exit(17);
	}
	int st;
	if (waitpid(c, &st, 0) != c)
		return (void *)1;
	return (void *)(long)(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static int t_fork_in_thread(void)
{
	pthread_t t;
	void *r;
	CHECK(pthread_create(&t, NULL, forker, NULL) == 0, "create");
	pthread_join(t, &r);
	CHECK((long)r == 17, "child status %ld", (long)r);
	return 1;
}

/* --- exec in a thread: the other threads end, the process goes on in the new image -- */
static const char *self;

static void *execer(void *arg)
{
	(void)arg;
	execl(self, "threads", "--exec-child", (char *)NULL);
	return (void *)1;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int t_exec_in_thread(void)
{
	pid_t c = fork();
	if (c == 0) {
		pthread_t s, e;
		pthread_create(&s, NULL, sleeper, NULL);
		pthread_create(&e, NULL, execer, NULL);
		pthread_join(e, NULL);
		_exit(1); /* exec failed */
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "status %#x", st);
	return 1;
}

/* --- exit in main while a thread goes on -------------------------------------------- */
static void *outlive(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		sched_yield();
	exit(23);
}

static int t_main_exits_first(void)
{
	pid_t c = fork();
	if (c == 0) {
		pthread_t t;
		pthread_create(&t, NULL, outlive, NULL);
		pthread_exit(NULL); /* the process lives on in its other thread */
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 23, "status %#x", st);
	return 1;
}

/* --- bad arguments get errors, never more ----------------------------------------- */
static int t_bad_arguments(void)
{
	int word = 0;
	errno = 0;
	CHECK(syscall(SYS_futex, (void *)8, FUTEX_WAIT, 0, NULL, NULL, 0) == -1 && errno == EFAULT,
	      "futex wait at 0x8: %s", strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT, 0, NULL, NULL, 0) == -1 &&
	      errno == EINVAL, "futex wait on an unaligned word: %s", strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_futex, &word, FUTEX_WAIT, 1, NULL, NULL, 0) == -1 && errno == EAGAIN,
	      "futex wait on a changed word: %s", strerror(errno));
	errno = 0;
	struct timespec past = { 0, 0 };
	CHECK(syscall(SYS_futex, &word, FUTEX_WAIT, 0, &past, NULL, 0) == -1 && errno == ETIMEDOUT,
	      "futex wait with a zero timeout: %s", strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_futex, &word, FUTEX_WAIT, 0, (void *)8, NULL, 0) == -1 && errno == EFAULT,
	      "futex timeout at 0x8: %s", strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_set_robust_list, (void *)8, 1) == -1 && errno == EINVAL,
	      "set_robust_list of the wrong size: %s", strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_clone3, (void *)8, 88) == -1 && errno == EFAULT,
	      "clone3 with args at 0x8: %s", strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_clone3, &word, 8) == -1 && errno == EINVAL,
	      "clone3 with a short struct: %s", strerror(errno));
	return 1;
}

static void *sleeper_spin(void *arg)
{
	volatile unsigned long n = 0;
	(void)arg;
	for (;;)
		n++;
	return NULL;
}

struct test {
	const char *name;
	int (*fn)(void);
};

static const struct test tests[] = {
	{ "mutex_counter", t_mutex_counter },
	{ "condvar", t_condvar },
	{ "barrier", t_barrier },
	{ "tls", t_tls },
	{ "detached", t_detached },
	{ "cancel", t_cancel },
	{ "robust", t_robust },
	{ "signals", t_signals },
	{ "fork_in_thread", t_fork_in_thread },
	{ "exec_in_thread", t_exec_in_thread },
	{ "main_exits_first", t_main_exits_first },
	{ "bad_arguments", t_bad_arguments },
};

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--spin") == 0) {
		/* For /proc tests: N threads that spin forever, and main waiting for them. */
		int n = atoi(argv[2]);
		pthread_t t[16];
		for (int i = 0; i < n && i < 16; i++)
			pthread_create(&t[i], NULL, sleeper_spin, NULL);
		printf("spinning\n");
		fflush(stdout);
		pthread_join(t[0], NULL);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--exec-child") == 0) {
		/* The image a thread exec'd: one thread, the group's pid. */
		printf("exec-child: %s\n", gettid() == getpid() ? "leader" : "not the leader");
		fflush(stdout);
		return 42;
	}
	self = argv[0];
	setvbuf(stdout, NULL, _IONBF, 0);
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		int wanted = argc == 1;
		for (int a = 1; a < argc; a++)
			wanted |= strcmp(argv[a], tests[i].name) == 0;
		if (!wanted)
			continue;
		reason[0] = 0;
		if (tests[i].fn()) {
			printf("test %s: OK\n", tests[i].name);
			passed++;
		} else {
			printf("test %s: FAILED (%s)\n", tests[i].name, reason);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
