/*
 * fuzz_media_type.c: media_type() of fcgi/route.c (the Content-Type of
 * POST /send), which is static: the harness includes route.c and links
 * the rest of the responder but main.c, options.c and worker.c, defining
 * `opt`, worker_done() and worker_serve() itself.
 *
 * Byte 0, bit 0 set: the rest of the input, cut at its first NUL, is the
 * header as it is: the answer must be 0, 1 or 2, and 1 or 2 only if the
 * header names that media type.
 * Bit 0 clear: the input drives a generator of Content-Type values from
 * the pieces PROTOCOL.md talks about (the two media types in any case and
 * near misses, whitespace, parameters, charset utf-8 in any case, quoted
 * or not, other charsets), whose right answer is known: form 1, JSON 2,
 * else 0, and 0 if a charset parameter is not utf-8.
 */
#include "../../fcgi/route.c"

#include "fuzz.h"

struct options	opt;

/* worker.c's, not linked here: an answered connection is closed, and
 * the dispatcher (never run here) reads no request. */
void
worker_done(int fd, int keep)
{
	(void)keep;
	close(fd);
}

void
worker_serve(struct route_ctx *ctx, struct parked *conn)
{
	(void)ctx;
	conn->verdict = VERDICT_NONE;
}

static const char	*types[] = {
	"application/x-www-form-urlencoded", "application/json",
	"text/plain", "application/jsonx", "multipart/form-data",
	"application/x-www-form-urlencode", "application", "", "json",
};
static const int	 type_kind[] = { 1, 2, 0, 0, 0, 0, 0, 0, 0 };
static const char	*pnames[] = {
	"charset", "boundary", "q", "charsetx", "x-charset", "CHARSET",
};
static const char	*values[] = {
	"utf-8", "\"utf-8\"", "utf8", "latin1", "\"latin1\"", "", "\"\"",
	"UTF-8", "iso-8859-1", "x", "\"a b\"",
};
static const bool	 value_utf8[] = {
	true, true, false, false, false, false, false, true, false, false,
	false,
};

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static size_t
put(char *buf, size_t n, const char *s, struct fuzz_in *in)
{
	uint8_t	caseflips = fuzz_u8(in);

	for (size_t i = 0; s[i] != '\0' && n < 1000; i++) {
		char c = s[i];
		if ((caseflips >> (i % 8)) & 1 && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if ((caseflips >> (i % 8)) & 1 && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[n++] = c;
	}
	return n;
}

static size_t
ows(char *buf, size_t n, struct fuzz_in *in)
{
	uint8_t	b = fuzz_u8(in);

	for (int i = 0; i < (b & 3) && n < 1000; i++)
		buf[n++] = b & 4 ? '\t' : ' ';
	return n;
}

static void
generated(struct fuzz_in *in)
{
	char	buf[1100];
	size_t	n = 0, t = fuzz_u8(in) % N(types), np = fuzz_u8(in) % 4;
	int	want = type_kind[t], got;

	n = ows(buf, n, in);
	n = put(buf, n, types[t], in);
	n = ows(buf, n, in);
	for (size_t i = 0; i < np; i++) {
		size_t p = fuzz_u8(in) % N(pnames), v = fuzz_u8(in) % N(values);
		buf[n++] = ';';
		n = ows(buf, n, in);
		n = put(buf, n, pnames[p], in);
		buf[n++] = '=';
		n = put(buf, n, values[v], in);
		n = ows(buf, n, in);
		if (strcasecmp(pnames[p], "charset") == 0 && !value_utf8[v])
			want = 0;
	}
	buf[n] = '\0';
	got = media_type(buf);
	if (n >= 256)	/* fcomet refuses long ones: not in PROTOCOL.md */
		FUZZ_CHECK(got == 0 || got == want, "%d on %s", got, buf);
	else
		FUZZ_CHECK(got == want, "media_type %d, expected %d on \"%s\"",
		    got, want, buf);
}

static void
raw(struct fuzz_in *in)
{
	char	*s = strndup((const char *)in->p, in->left);
	int	 got = media_type(s);

	FUZZ_CHECK(got >= 0 && got <= 2, "media_type %d", got);
	if (got != 0)
		FUZZ_CHECK(strcasestr(s, got == 1 ?
		    "application/x-www-form-urlencoded" : "application/json")
		    != NULL, "%d on \"%s\"", got, s);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	in = { data, size };

	if (fuzz_u8(&in) & 1)
		raw(&in);
	else
		generated(&in);
	return 0;
}
