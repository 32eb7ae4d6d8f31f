/*
 * fuzz_token.c: token_verify() (shared/token.c, libjwt underneath) on any
 * bytes as the token, against an HS256 key: it returns one of its
 * statuses and never crashes; a token it takes has claims within their
 * bounds (a valid nick as sub, room patterns of room characters) and is
 * refused under another key with the same algorithm (so it was signed
 * with this one: nothing but the signature lets a token in).
 */
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "token.h"

#define KEY	"fuzz-secret-key-of-more-than-32-bytes"
#define OTHER	"another-fuzz-secret-of-32-bytes-or-more"

static struct token_key	key, other;

static void
load(struct token_key *k, const char *secret)
{
	char	path[64], err[256];
	FILE	*f;

	snprintf(path, sizeof path, "/tmp/fuzz-token-%d", (int)getpid());
	FUZZ_CHECK((f = fopen(path, "w")) != NULL, "%s", path);
	fputs(secret, f);
	fclose(f);
	FUZZ_CHECK(token_key_load(k, path, "HS256", err, sizeof err) == 0,
	    "%s", err);
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims	c;
	char			tok[TOKEN_MAX + 64];
	enum token_status	st;
	size_t			len;

	if (key.key == NULL) {
		load(&key, KEY);
		load(&other, OTHER);
	}
	if (size > sizeof tok - 1)
		size = sizeof tok - 1;
	memcpy(tok, data, size);
	tok[size] = '\0';
	st = token_verify(&key, tok, 1700000000, &c);
	FUZZ_CHECK(st >= TOKEN_OK && st <= TOKEN_NOT_YET, "status %d", st);
	FUZZ_CHECK(token_why(st) != NULL, "no reason");
	if (st != TOKEN_OK)
		return 0;
	len = strnlen(c.sub, sizeof c.sub);
	FUZZ_CHECK(len >= 1 && len < sizeof c.sub, "sub of %zu bytes", len);
	FUZZ_CHECK(c.nread <= TOKEN_GRANTS && c.nwrite <= TOKEN_GRANTS &&
	    c.len <= TOKEN_GRANT_BYTES, "grants %d/%d", c.nread, c.nwrite);
	for (size_t i = 0, at = 0; i < (size_t)c.nread + c.nwrite; i++) {
		size_t n = strnlen(c.grants + at, c.len - at);
		FUZZ_CHECK(n >= 1 && n <= EVENT_ROOM_MAX + 1 && at + n < c.len,
		    "grant %zu of %zu bytes", i, n);
		at += n + 1;
	}
	FUZZ_CHECK(c.exp > 1700000000, "taken with exp %lld", (long long)c.exp);
	FUZZ_CHECK(token_verify(&other, tok, 1700000000, &c) ==
	    TOKEN_BAD_SIGNATURE, "taken under another key too");
	return 0;
}
