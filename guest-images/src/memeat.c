/* memeat: malloc 1 MiB blocks and write every page of each, until malloc fails; print how
 * many it got (rounded down to 16 MiB, so the count is the same on any host with the same
 * limit) and exit 0. With argv[1] = "tmp" it fills /tmp/fill with 1 MiB writes instead,
 * until a write fails, and prints the errno name. With argv[1] = "hold" it keeps what it
 * got and waits for a signal after printing. The limits tests run it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char block[1 << 20];
	memset(block, 'x', sizeof block);
	if (argc > 1 && strcmp(argv[1], "tmp") == 0) {
		int fd = open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			perror("memeat: open");
			return 1;
		}
		long mib = 0;
		for (;;) {
			ssize_t w = write(fd, block, sizeof block);
			if (w < 0) {
				printf("memeat: /tmp full after %ld MiB: %s\n", mib, errno == ENOSPC ? "ENOSPC" : strerror(errno));
				break;
			}
			mib++;
		}
		/* A hole costs nothing: one byte at 1 GiB past the end must still fit after
		 * truncating the file away. */
		ftruncate(fd, 0);
		if (pwrite(fd, "y", 1, 1L << 30) == 1)
			printf("memeat: sparse write at 1 GiB ok\n");
		else
			printf("memeat: sparse write at 1 GiB failed: %s\n", strerror(errno));
		return 0;
	}
	long mib = 0;
	for (;;) {
		char *p = malloc(1 << 20);
		if (!p)
			break;
		for (size_t i = 0; i < (1 << 20); i += 4096)
			p[i] = 1;
		mib++;
	}
	printf("memeat: malloc failed after about %ld MiB\n", mib / 16 * 16);
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "hold") == 0)
		pause();
	return 0;
}
