/*
 * fuzz_form.c: fields_form() (query strings and form bodies) against a
 * reference decoder written from PROTOCOL.md: '&'-separated pairs, '+'
 * and %XX decoding of names and values, a malformed escape anywhere, a
 * repeated known field or a known field that is not UTF-8 after decoding
 * is a 400; unknown fields are ignored; a name without '=' is given empty.
 */
#include "fuzz.h"
#include "fields.h"

static const char	*names[F_COUNT] = {
	"room", "nick", "text", "since", "timeout", "token"
};

static int
hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes s[0..len) into out; its length, or -1 on a malformed escape. */
static long
ref_decode(const uint8_t *s, size_t len, uint8_t *out)
{
	size_t	o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				return -1;
			out[o++] = (uint8_t)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else
			out[o++] = s[i] == '+' ? ' ' : s[i];
	}
	return (long)o;
}

struct ref {
	uint8_t	*v[F_COUNT];
	long	 len[F_COUNT];
};

static int
ref_form(const uint8_t *in, size_t len, struct ref *r, uint8_t *scratch)
{
	size_t	start = 0;

	memset(r, 0, sizeof *r);
	while (start <= len) {
		size_t	end = start, eq;
		long	nlen, vlen;
		uint8_t	*name = scratch, *val;

		while (end < len && in[end] != '&')
			end++;
		if (end > start) {
			for (eq = start; eq < end && in[eq] != '='; eq++)
				;
			nlen = ref_decode(in + start, eq - start, name);
			val = scratch + (nlen < 0 ? 0 : nlen);
			vlen = eq < end ? ref_decode(in + eq + 1, end - eq - 1,
			    val) : 0;
			if (nlen < 0 || vlen < 0)
				return 400;
			for (int f = 0; f < F_COUNT; f++) {
				if ((size_t)nlen != strlen(names[f]) ||
				    memcmp(name, names[f], (size_t)nlen) != 0)
					continue;
				if (r->v[f] != NULL)
					return 400;
				r->v[f] = malloc((size_t)vlen + 1);
				memcpy(r->v[f], val, (size_t)vlen);
				r->len[f] = vlen;
				if (!ref_utf8(val, (size_t)vlen, NULL))
					return 400;
			}
		}
		start = end + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields	 fl;
	struct ref	 r;
	const char	*why = NULL;
	uint8_t		*scratch = malloc(2 * size + 2);
	int		 st, want;

	st = fields_form(&fl, (const char *)data, size, &why);
	want = ref_form(data, size, &r, scratch);
	FUZZ_CHECK(st == want, "fields_form %d (%s), reference %d", st,
	    st ? why : "", want);
	FUZZ_CHECK(st == 0 || why != NULL, "no reason for %d", st);
	for (int f = 0; st == 0 && f < F_COUNT; f++) {
		FUZZ_CHECK((fl.v[f] == NULL) == (r.v[f] == NULL),
		    "field %s given %d, reference %d", names[f],
		    fl.v[f] != NULL, r.v[f] != NULL);
		if (fl.v[f] == NULL)
			continue;
		FUZZ_CHECK(fl.len[f] == (size_t)r.len[f] &&
		    memcmp(fl.v[f], r.v[f], fl.len[f]) == 0,
		    "field %s is %s", names[f], fuzz_hex(fl.v[f], fl.len[f]));
		FUZZ_CHECK(fl.v[f][fl.len[f]] == '\0', "field %s unterminated",
		    names[f]);
		FUZZ_CHECK(ref_utf8((const uint8_t *)fl.v[f], fl.len[f], NULL),
		    "field %s not UTF-8", names[f]);
	}
	for (int f = 0; f < F_COUNT; f++)
		free(r.v[f]);
	fields_free(&fl);
	free(scratch);
	return 0;
}
