/* zombies: fork N children (default 200) that each touch K KiB (default 1024) of fresh
 * memory and exit at once. With "keep" the parent reaps none of them until all N have
 * exited, so N zombies exist together; with "reap" each is reaped before the next fork.
 * Then every child's status is collected and checked (each exited with its index mod 100).
 * Linux frees a process's memory when it exits, not when it is reaped: the two modes cost
 * the machine the same. Prints "zombies: N children, M reaped, K bad statuses". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int keep = argc > 1 && strcmp(argv[1], "keep") == 0;
    int n = argc > 2 ? atoi(argv[2]) : 200;
    size_t kib = argc > 3 ? strtoul(argv[3], 0, 10) : 1024;
    int reaped = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) {
            perror("zombies: fork");
            return 1;
        }
        if (p == 0) {
            char *m = malloc(kib << 10);
            if (!m)
                _exit(99);
            memset(m, i & 0xff, kib << 10);
            _exit(m[kib << 9] == (char)(i & 0xff) ? i % 100 : 98);
        }
        if (!keep) {
            int st;
            if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != i % 100)
                bad++;
            reaped++;
        } else {
            /* Wait until this child has exited (a zombie) without reaping it. */
            siginfo_t si;
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, p, &si, WEXITED | WNOWAIT) != 0 || si.si_status != i % 100)
                bad++;
        }
    }
    if (keep) {
        for (int i = 0; i < n; i++) {
            int st;
            pid_t p = wait(&st);
            if (p < 0 || !WIFEXITED(st))
                bad++;
            reaped++;
        }
    }
    printf("zombies: %d children, %d reaped, %d bad statuses\n", n, reaped, bad);
    return bad != 0;
}
