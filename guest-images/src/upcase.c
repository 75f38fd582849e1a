/* upcase: copy stdin to stdout in upper case, then report how many bytes on stderr.
 * A filter for pipelines that mix architectures in one machine. */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
	int c;
	long n = 0;
	while ((c = getchar()) != EOF) {
		putchar(toupper(c));
		n++;
	}
	fprintf(stderr, "upcase: %ld bytes\n", n);
	return 0;
}
