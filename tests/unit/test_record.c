/*
 * test_record.c: record_request_bodiless(), the dispatcher's look at the
 * bytes of a request on a kept connection before it lets libfcgi read
 * them: only a whole request without a body may be read without waiting.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "park.h"
#include "record.h"

/* park.c's, not linked here (record_write waits with it). */
int64_t
mono_ms(void)
{
	return 0;
}

/* Appends one record of type with len content bytes and pad padding. */
static size_t
rec(unsigned char *b, size_t off, int type, size_t len, int pad)
{
	b[off] = 1;
	b[off + 1] = (unsigned char)type;
	b[off + 2] = 0;
	b[off + 3] = 1;
	b[off + 4] = (unsigned char)(len >> 8);
	b[off + 5] = len & 0xff;
	b[off + 6] = (unsigned char)pad;
	b[off + 7] = 0;
	memset(b + off + 8, 'x', len + (size_t)pad);
	return off + 8 + len + (size_t)pad;
}

/* BEGIN_REQUEST, PARAMS (plen bytes, padded), empty PARAMS, then STDIN
 * with body bytes (if any) and the empty STDIN. */
static size_t
request(unsigned char *b, size_t plen, size_t body)
{
	size_t	n = rec(b, 0, 1, 8, 0);

	n = rec(b, n, 4, plen, (int)((8 - plen % 8) % 8));
	n = rec(b, n, 4, 0, 0);
	if (body > 0)
		n = rec(b, n, 5, body, 0);
	return rec(b, n, 5, 0, 0);
}

/* One request (300 bytes of params, body bytes of body), then extra zero
 * bytes, then byte poke set to val (if poke): whole and bodiless? */
struct bodiless_case {
	const char	*name;
	size_t		 body, extra, poke;
	unsigned char	 val;
	bool		 want;
};

static const struct bodiless_case cases[] = {
	{ "record_whole_get_is_bodiless", 0, 0, 0, 0, true },
	{ "record_a_body_is_not", 40, 0, 0, 0, false },
	{ "record_a_byte_after_it_is_not", 0, 1, 0, 0, false },
	{ "record_a_record_after_it_is_not", 0, 8, 0, 0, false },
	{ "record_a_wrong_version_is_not", 0, 0, 16, 2, false },
	/* PARAMS claims 65 KB */
	{ "record_a_length_past_the_end_is_not", 0, 0, 20, 0xff, false },
};

static int
bodiless(const struct bodiless_case *c)
{
	unsigned char	b[4096] = { 0 };
	size_t		n = request(b, 300, c->body) + c->extra;

	if (c->poke != 0)
		b[c->poke] = c->val;
	CHECK(record_request_bodiless(b, n) == c->want);
	return 0;
}

static int
every_cut_of_it_is_not(void)
{
	unsigned char	b[4096];
	size_t		n = request(b, 300, 0);

	for (size_t cut = 0; cut < n; cut++)
		CHECK(!record_request_bodiless(b, cut));
	return 0;
}

int
main(void)
{
	static const struct check_case cut[] = {
		{ "record_every_cut_of_it_is_not", every_cut_of_it_is_not },
		{ NULL, NULL }
	};
	int	failed = 0;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = bodiless(&cases[i]);
		printf("%s: %s\n", rc == 0 ? "PASS" : "FAIL", cases[i].name);
		failed += rc != 0;
	}
	return check_run(cut) || failed;
}
