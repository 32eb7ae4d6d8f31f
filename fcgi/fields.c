/* fields.c: form, query and JSON decoding; every failure is a 400. */
#include <sys/types.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "fields.h"

#define JSON_DEPTH	16

static const char	*field_names[F_COUNT] = {
	"room", "nick", "text", "since", "timeout", "token"
};

static int
field_lookup(const char *name, size_t len)
{
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(field_names[f]) == len &&
		    memcmp(field_names[f], name, len) == 0)
			return f;
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) in place ('+' and %XX); its new length, or -1. */
static ssize_t
form_decode(char *s, size_t len)
{
	size_t	i, o;

	for (i = o = 0; i < len; i++) {
		if (s[i] == '+')
			s[o++] = ' ';
		else if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			s[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			s[o++] = s[i];
	}
	return (ssize_t)o;
}

/* application/x-www-form-urlencoded, from a query string or a body. */
int
fields_form(struct fields *fl, const char *in, size_t len, const char **why)
{
	char	*p, *end, *amp, *eq;

	memset(fl, 0, sizeof *fl);
	if ((fl->mem = malloc(len + 1)) == NULL)
		return *why = "out of memory", 503;
	memcpy(fl->mem, in, len);
	fl->mem[len] = '\0';
	for (p = fl->mem, end = p + len; p < end; p = amp + 1) {
		ssize_t	nlen, vlen;
		int	f;

		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp == p)
			continue;
		*amp = '\0';
		eq = memchr(p, '=', amp - p);
		nlen = form_decode(p, (eq ? eq : amp) - p);
		vlen = eq ? form_decode(eq + 1, amp - eq - 1) : 0;
		if (nlen < 0 || vlen < 0)
			return *why = "malformed %-escape", 400;
		if ((f = field_lookup(p, (size_t)nlen)) < 0)
			continue;
		if (fl->v[f] != NULL)
			return *why = "a field is repeated", 400;
		fl->v[f] = eq ? eq + 1 : amp;
		fl->v[f][vlen] = '\0';
		fl->len[f] = (size_t)vlen;
		if (!utf8_valid(fl->v[f], fl->len[f], NULL))
			return *why = "a field is not valid UTF-8", 400;
	}
	return 0;
}

static bool
is_hex4(const char *s, const char *end, unsigned *v)
{
	*v = 0;
	if (end - s < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return false;
		*v = *v << 4 | (unsigned)h;
	}
	return true;
}

/* Skips a JSON string body from *pp (after its quote) past its closing
 * quote; -1 on a lone surrogate escape. */
static int
json_string_skip(const char **pp, const char *end, bool *escaped)
{
	const char	*p = *pp;
	bool		 high = false;
	unsigned	 v;

	while (p < end && *p != '"') {
		if (*p == '\\' && p + 1 < end && p[1] == 'u' &&
		    is_hex4(p + 2, end, &v)) {
			bool low = v >= 0xdc00 && v <= 0xdfff;
			if (high != low)
				return -1;
			high = v >= 0xd800 && v <= 0xdbff;
			*escaped = true;
			p += 6;
			continue;
		}
		if (high)
			return -1;
		if (*p == '\\')
			*escaped = true, p++;
		p++;
	}
	if (high)
		return -1;
	*pp = p + 1;
	return 0;
}

/* One code point as UTF-8 at out; its length. */
static size_t
utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes a quoted JSON string of the body (json-c and json_scan have
 * checked it: valid escapes, no lone surrogate) into out, which has room
 * for len bytes; returns the length. Done here because json-c 0.16 turns
 * some valid surrogate pairs (\ud836\udc00) into U+FFFD.
 */
static size_t
json_string_decode(const char *q, size_t len, char *out)
{
	const char	*p = q + 1, *end = q + len - 1;	/* inside the quotes */
	size_t		 o = 0;
	unsigned	 v, lo;

	while (p < end) {
		if (*p != '\\') {
			out[o++] = *p++;
			continue;
		}
		switch (p[1]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			is_hex4(p + 2, end, &v);
			if (v >= 0xd800 && v <= 0xdbff && is_hex4(p + 8, end, &lo)) {
				v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			o += utf8_put(out + o, v);
			p += 4;
			break;
		default: out[o++] = p[1]; break;	/* " \\ / */
		}
		p += 2;
	}
	out[o] = '\0';
	return o;
}

/* The known field a key names, its escapes decoded; -1 if none. */
static int
json_key_field(const char *quoted, size_t len, bool escaped)
{
	char	buf[64];

	if (!escaped)
		return field_lookup(quoted + 1, len - 2);
	if (len > sizeof buf)
		return -1;		/* longer than any field's name */
	return field_lookup(buf, json_string_decode(quoted, len, buf));
}

struct json_field {		/* a known field among the top-level members */
	int		 count;
	const char	*value;		/* its quoted string, or NULL */
	size_t		 len;
};

/*
 * Walks a JSON text json-c has accepted, for what json-c hides: repeated
 * top-level keys (it keeps the last; it even cuts keys at U+0000, so that
 * "room\u0000" would pass for "room") and lone surrogate escapes (it lets
 * them through). Finds each known field's value as the text has it.
 */
static int
json_scan(const char *s, size_t len, struct json_field fields[F_COUNT])
{
	const char	*p = s, *end = s + len, *start;
	char		 stack[JSON_DEPTH + 1];
	int		 depth = 0, f, field = -1;
	bool		 want_key = false, escaped;

	while (p < end) {
		char c = *p++;
		if (field >= 0 && c != ':' && c != ' ' && c != '\t' &&
		    c != '\n' && c != '\r') {
			if (c != '"') {		/* not a string: no value */
				fields[field].value = NULL;
				field = -1;
			} else
				fields[field].value = p - 1;
		}
		switch (c) {
		case '{':
		case '[':
			if (depth == JSON_DEPTH)
				return -1;
			stack[depth++] = c;
			want_key = c == '{';
			continue;
		case '}':
		case ']':
			depth--;
			want_key = false;
			continue;
		case ',':
			want_key = depth > 0 && stack[depth - 1] == '{';
			continue;
		case ':':
			continue;
		case '\'':		/* json-c takes 'strings': JSON does not */
			return -1;
		case '"':
			break;
		default:
			continue;
		}
		start = p - 1;
		escaped = false;
		if (json_string_skip(&p, end, &escaped) == -1)
			return -1;
		if (field >= 0) {		/* a field's string value */
			fields[field].len = (size_t)(p - start);
			field = -1;
		} else if (depth == 1 && want_key && (f = json_key_field(start,
		    (size_t)(p - start), escaped)) != -1) {
			fields[f].count++;
			field = f;
		}
		want_key = false;
	}
	return 0;
}

/* A JSON object whose room, nick and text are strings. */
int
fields_json(struct fields *fl, const char *in, size_t len, const char **why)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	struct json_field	 jf[F_COUNT];
	int			 rc = 400;
	size_t			 total = 0, off = 0;

	memset(fl, 0, sizeof *fl);
	memset(jf, 0, sizeof jf);
	if (!utf8_valid(in, len, NULL))	/* json-c lets overlong forms by */
		return *why = "the body is not valid UTF-8", 400;
	/* json-c's depth counts one more than the levels of nesting */
	if ((tok = json_tokener_new_ex(JSON_DEPTH + 1)) == NULL)
		return *why = "out of memory", 503;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, in, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		*why = "the body is not one valid JSON object";
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		*why = "the body is not a JSON object";
		goto out;
	}
	if (json_scan(in, len, jf) == -1) {
		*why = "the body is not valid JSON (a lone surrogate escape, or "
		    "a string in single quotes)";
		goto out;
	}
	for (int f = F_ROOM; f <= F_TEXT; f++) {
		if (jf[f].count > 1) {
			*why = "a field is repeated";
			goto out;
		}
		if (jf[f].count == 1 && jf[f].value == NULL) {
			*why = "room, nick and text must be strings";
			goto out;
		}
		total += jf[f].len + 1;	/* decoding never grows a string */
	}
	if ((fl->mem = malloc(total + 1)) == NULL) {
		*why = "out of memory";
		rc = 503;
		goto out;
	}
	for (int f = F_ROOM; f <= F_TEXT; f++) {
		if (jf[f].count == 0)
			continue;
		fl->v[f] = fl->mem + off;
		fl->len[f] = json_string_decode(jf[f].value, jf[f].len, fl->v[f]);
		off += fl->len[f] + 1;
	}
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

void
fields_free(struct fields *fl)
{
	free(fl->mem);
	fl->mem = NULL;
}

/* ASCII decimal, 0 to 2^53-1, leading zeros allowed, nothing else. */
int
number_parse(const char *s, size_t len, uint64_t *out)
{
	uint64_t	n = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > EVENT_ID_MAX)
			return -1;
	}
	*out = n;
	return 0;
}
