/* races: classic concurrency bugs between threads, each with a correctly synchronised
 * twin, for `glass explore`: the buggy ones print a result that depends on the schedule,
 * the fixed ones print the same thing under every schedule.
 * Usage: races counter|counter-fixed|order|order-fixed|atomicity|atomicity-fixed|
 *               lostwakeup|lostwakeup-fixed|abba (always deadlocks: run it under glass only)
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Work between a read and the write that depends on it: a call ends the basic block, so a
 * quantum can end between the two, as a timer interrupt can on real hardware. */
static volatile long sink;
__attribute__((noinline)) static void work(long n)
{
	for (long i = 0; i < n; i++)
		sink += i;
}

/* A start gate: threads spin until main has created them all, so which one goes first is
 * the scheduler's choice, not a side effect of the order of creation. */
static volatile int go;
static void gate(void)
{
	while (!go)
		;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int fixed;

/* --- an unsynchronised counter: increments are lost ------------------------------- */
static volatile long counter;

static void *increment(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200000; i++) {
		if (fixed)
			pthread_mutex_lock(&lock);
		long v = counter;
		work(1);
		counter = v + 1;
		if (fixed)
			pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void run_counter(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, increment, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("counter: %ld of %d\n", counter, 4 * 200000);
}

/* --- an order violation: a pointer used before another thread sets it -------------- */
struct config {
	int value;
};
static struct config the_config = { 42 };
static struct config *volatile shared;

static void *initialise(void *arg)
{
	(void)arg;
	gate();
	work(1000);
	pthread_mutex_lock(&lock);
	shared = &the_config;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *use(void *arg)
{
	(void)arg;
	gate();
	work(1000);
	if (fixed) {
		pthread_mutex_lock(&lock);
		while (!shared)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
	}
	struct config *c = shared;
	return (void *)(long)(c ? c->value : -1);
}

static void run_order(void)
{
	pthread_t a, b;
	void *r;
	pthread_create(&b, NULL, use, NULL);
	pthread_create(&a, NULL, initialise, NULL);
	go = 1;
	pthread_join(b, &r);
	pthread_join(a, NULL);
	printf("order: the user saw %s\n", (long)r == 42 ? "the configuration" : "no configuration yet");
}

/* --- an atomicity violation: check, then act on a stale check ---------------------- */
static volatile long balance = 100;

static void *withdraw(void *arg)
{
	(void)arg;
	gate();
	if (fixed)
		pthread_mutex_lock(&lock);
	if (balance >= 60) {
		work(100000);
		balance -= 60;
	}
	if (fixed)
		pthread_mutex_unlock(&lock);
	return NULL;
}

static void run_atomicity(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, withdraw, NULL);
	go = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("atomicity: balance %ld\n", balance);
}

/* --- a lost wakeup: the flag is checked outside the lock --------------------------- */
static volatile int ready;

static void *waiter(void *arg)
{
	(void)arg;
	gate();
	if (fixed) {
		pthread_mutex_lock(&lock);
		while (!ready)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	if (!ready) {
		work(100000); /* the signal can come and go in here */
		pthread_mutex_lock(&lock);
		pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void *signaller(void *arg)
{
	(void)arg;
	gate();
	work(1000);
	pthread_mutex_lock(&lock);
	ready = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void run_lostwakeup(void)
{
	pthread_t w, s;
	pthread_create(&w, NULL, waiter, NULL);
	pthread_create(&s, NULL, signaller, NULL);
	go = 1;
	pthread_join(s, NULL);
	pthread_join(w, NULL);
	printf("lostwakeup: the waiter woke\n");
}

/* --- a deadlock: two locks taken in opposite orders (always, by construction) ------- */
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile int has_a;

static void *take_a_then_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a);
	has_a = 1;
	pthread_mutex_lock(&lock_b);
	return NULL;
}

static void run_abba(void)
{
	pthread_t t;
	pthread_mutex_lock(&lock_b);
	pthread_create(&t, NULL, take_a_then_b, NULL);
	while (!has_a)
		sched_yield();
	pthread_mutex_lock(&lock_a);
	printf("abba: no deadlock\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *what = argc > 1 ? argv[1] : "";
	size_t n = strcspn(what, "-");
	fixed = strcmp(what + n, "-fixed") == 0;
	if (strncmp(what, "counter", n) == 0 && n == 7)
		run_counter();
	else if (strncmp(what, "order", n) == 0 && n == 5)
		run_order();
	else if (strncmp(what, "atomicity", n) == 0 && n == 9)
		run_atomicity();
	else if (strncmp(what, "lostwakeup", n) == 0 && n == 10)
		run_lostwakeup();
	else if (strcmp(what, "abba") == 0)
		run_abba();
	else {
		fprintf(stderr, "usage: races counter|order|atomicity|lostwakeup[-fixed]\n");
		return 2;
	}
	return 0;
}
