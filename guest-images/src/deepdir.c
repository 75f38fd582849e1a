/* deepdir: makes and enters N nested directories `d` under a fresh directory in BASE, then at
 * the bottom asks the kernel for the cwd (the raw getcwd system call, so the kernel's own
 * answer shows: its length, or ERANGE / ENAMETOOLONG past a page), stats `.`, makes, writes,
 * stats and reads back a file, stats a relative path that climbs back up and down, and
 * finally removes the whole tree from the bottom up (chdir .. and rmdir at each level).
 * Prints only what is the same on any Linux: no names that depend on the run.
 * Usage: deepdir N [BASE]   BASE (default /tmp) is made if missing; /dev/shm keeps a native
 * run in memory (the guest's whole file system is). The path-lookup benchmark and the
 * deep-tree test both run it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what, long level) {
    printf("%s failed at level %ld: %s\n", what, level, strerror(errno));
    exit(1);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    const char *base = argc > 2 ? argv[2] : "/tmp";
    if (mkdir(base, 01777) && errno != EEXIST) die("mkdir base", 0);
    char top[4096];
    snprintf(top, sizeof top, "%s/deepdir-XXXXXX", base);
    if (!mkdtemp(top)) die("mkdtemp", 0);
    if (chdir(top)) die("chdir top", 0);
    for (long i = 1; i <= n; i++) {
        if (mkdir("d", 0755)) die("mkdir", i);
        if (chdir("d")) die("chdir", i);
    }
    printf("depth %ld\n", n);

    static char buf[1 << 16];
    long r = syscall(SYS_getcwd, buf, sizeof buf);
    if (r < 0)
        printf("getcwd: %s\n", strerror(errno));
    else
        printf("getcwd length %ld (top + %ld)\n", r - 1, (long)(r - 1 - strlen(top)));
    r = syscall(SYS_getcwd, buf, 64);
    printf("getcwd in 64 bytes: %s\n", r < 0 ? strerror(errno) : "fits");

    struct stat st;
    if (stat(".", &st)) die("stat .", n);
    printf("stat .: dir %d, links %ld\n", S_ISDIR(st.st_mode), (long)st.st_nlink);

    int fd = open("f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) die("open f", n);
    if (write(fd, "deep\n", 5) != 5) die("write f", n);
    close(fd);
    if (stat("f", &st)) die("stat f", n);
    printf("stat f: regular %d, size %ld\n", S_ISREG(st.st_mode), (long)st.st_size);
    fd = open("f", O_RDONLY);
    if (fd < 0) die("open f again", n);
    char got[8] = {0};
    if (read(fd, got, sizeof got - 1) != 5) die("read f", n);
    close(fd);
    printf("read f: %s", got);
    if (n >= 3) {
        if (stat("../../d/d/f", &st)) die("stat ../../d/d/f", n);
        printf("stat ../../d/d/f: size %ld\n", (long)st.st_size);
    }

    if (unlink("f")) die("unlink f", n);
    for (long i = n; i >= 1; i--) {
        if (chdir("..")) die("chdir ..", i);
        if (rmdir("d")) die("rmdir", i);
    }
    if (chdir(base)) die("chdir base", 0);
    if (rmdir(top)) die("rmdir top", 0);
    printf("removed\n");
    return 0;
}
