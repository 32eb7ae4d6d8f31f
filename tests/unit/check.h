/* check.h: the unit-test table, as memcached's testapp.c does it. */
#ifndef FCOMET_CHECK_H
#define FCOMET_CHECK_H

#include <stdio.h>
#include <stdlib.h>

struct check_case {
	const char	*name;
	int		(*fn)(void);	/* 0 pass, -1 fail */
};

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: check failed: %s\n",	\
		    __FILE__, __LINE__, __func__, #cond);		\
		return -1;						\
	}								\
} while (0)

static inline int
check_run(const struct check_case *cases)
{
	int	failed = 0;

	for (; cases->name != NULL; cases++) {
		int rc = cases->fn();
		printf("%s: %s\n", rc == 0 ? "PASS" : "FAIL", cases->name);
		fflush(stdout);
		failed += rc != 0;
	}
	return failed ? 1 : 0;
}

#endif
