/* usertests: single-process system call tests in the xv6 usertests spirit — file I/O, memory,
 * time, randomness, the initial stack (argv, envp, auxv), identity, limits.
 * Each test prints exactly "test NAME: OK" or "test NAME: FAILED (reason)", then a summary
 * line "N passed, M failed"; exit status 0 iff all passed. Nothing printed depends on
 * addresses, pids, times, random bytes or the host, so a native run (with --root-prefix) and a
 * run under glass print the same bytes, on every arch.
 * Usage: usertests [--root-prefix DIR] [-- alpha 'with space' '']
 *   --root-prefix DIR  prepended to absolute guest paths (/data, /tmp): natively pass the
 *                      guest root (e.g. build/root); under glass leave it out
 *   -- ARGS            if given, ARGS must be exactly: alpha, "with space", "" (checked by
 *                      test argv) */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#if defined(__x86_64__)
#define EXPECT_MACHINE "x86_64"
#define EXPECT_EM EM_X86_64
#elif defined(__aarch64__)
#define EXPECT_MACHINE "aarch64"
#define EXPECT_EM EM_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define EXPECT_MACHINE "riscv64"
#define EXPECT_EM EM_RISCV
#else
#error "usertests: unsupported arch"
#endif

/* Bundled in guest-images/data: the exact content of usertests.txt, and the FNV-1a 32-bit
 * hash, line count and size of words.txt (recompute them if the data changes). */
static const char USERTESTS_TXT[] =
	"This file is read by usertests through the guest root.\n"
	"Line two has some digits: 0123456789.\n"
	"Line three ends the file.\n";
#define WORDS_FNV1A 0x9de49ac4u
#define WORDS_LINES 80
#define WORDS_SIZE 545

/* The linker's symbol for the ELF header of this program, and the entry point. */
extern const ElfW(Ehdr) __ehdr_start;
extern char _start[];

static int passed, failed;
static char prefix[PATH_MAX];	/* absolute, no trailing slash; "" under glass */
static int g_argc;
static char **g_argv, **g_envp;
static int have_args;		/* "--" given: the extra arguments must be the expected ones */
static int args_at;		/* index of the first argument after "--" */

static char fail_reason[200];

/* Record why the current test failed (the first reason wins) and return 0. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	if (!fail_reason[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(fail_reason, sizeof fail_reason, fmt, ap);
		va_end(ap);
	}
	return 0;
}

#define CHECK(cond, ...) do { if (!(cond)) return fail(__VA_ARGS__); } while (0)

/* A guest path under the root prefix. Several may be live at once (a small ring). */
static const char *gpath(const char *p)
{
	static char ring[4][PATH_MAX + 64];
	static int next;
	char *b = ring[next++ & 3];
	snprintf(b, sizeof ring[0], "%s%s", prefix, p);
	return b;
}

/* A scratch file name in the guest's /tmp, unique per process and test. */
static const char *tmpfile_path(const char *name)
{
	static char ring[4][PATH_MAX + 64];
	static int next;
	char *b = ring[next++ & 3];
	snprintf(b, sizeof ring[0], "%s/tmp/usertests-%d-%s", prefix, (int)getpid(), name);
	return b;
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += r;
	}
	return (int)got;
}

static int write_file(const char *path, const void *buf, size_t n)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void busy(unsigned long n)
{
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < n; i++)
		x += i ^ (x >> 3);
}

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* ---- the tests: each returns 1 on success, or 0 after fail() ---- */

/* The OK line itself goes out through one write(2) to stdout. */
static int t_write(void)
{
	static const char line[] = "test write: OK\n";
	fflush(stdout);
	CHECK(write(1, line, 0) == 0, "write of 0 bytes");
	ssize_t w = write(1, line, sizeof line - 1);
	if (w == (ssize_t)(sizeof line - 1))
		return 2;	/* already reported */
	return fail("write returned %zd", w);
}

/* The OK line goes out through one writev(2) of three pieces. */
static int t_writev_stdout(void)
{
	struct iovec iov[3] = {
		{ "test ", 5 }, { "writev_stdout", 13 }, { ": OK\n", 5 },
	};
	fflush(stdout);
	ssize_t w = writev(1, iov, 3);
	if (w == 23)
		return 2;
	return fail("writev returned %zd", w);
}

static int t_read_data(void)
{
	char buf[512];
	int fd = open(gpath("/data/usertests.txt"), O_RDONLY);
	CHECK(fd >= 0, "open /data/usertests.txt: %s", strerror(errno));
	/* Small reads, to cross read boundaries. */
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, 7);
		if (r < 0) {
			close(fd);
			return fail("read: %s", strerror(errno));
		}
		if (r == 0)
			break;
		got += r;
		if (got + 7 > sizeof buf)
			break;
	}
	ssize_t again = read(fd, buf, 1);
	close(fd);
	CHECK(again == 0, "no EOF after the content");
	CHECK(got == sizeof USERTESTS_TXT - 1, "read %zu bytes", got);
	CHECK(memcmp(buf, USERTESTS_TXT, got) == 0, "content differs");
	return 1;
}

static int t_read_checksum(void)
{
	int fd = open(gpath("/data/words.txt"), O_RDONLY);
	CHECK(fd >= 0, "open /data/words.txt: %s", strerror(errno));
	uint32_t h = 0x811c9dc5u;
	unsigned lines = 0, size = 0;
	unsigned char buf[64];
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			h = (h ^ buf[i]) * 0x01000193u;
			lines += buf[i] == '\n';
		}
		size += r;
	}
	close(fd);
	CHECK(r == 0, "read: %s", strerror(errno));
	CHECK(size == WORDS_SIZE, "size %u", size);
	CHECK(lines == WORDS_LINES, "%u lines", lines);
	CHECK(h == WORDS_FNV1A, "checksum differs");
	return 1;
}

static int t_bad_fd(void)
{
	char c;
	errno = 0;
	CHECK(read(999, &c, 1) == -1 && errno == EBADF, "read of fd 999");
	errno = 0;
	CHECK(write(999, &c, 1) == -1 && errno == EBADF, "write of fd 999");
	errno = 0;
	CHECK(close(999) == -1 && errno == EBADF, "close of fd 999");
	errno = 0;
	CHECK(open(gpath("/data/no-such-file"), O_RDONLY) == -1 && errno == ENOENT,
	      "open of a missing file");
	errno = 0;
	CHECK(open(gpath("/data/usertests.txt/x"), O_RDONLY) == -1 && errno == ENOTDIR,
	      "open through a file");
	return 1;
}

static int t_create_file(void)
{
	const char *p = tmpfile_path("create");
	static const char msg[] = "written by usertests\nsecond line\n";
	int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0644);
	CHECK(fd >= 0, "create in /tmp: %s", strerror(errno));
	ssize_t w1 = write(fd, msg, 10);
	ssize_t w2 = write(fd, msg + 10, sizeof msg - 1 - 10);
	char c;
	errno = 0;
	ssize_t bad = read(fd, &c, 1);
	int bad_errno = errno;
	close(fd);
	CHECK(w1 == 10 && w2 == (ssize_t)(sizeof msg - 1 - 10), "write returned %zd, %zd", w1, w2);
	CHECK(bad == -1 && bad_errno == EBADF, "read of an O_WRONLY fd");
	errno = 0;
	CHECK(open(p, O_CREAT | O_WRONLY | O_EXCL, 0644) == -1 && errno == EEXIST,
	      "O_EXCL on an existing file");
	char buf[100];
	fd = open(p, O_RDONLY);
	CHECK(fd >= 0, "reopen: %s", strerror(errno));
	int n = read_full(fd, buf, sizeof buf);
	close(fd);
	CHECK(n == (int)sizeof msg - 1, "read back %d bytes", n);
	CHECK(memcmp(buf, msg, n) == 0, "read back other bytes");
	/* O_TRUNC empties it; O_APPEND writes at the end whatever the offset. */
	fd = open(p, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0, "open O_TRUNC: %s", strerror(errno));
	CHECK(write(fd, "abc", 3) == 3, "write after truncate");
	close(fd);
	fd = open(p, O_WRONLY | O_APPEND);
	CHECK(fd >= 0, "open O_APPEND: %s", strerror(errno));
	lseek(fd, 0, SEEK_SET);
	CHECK(write(fd, "de", 2) == 2, "append");
	close(fd);
	fd = open(p, O_RDONLY);
	n = read_full(fd, buf, sizeof buf);
	close(fd);
	CHECK(n == 5 && memcmp(buf, "abcde", 5) == 0, "after truncate and append: %d bytes", n);
	CHECK(unlink(p) == 0, "unlink: %s", strerror(errno));
	errno = 0;
	CHECK(open(p, O_RDONLY) == -1 && errno == ENOENT, "open after unlink");
	return 1;
}

static int t_writev_readv(void)
{
	const char *p = tmpfile_path("vec");
	int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0, "create: %s", strerror(errno));
	char a[] = "first-", b[] = "", c[] = "second-third";
	struct iovec wv[3] = { { a, 6 }, { b, 0 }, { c, 12 } };
	ssize_t w = writev(fd, wv, 3);
	char x[4], y[9], z[10];
	memset(z, 0, sizeof z);
	struct iovec rv[3] = { { x, 4 }, { y, 9 }, { z, 10 } };
	off_t off = lseek(fd, 0, SEEK_SET);
	ssize_t r = readv(fd, rv, 3);
	close(fd);
	unlink(p);
	CHECK(w == 18, "writev returned %zd", w);
	CHECK(off == 0, "lseek returned %lld", (long long)off);
	CHECK(r == 18, "readv returned %zd", r);
	CHECK(memcmp(x, "firs", 4) == 0 && memcmp(y, "t-second-", 9) == 0 &&
	      memcmp(z, "third", 5) == 0, "readv scattered other bytes");
	return 1;
}

static int t_pread_pwrite(void)
{
	const char *p = tmpfile_path("pread");
	int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0, "create: %s", strerror(errno));
	CHECK(write(fd, "0123456789", 10) == 10, "write");
	char buf[8] = { 0 };
	ssize_t r = pread(fd, buf, 4, 3);
	off_t cur = lseek(fd, 0, SEEK_CUR);
	ssize_t pw = pwrite(fd, "AB", 2, 1);
	off_t cur2 = lseek(fd, 0, SEEK_CUR);
	char all[16] = { 0 };
	ssize_t r2 = pread(fd, all, sizeof all, 0);
	ssize_t past = pread(fd, buf, 4, 100);
	close(fd);
	unlink(p);
	CHECK(r == 4 && memcmp(buf, "3456", 4) == 0, "pread returned %zd", r);
	CHECK(cur == 10 && cur2 == 10, "pread/pwrite moved the offset");
	CHECK(pw == 2, "pwrite returned %zd", pw);
	CHECK(r2 == 10 && memcmp(all, "0AB3456789", 10) == 0, "content after pwrite");
	CHECK(past == 0, "pread past the end returned %zd", past);
	/* pread of the bundled read-only data. */
	fd = open(gpath("/data/usertests.txt"), O_RDONLY);
	CHECK(fd >= 0, "open data: %s", strerror(errno));
	r = pread(fd, buf, 8, 5);
	close(fd);
	CHECK(r == 8 && memcmp(buf, USERTESTS_TXT + 5, 8) == 0, "pread of data");
	return 1;
}

static int t_lseek(void)
{
	int fd = open(gpath("/data/usertests.txt"), O_RDONLY);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	const off_t size = sizeof USERTESTS_TXT - 1;
	char buf[8];
	off_t a = lseek(fd, 5, SEEK_SET);
	ssize_t r = read(fd, buf, 4);
	off_t b = lseek(fd, -2, SEEK_CUR);
	off_t c = lseek(fd, 0, SEEK_END);
	off_t d = lseek(fd, -3, SEEK_END);
	ssize_t r2 = read(fd, buf + 4, 3);
	off_t e = lseek(fd, 0, SEEK_CUR);
	errno = 0;
	off_t f = lseek(fd, -1, SEEK_SET);
	int f_errno = errno;
	errno = 0;
	off_t g = lseek(fd, 0, 42);
	int g_errno = errno;
	close(fd);
	CHECK(a == 5 && r == 4 && memcmp(buf, "file", 4) == 0, "SEEK_SET then read");
	CHECK(b == 7, "SEEK_CUR -2 gave %lld", (long long)b);
	CHECK(c == size, "SEEK_END gave %lld", (long long)c);
	CHECK(d == size - 3 && r2 == 3 && memcmp(buf + 4, "e.\n", 3) == 0, "SEEK_END -3");
	CHECK(e == size, "offset at the end %lld", (long long)e);
	CHECK(f == -1 && f_errno == EINVAL, "negative offset accepted");
	CHECK(g == -1 && g_errno == EINVAL, "bad whence accepted");
	return 1;
}

/* Seeking past the end and writing leaves a hole that reads as zeros. */
static int t_lseek_hole(void)
{
	const char *p = tmpfile_path("hole");
	int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0, "create: %s", strerror(errno));
	CHECK(write(fd, "ab", 2) == 2, "write");
	CHECK(lseek(fd, 10, SEEK_SET) == 10, "seek past the end");
	CHECK(write(fd, "z", 1) == 1, "write past the end");
	struct stat st;
	CHECK(fstat(fd, &st) == 0, "fstat");
	char buf[16];
	ssize_t r = pread(fd, buf, sizeof buf, 0);
	close(fd);
	unlink(p);
	CHECK(st.st_size == 11, "size %lld", (long long)st.st_size);
	CHECK(r == 11, "read %zd", r);
	static const char want[11] = { 'a', 'b', 0, 0, 0, 0, 0, 0, 0, 0, 'z' };
	CHECK(memcmp(buf, want, 11) == 0, "the hole is not zeros");
	return 1;
}

static int t_ftruncate(void)
{
	const char *p = tmpfile_path("trunc");
	int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0, "create: %s", strerror(errno));
	CHECK(write(fd, "0123456789", 10) == 10, "write");
	int r1 = ftruncate(fd, 4);
	struct stat st1, st2;
	fstat(fd, &st1);
	int r2 = ftruncate(fd, 6);
	fstat(fd, &st2);
	char buf[8];
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	close(fd);
	unlink(p);
	CHECK(r1 == 0 && r2 == 0, "ftruncate failed");
	CHECK(st1.st_size == 4 && st2.st_size == 6, "sizes %lld, %lld", (long long)st1.st_size,
	      (long long)st2.st_size);
	CHECK(n == 6 && memcmp(buf, "0123\0\0", 6) == 0, "content after shrink and grow");
	return 1;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int t_getdents64(void)
{
	static const struct { const char *name; unsigned char type; } want[] = {
		{ ".", DT_DIR }, { "..", DT_DIR }, { "words.txt", DT_REG },
		{ "records.csv", DT_REG }, { "usertests.txt", DT_REG }, { "blob.bin", DT_REG },
		{ "tree", DT_DIR },
	};
	int seen[sizeof want / sizeof want[0]] = { 0 };
	int fd = open(gpath("/data"), O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0, "open /data: %s", strerror(errno));
	/* A small buffer forces several calls. */
	char buf[128] __attribute__((aligned(8)));
	int total = 0, calls = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n < 0) {
			close(fd);
			return fail("getdents64: %s", strerror(errno));
		}
		if (n == 0)
			break;
		calls++;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			if (d->d_reclen == 0 || off + d->d_reclen > n) {
				close(fd);
				return fail("bad d_reclen");
			}
			total++;
			for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
				if (strcmp(d->d_name, want[i].name) == 0) {
					if (d->d_type != want[i].type) {
						close(fd);
						return fail("%s has d_type %d", want[i].name, d->d_type);
					}
					seen[i]++;
				}
			}
			off += d->d_reclen;
		}
	}
	/* A tiny buffer that fits no entry is EINVAL. */
	lseek(fd, 0, SEEK_SET);
	errno = 0;
	long tiny = syscall(SYS_getdents64, fd, buf, 8);
	int tiny_errno = errno;
	close(fd);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK(seen[i] == 1, "%s seen %d times", want[i].name, seen[i]);
	CHECK(total >= 10, "only %d entries", total);
	CHECK(calls >= 2, "one call filled 128 bytes with everything");
	CHECK(tiny == -1 && tiny_errno == EINVAL, "8-byte buffer accepted");
	errno = 0;
	fd = open(gpath("/data/words.txt"), O_RDONLY);
	long nd = syscall(SYS_getdents64, fd, buf, sizeof buf);
	int nd_errno = errno;
	close(fd);
	CHECK(nd == -1 && nd_errno == ENOTDIR, "getdents64 of a file");
	return 1;
}

static int t_stat(void)
{
	struct stat a, b, c, d;
	const off_t size = sizeof USERTESTS_TXT - 1;
	CHECK(stat(gpath("/data/usertests.txt"), &a) == 0, "stat: %s", strerror(errno));
	CHECK(S_ISREG(a.st_mode) && a.st_size == size, "stat: mode %o size %lld",
	      a.st_mode, (long long)a.st_size);
	CHECK(a.st_nlink >= 1, "nlink 0");
	int fd = open(gpath("/data/usertests.txt"), O_RDONLY);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	int r = fstat(fd, &b);
	close(fd);
	CHECK(r == 0 && S_ISREG(b.st_mode) && b.st_size == size, "fstat");
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "stat and fstat name other files");
	int dfd = open(gpath("/data"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open /data: %s", strerror(errno));
	long r2 = syscall(SYS_newfstatat, dfd, "usertests.txt", &c, 0);
	long r3 = syscall(SYS_newfstatat, dfd, "", &d, AT_EMPTY_PATH);
	close(dfd);
	CHECK(r2 == 0 && S_ISREG(c.st_mode) && c.st_size == size && c.st_ino == a.st_ino,
	      "newfstatat relative to a dir fd");
	CHECK(r3 == 0 && S_ISDIR(d.st_mode), "newfstatat AT_EMPTY_PATH of a dir");
	CHECK(stat(gpath("/data/tree"), &c) == 0 && S_ISDIR(c.st_mode), "stat of a dir");
	CHECK(stat(gpath("/data/tree/alpha/beta/gamma/deep.txt"), &c) == 0 && S_ISREG(c.st_mode) &&
	      c.st_size == 25, "stat of a nested file");
	errno = 0;
	CHECK(stat(gpath("/data/missing"), &c) == -1 && errno == ENOENT, "stat of a missing file");
	return 1;
}

static int t_mkdir_rmdir(void)
{
	const char *d = tmpfile_path("dir");
	char f[PATH_MAX];
	snprintf(f, sizeof f, "%s/inner", d);
	CHECK(mkdir(d, 0755) == 0, "mkdir: %s", strerror(errno));
	errno = 0;
	CHECK(mkdir(d, 0755) == -1 && errno == EEXIST, "mkdir twice");
	CHECK(write_file(f, "x", 1) == 0, "file in the new dir");
	struct stat st;
	CHECK(stat(d, &st) == 0 && S_ISDIR(st.st_mode), "stat of the new dir");
	errno = 0;
	CHECK(rmdir(d) == -1 && errno == ENOTEMPTY, "rmdir of a non-empty dir");
	CHECK(unlink(f) == 0, "unlink: %s", strerror(errno));
	CHECK(rmdir(d) == 0, "rmdir: %s", strerror(errno));
	errno = 0;
	CHECK(stat(d, &st) == -1 && errno == ENOENT, "dir still there");
	return 1;
}

static int t_rename(void)
{
	const char *a = tmpfile_path("ren-a"), *b = tmpfile_path("ren-b");
	CHECK(write_file(a, "moved", 5) == 0, "create: %s", strerror(errno));
	CHECK(rename(a, b) == 0, "rename: %s", strerror(errno));
	struct stat st;
	errno = 0;
	CHECK(stat(a, &st) == -1 && errno == ENOENT, "old name still there");
	char buf[8];
	int fd = open(b, O_RDONLY);
	CHECK(fd >= 0, "open new name: %s", strerror(errno));
	int n = read_full(fd, buf, sizeof buf);
	close(fd);
	unlink(b);
	CHECK(n == 5 && memcmp(buf, "moved", 5) == 0, "content after rename");
	return 1;
}

static int t_getcwd_chdir(void)
{
	char saved[PATH_MAX], cwd[PATH_MAX];
	CHECK(getcwd(saved, sizeof saved) != NULL, "getcwd: %s", strerror(errno));
	CHECK(saved[0] == '/', "cwd not absolute");
	int ok = 1;
	if (chdir(gpath("/data")) != 0) {
		ok = fail("chdir /data: %s", strerror(errno));
		goto out;
	}
	if (!getcwd(cwd, sizeof cwd) || !ends_with(cwd, "/data")) {
		ok = fail("getcwd after chdir /data");
		goto out;
	}
	int fd = open("usertests.txt", O_RDONLY);	/* relative to the new cwd */
	if (fd < 0) {
		ok = fail("relative open: %s", strerror(errno));
		goto out;
	}
	close(fd);
	if (chdir("tree/alpha") != 0 || !getcwd(cwd, sizeof cwd) ||
	    !ends_with(cwd, "/data/tree/alpha")) {
		ok = fail("relative chdir");
		goto out;
	}
	if (chdir("../..") != 0 || !getcwd(cwd, sizeof cwd) || !ends_with(cwd, "/data")) {
		ok = fail("chdir ..");
		goto out;
	}
	fd = open("tree", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || chdir("/") != 0 || fchdir(fd) != 0 || !getcwd(cwd, sizeof cwd) ||
	    !ends_with(cwd, "/data/tree")) {
		ok = fail("fchdir");
	}
	if (fd >= 0)
		close(fd);
	errno = 0;
	if (ok && (chdir("top.txt") != -1 || errno != ENOTDIR))
		ok = fail("chdir to a file");
	errno = 0;
	if (ok && (chdir("nonexistent") != -1 || errno != ENOENT))
		ok = fail("chdir to a missing dir");
	char small[2];
	errno = 0;
	if (ok && (getcwd(small, sizeof small) != NULL || errno != ERANGE))
		ok = fail("getcwd into 2 bytes");
out:
	if (chdir(saved) != 0)
		ok = fail("chdir back: %s", strerror(errno));
	return ok;
}

static int t_dup_fcntl(void)
{
	int fd = open(gpath("/data/usertests.txt"), O_RDONLY);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	int d = dup(fd);
	char c1, c2;
	ssize_t r1 = read(fd, &c1, 1), r2 = read(d, &c2, 1);
	int d2 = dup2(fd, 40);
	int same = dup2(fd, fd);
	int d3 = fcntl(fd, F_DUPFD, 30);
	int fl = fcntl(fd, F_GETFL);
	int fdfl = fcntl(d3, F_GETFD);
	int setfd = fcntl(d3, F_SETFD, FD_CLOEXEC);
	int fdfl2 = fcntl(d3, F_GETFD);
	int d4 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	int fdfl4 = fcntl(d4, F_GETFD);
	off_t shared = lseek(d2, 0, SEEK_CUR);
	CHECK(d >= 0 && d != fd, "dup returned %d", d);
	CHECK(r1 == 1 && r2 == 1 && c1 == 'T' && c2 == 'h', "dup does not share the offset");
	CHECK(d2 == 40, "dup2 to 40 returned %d", d2);
	CHECK(same == fd, "dup2 onto itself");
	CHECK(d3 >= 30, "F_DUPFD 30 returned %d", d3);
	CHECK(fl >= 0 && (fl & O_ACCMODE) == O_RDONLY, "F_GETFL of a read fd");
	CHECK(fdfl == 0 && setfd == 0 && fdfl2 == FD_CLOEXEC, "F_GETFD/F_SETFD");
	CHECK(d4 >= 0 && fdfl4 == FD_CLOEXEC, "F_DUPFD_CLOEXEC");
	CHECK(shared == 2, "offset through dup2's fd is %lld", (long long)shared);
	close(d);
	close(d2);
	close(d3);
	close(d4);
	/* The lowest free fd is reused. */
	int lo = dup(fd);
	CHECK(lo >= 0 && lo <= d, "lowest free fd not reused");
	close(lo);
	close(fd);
	errno = 0;
	CHECK(fcntl(fd, F_GETFL) == -1 && errno == EBADF, "F_GETFL of a closed fd");
	errno = 0;
	CHECK(dup2(fd, 41) == -1 && errno == EBADF, "dup2 of a closed fd");
	/* Flags of a write-only append fd. */
	const char *p = tmpfile_path("flags");
	int w = open(p, O_CREAT | O_WRONLY | O_APPEND | O_TRUNC, 0644);
	CHECK(w >= 0, "create: %s", strerror(errno));
	int wf = fcntl(w, F_GETFL);
	close(w);
	unlink(p);
	CHECK((wf & O_ACCMODE) == O_WRONLY && (wf & O_APPEND), "F_GETFL of a write fd: %#x", wf);
	return 1;
}

static int t_access(void)
{
	CHECK(access(gpath("/data/words.txt"), R_OK) == 0, "R_OK on data: %s", strerror(errno));
	CHECK(access(gpath("/data/words.txt"), F_OK) == 0, "F_OK on data");
	CHECK(access(gpath("/data/tree"), R_OK | X_OK) == 0, "R_OK|X_OK on a dir");
	CHECK(access(gpath("/bin/busybox"), X_OK) == 0, "X_OK on /bin/busybox");
	errno = 0;
	CHECK(access(gpath("/data/absent"), F_OK) == -1 && errno == ENOENT, "missing file");
	CHECK(faccessat(AT_FDCWD, gpath("/data/records.csv"), R_OK, 0) == 0, "faccessat");
	return 1;
}

static int t_readlink_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	CHECK(n > 0, "readlink: %s", strerror(errno));
	buf[n] = 0;
	CHECK(buf[0] == '/', "not absolute");
	CHECK(ends_with(buf, "/usertests"), "does not end in /usertests");
	char small[4];
	ssize_t m = readlink("/proc/self/exe", small, sizeof small);
	CHECK(m == (ssize_t)sizeof small && memcmp(small, buf, sizeof small) == 0,
	      "truncated readlink returned %zd", m);
	errno = 0;
	CHECK(readlink(gpath("/data/words.txt"), buf, sizeof buf) == -1 && errno == EINVAL,
	      "readlink of a regular file");
	return 1;
}

static int t_brk(void)
{
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	CHECK(cur != 0 && cur != (uintptr_t)-1, "brk(0) failed");
	const uintptr_t grow = 1 << 20;
	uintptr_t up = (uintptr_t)syscall(SYS_brk, cur + grow);
	CHECK(up == cur + grow, "brk did not grow by 1 MiB");
	/* Every new page is usable and zero. */
	unsigned char *p = (unsigned char *)cur;
	for (uintptr_t i = 0; i < grow; i += 4096)
		CHECK(p[i] == 0, "new brk memory not zero");
	for (uintptr_t i = 0; i < grow; i += 512)
		p[i] = (unsigned char)(i >> 9);
	for (uintptr_t i = 0; i < grow; i += 512)
		CHECK(p[i] == (unsigned char)(i >> 9), "brk memory lost a write");
	uintptr_t down = (uintptr_t)syscall(SYS_brk, cur + grow / 2);
	CHECK(down == cur + grow / 2, "brk did not shrink");
	CHECK((uintptr_t)syscall(SYS_brk, 0) == cur + grow / 2, "brk(0) after shrink");
	/* Growing again gives zeroed pages where the old contents were released. */
	uintptr_t up2 = (uintptr_t)syscall(SYS_brk, cur + grow);
	CHECK(up2 == cur + grow, "brk did not grow again");
	/* Whole pages above the shrunk break were released: they come back zero. */
	uintptr_t page = (cur + grow / 2 + 4095) & ~(uintptr_t)4095;
	for (uintptr_t a = page; a < cur + grow; a += 64)
		CHECK(p[a - cur] == 0, "released brk memory came back dirty");
	CHECK(p[0] == 0 && p[512] == 1, "kept brk memory changed");
	CHECK((uintptr_t)syscall(SYS_brk, cur) == cur, "brk back to start");
	/* sbrk through glibc as well. */
	void *s0 = sbrk(0);
	void *s1 = sbrk(8192);
	CHECK(s1 == s0 && sbrk(0) == (char *)s0 + 8192, "sbrk(8192)");
	memset(s1, 0x5a, 8192);
	CHECK(sbrk(-8192) == (char *)s0 + 8192 && sbrk(0) == s0, "sbrk(-8192)");
	return 1;
}

static int t_mmap_anon(void)
{
	enum { N = 8, SZ = 1 << 20 };
	unsigned char *m[N];
	for (int i = 0; i < N; i++) {
		m[i] = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(m[i] != MAP_FAILED, "mmap %d: %s", i, strerror(errno));
		CHECK(((uintptr_t)m[i] & 4095) == 0, "not page aligned");
		for (int j = 0; j < SZ; j += 4096)
			CHECK(m[i][j] == 0, "fresh anonymous memory not zero");
		for (int j = 0; j < SZ; j += 1024)
			m[i][j] = (unsigned char)(i * 7 + j / 1024);
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < SZ; j += 1024)
			CHECK(m[i][j] == (unsigned char)(i * 7 + j / 1024), "mapping %d lost a write", i);
	for (int i = 0; i < N; i++)
		CHECK(munmap(m[i], SZ) == 0, "munmap: %s", strerror(errno));
	/* Unmapping the middle of a mapping leaves both ends usable. */
	unsigned char *q = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q != MAP_FAILED, "mmap 16 pages");
	memset(q, 1, 16 * 4096);
	CHECK(munmap(q + 4 * 4096, 4 * 4096) == 0, "munmap of the middle");
	CHECK(q[0] == 1 && q[4 * 4096 - 1] == 1 && q[8 * 4096] == 1 && q[16 * 4096 - 1] == 1,
	      "ends lost after unmapping the middle");
	/* MAP_FIXED into the hole. */
	unsigned char *f = mmap(q + 4 * 4096, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(f == q + 4 * 4096 && f[0] == 0, "MAP_FIXED into the hole");
	f[1] = 2;
	CHECK(munmap(q, 16 * 4096) == 0, "munmap of a range with a hole");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1) == MAP_FAILED &&
	      errno == EINVAL, "unaligned offset accepted");
	errno = 0;
	CHECK(munmap(q + 1, 4096) == -1 && errno == EINVAL, "unaligned munmap accepted");
	return 1;
}

static int t_mremap(void)
{
	size_t pg = 4096;
	unsigned char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	CHECK(a != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < 4 * pg; i++)
		a[i] = (unsigned char)(i * 13);
	unsigned char *b = mremap(a, 4 * pg, 64 * pg, MREMAP_MAYMOVE);
	CHECK(b != MAP_FAILED, "mremap grow: %s", strerror(errno));
	for (size_t i = 0; i < 4 * pg; i++)
		CHECK(b[i] == (unsigned char)(i * 13), "content lost by mremap grow");
	for (size_t i = 4 * pg; i < 64 * pg; i += pg)
		CHECK(b[i] == 0, "grown part not zero");
	memset(b + 4 * pg, 0x77, 60 * pg);
	unsigned char *c = mremap(b, 64 * pg, 2 * pg, 0);
	CHECK(c == b, "mremap shrink moved or failed");
	CHECK(c[pg + 5] == (unsigned char)((pg + 5) * 13), "content lost by mremap shrink");
	CHECK(munmap(c, 2 * pg) == 0, "munmap");
	return 1;
}

static int t_mprotect(void)
{
	volatile unsigned char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	p[0] = 42;
	p[4096] = 43;
	CHECK(mprotect((void *)p, 4096, PROT_READ) == 0, "mprotect read-only: %s", strerror(errno));
	CHECK(p[0] == 42, "read of a read-only page");
	p[4096] = 44;	/* the other page stays writable */
	CHECK(mprotect((void *)p, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect writable again");
	p[0] = 45;
	CHECK(p[0] == 45 && p[4096] == 44, "writes after mprotect");
	errno = 0;
	CHECK(mprotect((void *)(p + 1), 4096, PROT_READ) == -1 && errno == EINVAL,
	      "unaligned mprotect accepted");
	CHECK(munmap((void *)p, 2 * 4096) == 0, "munmap");
	return 1;
}

static int t_malloc(void)
{
	enum { N = 2000 };
	static void *blocks[N];
	for (int i = 0; i < N; i++) {
		blocks[i] = malloc(16 + (i * 37) % 700);
		CHECK(blocks[i] != NULL, "malloc %d", i);
		memset(blocks[i], i & 0xff, 16);
	}
	for (int i = 0; i < N; i++)
		CHECK(((unsigned char *)blocks[i])[15] == (i & 0xff), "block %d overwritten", i);
	for (int i = 0; i < N; i += 2)
		free(blocks[i]);
	for (int i = 1; i < N; i += 2)
		free(blocks[i]);
	/* A large block (glibc mmaps it), grown with realloc. */
	char *big = malloc(8 << 20);
	CHECK(big != NULL, "malloc 8 MiB");
	memset(big, 3, 8 << 20);
	char *bigger = realloc(big, 16 << 20);
	CHECK(bigger != NULL, "realloc to 16 MiB");
	CHECK(bigger[0] == 3 && bigger[(8 << 20) - 1] == 3, "realloc lost the content");
	free(bigger);
	return 1;
}

static int t_clock_monotonic(void)
{
	struct timespec a, b, c;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0, "clock_gettime: %s", strerror(errno));
	busy(3000000);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0, "second clock_gettime");
	busy(3000000);
	clock_gettime(CLOCK_MONOTONIC, &c);
	CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000 && b.tv_nsec < 1000000000, "tv_nsec range");
	CHECK(ns_of(&b) > ns_of(&a) && ns_of(&c) > ns_of(&b), "did not advance across busy loops");
	struct timespec res;
	CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns_of(&res) > 0 &&
	      ns_of(&res) <= 1000000, "clock_getres");
	errno = 0;
	CHECK(clock_gettime((clockid_t)12345, &a) == -1 && errno == EINVAL, "bad clock accepted");
	return 1;
}

static int t_clock_realtime(void)
{
	time_t t0 = time(NULL);
	struct timeval tv;
	struct timespec ts;
	CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday: %s", strerror(errno));
	CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0, "clock_gettime REALTIME");
	time_t t1;
	time(&t1);
	/* 2020-01-01T00:00:00Z: any plausible clock is later. */
	CHECK(t0 >= 1577836800, "time() before 2020");
	CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec range");
	CHECK(t0 <= tv.tv_sec && tv.tv_sec <= ts.tv_sec && ts.tv_sec <= t1,
	      "time, gettimeofday, clock_gettime out of order");
	CHECK(t1 - t0 <= 2, "clocks far apart");
	return 1;
}

static int t_nanosleep(void)
{
	struct timespec a, b, d = { 0, 20 * 1000000 }, rem = { 7, 7 };
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = nanosleep(&d, &rem);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(r == 0, "nanosleep: %s", strerror(errno));
	CHECK(ns_of(&b) - ns_of(&a) >= 20 * 1000000, "slept less than 20 ms");
	struct timespec zero = { 0, 0 };
	CHECK(nanosleep(&zero, NULL) == 0, "zero nanosleep");
	struct timespec bad = { 0, 1000000000 };
	errno = 0;
	CHECK(nanosleep(&bad, NULL) == -1 && errno == EINVAL, "tv_nsec of 1e9 accepted");
	/* clock_nanosleep with an absolute deadline. */
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 5 * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL) == 0,
	      "clock_nanosleep TIMER_ABSTIME");
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(ns_of(&b) >= ns_of(&dl), "woke before the deadline");
	return 1;
}

static int t_getrandom(void)
{
	unsigned char a[32], b[32], z[32] = { 0 };
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	ssize_t ra = getrandom(a, sizeof a, 0);
	ssize_t rb = getrandom(b, sizeof b, GRND_NONBLOCK);
	CHECK(ra == 32 && rb == 32, "getrandom returned %zd, %zd", ra, rb);
	CHECK(memcmp(a, b, sizeof a) != 0, "two calls gave the same bytes");
	CHECK(memcmp(a, z, sizeof a) != 0 && memcmp(b, z, sizeof b) != 0, "all zero");
	CHECK(getrandom(a, 0, 0) == 0, "getrandom of 0 bytes");
	static unsigned char big[4096];
	CHECK(getrandom(big, sizeof big, 0) == (ssize_t)sizeof big, "getrandom of 4096 bytes");
	return 1;
}

static int t_argv(void)
{
	CHECK(g_argc >= 1, "argc %d", g_argc);
	CHECK(g_argv[g_argc] == NULL, "argv not NULL-terminated");
	CHECK(ends_with(g_argv[0], "usertests"), "argv[0] does not name usertests");
	if (have_args) {
		static const char *want[] = { "alpha", "with space", "" };
		CHECK(g_argc - args_at == 3, "%d extra arguments, want 3", g_argc - args_at);
		for (int i = 0; i < 3; i++)
			CHECK(strcmp(g_argv[args_at + i], want[i]) == 0, "argument %d differs", i);
	}
	/* The strings are contiguous on the initial stack, in order. */
	for (int i = 0; i + 1 < g_argc; i++)
		CHECK(g_argv[i] + strlen(g_argv[i]) + 1 == g_argv[i + 1],
		      "argv strings not contiguous");
	return 1;
}

static int t_envp(void)
{
	extern char **environ;
	CHECK(g_envp == environ, "envp and environ differ");
	CHECK(g_envp == g_argv + g_argc + 1, "envp does not follow argv's NULL");
	for (char **e = g_envp; *e; e++)
		CHECK(strchr(*e, '=') != NULL, "an environment entry without '='");
	return 1;
}

static int t_auxv(void)
{
	/* auxv follows envp's NULL on the initial stack. */
	char **e = g_envp;
	while (*e)
		e++;
	ElfW(auxv_t) *av = (ElfW(auxv_t) *)(e + 1);
	unsigned long pagesz = 0, n = 0;
	int saw_random = 0;
	for (; av->a_type != AT_NULL && n < 100; av++, n++) {
		if (av->a_type == AT_PAGESZ)
			pagesz = av->a_un.a_val;
		if (av->a_type == AT_RANDOM)
			saw_random = 1;
	}
	CHECK(av->a_type == AT_NULL, "no AT_NULL in the first 100 entries");
	CHECK(pagesz == 4096, "AT_PAGESZ on the stack is %lu", pagesz);
	CHECK(saw_random, "no AT_RANDOM on the stack");
	CHECK(getauxval(AT_PAGESZ) == 4096, "getauxval(AT_PAGESZ)");
	CHECK(sysconf(_SC_PAGESIZE) == 4096, "sysconf(_SC_PAGESIZE)");
	/* AT_RANDOM: 16 readable bytes, not all zero. */
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	CHECK(rnd != NULL, "no AT_RANDOM");
	int nonzero = 0;
	for (int i = 0; i < 16; i++)
		nonzero |= rnd[i];
	CHECK(nonzero, "AT_RANDOM bytes all zero");
	/* AT_PHDR, AT_PHENT, AT_PHNUM agree with this program's own ELF header. */
	const ElfW(Ehdr) *eh = &__ehdr_start;
	CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0, "no ELF header at __ehdr_start");
	CHECK(eh->e_machine == EXPECT_EM, "e_machine %d", eh->e_machine);
	CHECK(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)), "AT_PHENT %lu", getauxval(AT_PHENT));
	CHECK(getauxval(AT_PHNUM) == eh->e_phnum, "AT_PHNUM %lu, e_phnum %d",
	      getauxval(AT_PHNUM), eh->e_phnum);
	CHECK(getauxval(AT_PHDR) == (unsigned long)eh + eh->e_phoff,
	      "AT_PHDR is not the header's program headers");
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	int loads = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		loads += ph[i].p_type == PT_LOAD;
	CHECK(loads >= 1, "no PT_LOAD in the program headers");
	CHECK(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is not _start");
	/* AT_EXECFN: the path the program was executed by. */
	const char *fn = (const char *)getauxval(AT_EXECFN);
	CHECK(fn != NULL, "no AT_EXECFN");
	CHECK(ends_with(fn, "usertests"), "AT_EXECFN does not name usertests");
	CHECK(getauxval(AT_SECURE) == 0, "AT_SECURE set");
	CHECK(getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid() &&
	      getauxval(AT_GID) == getgid() && getauxval(AT_EGID) == getegid(),
	      "AT_UID/EUID/GID/EGID differ from the calls");
	return 1;
}

static int t_uname(void)
{
	struct utsname u;
	CHECK(uname(&u) == 0, "uname: %s", strerror(errno));
	CHECK(strcmp(u.sysname, "Linux") == 0, "sysname is not Linux");
	CHECK(strcmp(u.machine, EXPECT_MACHINE) == 0, "machine is not " EXPECT_MACHINE);
	CHECK(u.release[0] >= '1' && u.release[0] <= '9', "release does not start with a digit");
	CHECK(u.nodename[0] != 0, "empty nodename");
	return 1;
}

static int t_pids(void)
{
	pid_t pid = getpid(), ppid = getppid();
	CHECK(pid > 0, "getpid %d", (int)pid);
	/* A first process (pid 1) has parent 0; any other has a parent > 0. */
	CHECK(ppid >= 0 && ppid != pid, "getppid %d", (int)ppid);
	CHECK(pid == 1 || ppid > 0, "getppid 0 for pid %d", (int)pid);
	CHECK(syscall(SYS_gettid) == pid, "gettid differs from getpid");
	CHECK(getpid() == pid, "getpid changed");
	/* A session or group whose leader lives in an outer pid namespace (a container's first
	 * process) reads as 0, so only failure and consistency are checked. */
	pid_t pgrp = getpgrp(), sid = getsid(0);
	CHECK(pgrp >= 0 && sid >= 0, "getpgrp %d, getsid %d", (int)pgrp, (int)sid);
	CHECK(getpgid(0) == pgrp && getsid(pid) == sid, "getpgid/getsid of self differ");
	return 1;
}

static int t_ids(void)
{
	uid_t uid = getuid(), euid = geteuid();
	gid_t gid = getgid(), egid = getegid();
	CHECK(uid == euid, "uid %d, euid %d", (int)uid, (int)euid);
	CHECK(gid == egid, "gid %d, egid %d", (int)gid, (int)egid);
	int ng = getgroups(0, NULL);
	CHECK(ng >= 0, "getgroups: %s", strerror(errno));
	return 1;
}

static int t_umask(void)
{
	mode_t old = umask(022);
	mode_t was = umask(077);
	const char *p = tmpfile_path("umask");
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0666);
	struct stat st;
	int r = fd >= 0 ? fstat(fd, &st) : -1;
	if (fd >= 0)
		close(fd);
	unlink(p);
	mode_t back = umask(old);
	CHECK(was == 022, "umask returned %o", was);
	CHECK(back == 077, "umask returned %o", back);
	CHECK(fd >= 0 && r == 0, "create: %s", strerror(errno));
	CHECK((st.st_mode & 0777) == 0600, "mode %o with umask 077", st.st_mode & 0777);
	return 1;
}

static int t_sysinfo(void)
{
	struct sysinfo si;
	memset(&si, 0xff, sizeof si);
	CHECK(sysinfo(&si) == 0, "sysinfo: %s", strerror(errno));
	CHECK(si.mem_unit >= 1, "mem_unit %u", si.mem_unit);
	CHECK(si.totalram > 0 && si.freeram <= si.totalram, "ram figures");
	CHECK(si.uptime >= 0, "uptime negative");
	CHECK(si.procs >= 1, "procs %u", si.procs);
	return 1;
}

/* One 1 KiB frame per level, kept alive across the call by the read after it. */
__attribute__((noinline)) static unsigned deep(unsigned n)
{
	volatile unsigned char buf[1024];
	buf[0] = (unsigned char)n;
	buf[sizeof buf - 1] = (unsigned char)(n >> 3);
	unsigned r = n ? deep(n - 1) : 0;
	return r + buf[0] + buf[sizeof buf - 1];
}

static int t_stack_growth(void)
{
	/* About 2 MiB of frames: well past the stack's first mapping, within the 8 MiB limit,
	 * so the stack must grow on faults as a Linux stack VMA does. */
	unsigned want = 0;
	for (unsigned k = 0; k <= 2000; k++)
		want += (k & 0xff) + ((k >> 3) & 0xff);
	unsigned got = deep(2000);
	CHECK(got == want, "deep recursion gave %u, want %u", got, want);
	return 1;
}

static int t_rlimit(void)
{
	struct rlimit st, nf, nf2, old;
	CHECK(getrlimit(RLIMIT_STACK, &st) == 0, "getrlimit STACK: %s", strerror(errno));
	CHECK(st.rlim_max == RLIM_INFINITY || st.rlim_cur <= st.rlim_max, "stack cur > max");
	CHECK(st.rlim_cur >= 65536, "stack limit %llu", (unsigned long long)st.rlim_cur);
	CHECK(getrlimit(RLIMIT_NOFILE, &nf) == 0, "getrlimit NOFILE");
	CHECK(nf.rlim_cur >= 64 && nf.rlim_cur <= nf.rlim_max, "NOFILE %llu/%llu",
	      (unsigned long long)nf.rlim_cur, (unsigned long long)nf.rlim_max);
	CHECK(prlimit(0, RLIMIT_NOFILE, NULL, &nf2) == 0, "prlimit get: %s", strerror(errno));
	CHECK(nf2.rlim_cur == nf.rlim_cur && nf2.rlim_max == nf.rlim_max, "prlimit and getrlimit differ");
	/* Lower the soft limit, see it, and put it back. */
	struct rlimit lower = { 64, nf.rlim_max };
	CHECK(prlimit(0, RLIMIT_NOFILE, &lower, &old) == 0, "prlimit set: %s", strerror(errno));
	CHECK(old.rlim_cur == nf.rlim_cur, "prlimit's old value");
	struct rlimit now;
	getrlimit(RLIMIT_NOFILE, &now);
	int bad = now.rlim_cur != 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &nf) == 0, "setrlimit back: %s", strerror(errno));
	CHECK(!bad, "soft limit not lowered");
	getrlimit(RLIMIT_NOFILE, &now);
	CHECK(now.rlim_cur == nf.rlim_cur, "soft limit not restored");
	struct rlimit inv = { 10, 5 };
	errno = 0;
	CHECK(setrlimit(RLIMIT_NOFILE, &inv) == -1 && errno == EINVAL, "cur > max accepted");
	return 1;
}

/* Bad pointers to ppoll and pipe answer EFAULT (the timeout pointer is read before the wait,
 * and nothing is left half-done). */
static int t_efault_paths(void)
{
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	long r = syscall(SYS_ppoll, &pfd, 1, (void *)8, NULL, 8);
	CHECK(r == -1 && errno == EFAULT, "ppoll with timeout at 0x8: %ld (%s)", r, strerror(errno));
	r = syscall(SYS_pipe2, (void *)8, 0);
	CHECK(r == -1 && errno == EFAULT, "pipe2 into 0x8: %ld (%s)", r, strerror(errno));
	CHECK(write(fds[1], "ab", 2) == 2, "write to pipe");
	void *volatile bad = (void *)8;
	r = read(fds[0], bad, 2);
	CHECK(r == -1 && errno == EFAULT, "pipe read into 0x8: %ld (%s)", r, strerror(errno));
	char buf[4];
	CHECK(read(fds[0], buf, 4) == 2 && memcmp(buf, "ab", 2) == 0, "bytes kept after EFAULT");
	close(fds[0]);
	close(fds[1]);
	return 1;
}

/* The floating-point control state a process starts with (Linux: x87 control word 0x37f
 * and MXCSR 0x1f80 on x86_64, FPCR 0 on arm64, fcsr 0 on riscv64), and what it means: a
 * division by zero gives inf instead of a trap. */
static int t_fp_start_state(void)
{
#if defined(__x86_64__)
	unsigned short cw;
	unsigned int mx;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	__asm__ volatile("stmxcsr %0" : "=m"(mx));
	CHECK(cw == 0x37f && mx == 0x1f80, "x87 cw %#x, mxcsr %#x", cw, mx);
#elif defined(__aarch64__)
	unsigned long fpcr;
	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	CHECK(fpcr == 0, "fpcr %#lx", fpcr);
#elif defined(__riscv)
	unsigned long fcsr;
	__asm__ volatile("frcsr %0" : "=r"(fcsr));
	CHECK(fcsr == 0, "fcsr %#lx", fcsr);
#endif
	volatile double zero = 0.0, one = 1.0;
	double q = one / zero;
	CHECK(q > 1e308, "1/0 = %g", q);
	return 1;
}

/* Calls real programs make at start or around exec: close_range (glibc's closefrom),
 * getpriority/setpriority, getresuid/getresgid, posix_fadvise, mlock. */
static int t_misc_calls(void)
{
	int a = dup(1), b = dup(1), c = dup(1);
	CHECK(a >= 0 && b > a && c > b, "dup");
	CHECK(syscall(SYS_close_range, b, b, 4) == 0, "close_range CLOEXEC: %s", strerror(errno));
	CHECK(fcntl(b, F_GETFD) == FD_CLOEXEC, "close_range left fd %d without FD_CLOEXEC", b);
	CHECK(syscall(SYS_close_range, a, ~0U, 0) == 0, "close_range: %s", strerror(errno));
	errno = 0;
	CHECK(fcntl(a, F_GETFD) == -1 && errno == EBADF && fcntl(c, F_GETFD) == -1,
	      "close_range left fds open");
	errno = 0;
	CHECK(syscall(SYS_close_range, 5, 4, 0) == -1 && errno == EINVAL, "close_range 5..4");
	CHECK(setpriority(PRIO_PROCESS, 0, 5) == 0, "setpriority: %s", strerror(errno));
	errno = 0;
	int nice_now = getpriority(PRIO_PROCESS, 0);
	CHECK(nice_now == 5 && errno == 0, "getpriority %d", nice_now);
	uid_t r, e, s;
	CHECK(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid() && s == getuid(),
	      "getresuid");
	gid_t gr, ge, gs;
	CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == getgid() && ge == getegid(), "getresgid");
	int fd = open(gpath("/data/words.txt"), O_RDONLY);
	CHECK(fd >= 0, "open words.txt");
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise");
	close(fd);
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	CHECK(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE, "posix_fadvise on a pipe");
	close(p[0]);
	close(p[1]);
	static char page[4096];
	CHECK(mlock(page, sizeof page) == 0 && munlock(page, sizeof page) == 0, "mlock: %s",
	      strerror(errno));
	return 1;
}

struct test {
	const char *name;
	int (*fn)(void);
};

static const struct test tests[] = {
	{ "write", t_write },
	{ "writev_stdout", t_writev_stdout },
	{ "read_data", t_read_data },
	{ "read_checksum", t_read_checksum },
	{ "bad_fd", t_bad_fd },
	{ "efault_paths", t_efault_paths },
	{ "fp_start_state", t_fp_start_state },
	{ "misc_calls", t_misc_calls },
	{ "create_file", t_create_file },
	{ "writev_readv", t_writev_readv },
	{ "pread_pwrite", t_pread_pwrite },
	{ "lseek", t_lseek },
	{ "lseek_hole", t_lseek_hole },
	{ "ftruncate", t_ftruncate },
	{ "getdents64", t_getdents64 },
	{ "stat", t_stat },
	{ "mkdir_rmdir", t_mkdir_rmdir },
	{ "rename", t_rename },
	{ "getcwd_chdir", t_getcwd_chdir },
	{ "dup_fcntl", t_dup_fcntl },
	{ "access", t_access },
	{ "readlink_exe", t_readlink_exe },
	{ "brk", t_brk },
	{ "mmap_anon", t_mmap_anon },
	{ "mremap", t_mremap },
	{ "mprotect", t_mprotect },
	{ "malloc", t_malloc },
	{ "clock_monotonic", t_clock_monotonic },
	{ "clock_realtime", t_clock_realtime },
	{ "nanosleep", t_nanosleep },
	{ "getrandom", t_getrandom },
	{ "argv", t_argv },
	{ "envp", t_envp },
	{ "auxv", t_auxv },
	{ "uname", t_uname },
	{ "pids", t_pids },
	{ "ids", t_ids },
	{ "umask", t_umask },
	{ "sysinfo", t_sysinfo },
	{ "rlimit", t_rlimit },
	{ "stack_growth", t_stack_growth },
};

static void usage(void)
{
	fprintf(stderr, "usage: usertests [--root-prefix DIR] [-- alpha 'with space' '']\n");
	exit(2);
}

int main(int argc, char **argv, char **envp)
{
	g_argc = argc;
	g_argv = argv;
	g_envp = envp;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--root-prefix") == 0 && i + 1 < argc) {
			const char *dir = argv[++i];
			if (dir[0] == 0) {
				prefix[0] = 0;
			} else if (!realpath(dir, prefix)) {
				fprintf(stderr, "usertests: --root-prefix %s: %s\n", dir, strerror(errno));
				return 2;
			}
			if (strcmp(prefix, "/") == 0)
				prefix[0] = 0;
		} else if (strcmp(argv[i], "--") == 0) {
			have_args = 1;
			args_at = i + 1;
			break;
		} else {
			usage();
		}
	}

	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		fail_reason[0] = 0;
		errno = 0;
		int r = tests[i].fn();
		if (r == 2) {	/* the test printed its own OK line */
			passed++;
			continue;
		}
		if (r) {
			printf("test %s: OK\n", tests[i].name);
			passed++;
		} else {
			printf("test %s: FAILED (%s)\n", tests[i].name,
			       fail_reason[0] ? fail_reason : "no reason given");
			failed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed == 0 ? 0 : 1;
}
