/*
 * tap_diag.c: a TAP comment block (see tap_diag.h). The text is data: it is
 * only ever an argument of %.*s, never a format.
 */
#include <stdio.h>
#include <string.h>

#include "check/tap_diag.h"

void tap_diag(const char *label, const char *s, size_t len, size_t max_lines, int max_width)
{
	size_t shown = 0;

	printf("#   %s:", label);
	if (len == 0) {
		printf(" (nothing)\n");
		return;
	}
	putchar('\n');
	while (len > 0 && shown < max_lines) {
		const char *nl = memchr(s, '\n', len);
		size_t n = nl ? (size_t)(nl - s) : len;

		printf("#     | %.*s\n", (int)(n > (size_t)max_width ? (size_t)max_width : n), s);
		shown++;
		if (!nl)
			break;
		len -= n + 1;
		s = nl + 1;
	}
	if (len > 0 && shown == max_lines)
		printf("#     | ...\n");
}
