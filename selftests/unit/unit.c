// SPDX-License-Identifier: GPL-2.0
/* The harness behind unit.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#define UNIT_MAX_REPORTS	8	/* failure messages printed per test */

static unsigned long unit_failures;

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (unit_failures++ >= UNIT_MAX_REPORTS)
		return;
	printf("#   FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void unit_note(const char *fmt, ...)
{
	va_list ap;

	fputs("#   ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int unit_main(const struct unit_test *tests, unsigned int n)
{
	unsigned int i, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%u\n", n);
	for (i = 0; i < n; i++) {
		unit_failures = 0;
		tests[i].fn();
		if (unit_failures > UNIT_MAX_REPORTS)
			printf("#   ... %lu failures in all\n", unit_failures);
		printf("%sok %u %s\n", unit_failures ? "not " : "", i + 1,
		       tests[i].name);
		failed += !!unit_failures;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
