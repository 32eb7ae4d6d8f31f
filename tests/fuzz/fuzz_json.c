/*
 * fuzz_json.c: fields_json() (POST /send JSON bodies) against a reference
 * RFC 8259 parser written here. PROTOCOL.md: the body is one JSON object
 * in valid UTF-8, a lone surrogate escape anywhere is invalid, room, nick
 * and text must be strings given at most once (keys compared after
 * unescaping, byte for byte), other members are ignored. Nesting deeper
 * than 16 containers is refused (fcomet's limit).
 *
 * json-c, which fcomet parses with, accepts a few things RFC 8259 does
 * not (NaN, Infinity, -Infinity, "1.", "-0123", "-.5", raw control
 * characters in strings). The reference knows them: an input that is valid only with
 * them is not compared, anything else json-c lets through is a failure.
 */
#include "fuzz.h"
#include "fields.h"

#define DEPTH_MAX	16

struct jbuf {
	uint8_t	*p;
	size_t	 len, cap;
};

struct member {			/* a top-level member */
	struct jbuf	key;
	struct jbuf	str;	/* its value, if a string */
	bool		is_str;
};

struct jp {
	const uint8_t	*p, *end;
	int		 depth, maxdepth;
	bool		 lenient;	/* accept json-c's extras */
	bool		 lone;		/* a lone surrogate escape */
	struct member	*m;
	size_t		 nm, mcap;
};

static bool	jp_value(struct jp *, struct jbuf *, bool *);

static void
jb_put(struct jbuf *b, const void *p, size_t n)
{
	if (b == NULL)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 16;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
jb_cp(struct jbuf *b, uint32_t cp)
{
	uint8_t	u[4];

	if (cp < 0x80)
		u[0] = (uint8_t)cp, jb_put(b, u, 1);
	else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		jb_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		jb_put(b, u, 3);
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		jb_put(b, u, 4);
	}
}

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
jp_lit(struct jp *j, const char *lit)
{
	size_t	n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static int
hex4(const uint8_t *p, const uint8_t *end)
{
	int	v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];
		int h = c >= '0' && c <= '9' ? c - '0' :
		    (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
		    : -1;
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* After the opening quote; the decoded bytes go to out (may be NULL). */
static bool
jp_string(struct jp *j, struct jbuf *out)
{
	while (j->p < j->end) {
		uint8_t	c = *j->p++;
		int	v, lo;

		if (c == '"')
			return true;
		if (c < 0x20) {
			if (!j->lenient)
				return false;
			jb_put(out, &c, 1);
			continue;
		}
		if (c != '\\') {
			jb_put(out, &c, 1);
			continue;
		}
		if (j->p == j->end)
			return false;
		c = *j->p++;
		switch (c) {
		case '"': case '\\': case '/':
			break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if ((v = hex4(j->p, j->end)) < 0)
				return false;
			j->p += 4;
			if (v >= 0xdc00 && v <= 0xdfff)
				j->lone = true;
			else if (v >= 0xd800 && v <= 0xdbff) {
				if (j->end - j->p >= 6 && j->p[0] == '\\' &&
				    j->p[1] == 'u' &&
				    (lo = hex4(j->p + 2, j->end)) >= 0xdc00 &&
				    lo <= 0xdfff) {
					j->p += 6;
					v = 0x10000 + ((v - 0xd800) << 10) +
					    (lo - 0xdc00);
				} else
					j->lone = true;
			}
			jb_cp(out, (uint32_t)v);
			continue;
		default:
			return false;
		}
		jb_put(out, &c, 1);
	}
	return false;
}

static bool
jp_digits(struct jp *j)
{
	const uint8_t	*s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool
jp_number(struct jp *j)
{
	if (j->lenient && (jp_lit(j, "NaN") || jp_lit(j, "Infinity") ||
	    jp_lit(j, "-Infinity")))
		return true;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->lenient) {	/* json-c: -0123, -.5, 1. */
		bool d = jp_digits(j);
		if (j->p < j->end && *j->p == '.') {
			j->p++;
			d |= jp_digits(j);
		}
		if (!d)
			return false;
	} else if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!jp_digits(j))
		return false;
	if (!j->lenient && j->p < j->end && *j->p == '.') {
		j->p++;
		if (!jp_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!jp_digits(j))
			return false;
	}
	return true;
}

static bool
jp_container(struct jp *j, bool object)
{
	bool	top = object && j->depth == 0, first = true;

	if (++j->depth > j->maxdepth)
		j->maxdepth = j->depth;
	jp_ws(j);
	if (j->p < j->end && *j->p == (object ? '}' : ']')) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		struct member	 scratch = { 0 }, *m = &scratch;

		if (!first) {
			jp_ws(j);
			if (j->p == j->end)
				return false;
			if (*j->p == (object ? '}' : ']')) {
				j->p++;
				j->depth--;
				return true;
			}
			if (*j->p++ != ',')
				return false;
		}
		first = false;
		jp_ws(j);
		if (top) {
			if (j->nm == j->mcap) {
				j->mcap = j->mcap * 2 + 4;
				j->m = realloc(j->m, j->mcap * sizeof *j->m);
			}
			m = &j->m[j->nm++];
			memset(m, 0, sizeof *m);
		}
		if (object) {
			if (j->p == j->end || *j->p++ != '"' ||
			    !jp_string(j, top ? &m->key : NULL))
				return false;
			jp_ws(j);
			if (j->p == j->end || *j->p++ != ':')
				return false;
			jp_ws(j);
		}
		if (!jp_value(j, top ? &m->str : NULL, &m->is_str))
			return false;
	}
}

static bool
jp_value(struct jp *j, struct jbuf *str, bool *is_str)
{
	*is_str = false;
	if (j->p == j->end)
		return false;
	switch (*j->p) {
	case '{':
	case '[':
		return jp_container(j, *j->p++ == '{');
	case '"':
		j->p++;
		*is_str = true;
		return jp_string(j, str);
	case 't':
		return jp_lit(j, "true");
	case 'f':
		return jp_lit(j, "false");
	case 'n':
		return jp_lit(j, "null");
	default:
		return jp_number(j);
	}
}

static void
jp_free(struct jp *j)
{
	for (size_t i = 0; i < j->nm; i++) {
		free(j->m[i].key.p);
		free(j->m[i].str.p);
	}
	free(j->m);
}

/* Parses the whole input; true if it is one JSON value and nothing else. */
static bool
jp_parse(struct jp *j, const uint8_t *s, size_t len, bool lenient)
{
	bool	is_str;

	memset(j, 0, sizeof *j);
	j->p = s;
	j->end = s + len;
	j->lenient = lenient;
	if (!ref_utf8(s, len, NULL))
		return false;
	jp_ws(j);
	if (!jp_value(j, NULL, &is_str))
		return false;
	jp_ws(j);
	return j->p == j->end;
}

static const char	*names[3] = { "room", "nick", "text" };

/* What fcomet should answer, by PROTOCOL.md; -1: not compared. */
static int
expect(const uint8_t *data, size_t size, struct member *want[3])
{
	struct jp	j, l;
	bool		ok = jp_parse(&j, data, size, false);
	int		rc = 0;

	want[0] = want[1] = want[2] = NULL;
	if (!ok) {
		bool lok = jp_parse(&l, data, size, true);
		jp_free(&j);
		jp_free(&l);
		return lok ? -1 : 400;
	}
	if (j.maxdepth > DEPTH_MAX || j.lone)
		rc = 400;
	for (size_t k = 0; k < size && rc == 0; k++) {	/* an object? */
		if (data[k] == '{')
			break;
		if (data[k] != ' ' && data[k] != '\t' && data[k] != '\n' &&
		    data[k] != '\r')
			rc = 400;
	}
	for (int f = 0; f < 3 && rc == 0; f++) {
		for (size_t i = 0; i < j.nm; i++) {
			struct member *m = &j.m[i];
			if (m->key.len != strlen(names[f]) ||
			    memcmp(m->key.p, names[f], m->key.len) != 0)
				continue;
			if (want[f] != NULL || !m->is_str) {
				rc = 400;
				break;
			}
			want[f] = malloc(sizeof *m);
			*want[f] = *m;
			want[f]->str.p = malloc(m->str.len + 1);
			if (m->str.len > 0)
				memcpy(want[f]->str.p, m->str.p, m->str.len);
		}
	}
	jp_free(&j);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields	 fl;
	struct member	*want[3];
	const char	*why = NULL;
	int		 st, rc;

	st = fields_json(&fl, (const char *)data, size, &why);
	rc = expect(data, size, want);
	FUZZ_CHECK(st == 0 || st == 400, "fields_json %d", st);
	FUZZ_CHECK(st == 0 || why != NULL, "no reason for %d", st);
	if (rc != -1)
		FUZZ_CHECK(st == rc, "fields_json %d (%s), reference %d", st,
		    st ? why : "", rc);
	for (int f = 0; st == 0 && f < 3; f++) {
		if (fl.v[f] != NULL)
			FUZZ_CHECK(fl.v[f][fl.len[f]] == '\0',
			    "%s unterminated", names[f]);
		if (rc != 0)
			continue;
		FUZZ_CHECK((fl.v[f] == NULL) == (want[f] == NULL),
		    "%s given %d, reference %d", names[f], fl.v[f] != NULL,
		    want[f] != NULL);
		if (fl.v[f] != NULL)
			FUZZ_CHECK(fl.len[f] == want[f]->str.len &&
			    memcmp(fl.v[f], want[f]->str.p, fl.len[f]) == 0,
			    "%s is %s", names[f], fuzz_hex(fl.v[f], fl.len[f]));
	}
	for (int f = 0; f < 3; f++)
		if (want[f] != NULL) {
			free(want[f]->str.p);
			free(want[f]);
		}
	fields_free(&fl);
	return 0;
}
