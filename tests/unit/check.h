/* check.h: the unit-test table, as memcached's testapp.c does it. */
#ifndef FCOMET_CHECK_H
#define FCOMET_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

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

/* Strict json-c parse of exactly len bytes (not NUL-terminated). */
static inline struct json_object *
parse_len(const char *s, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

#endif
