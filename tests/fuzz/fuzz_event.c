/*
 * fuzz_event.c: utf8_valid, event_check_room/nick/text against reference
 * rules written from PROTOCOL.md, and event_encode: an event that passed
 * the checks encodes within EVENT_JSON_MAX and json-c reads back the very
 * same strings.
 *
 * The input is split at its first two 0xff bytes (never in UTF-8) into
 * room, nick and text; each part, and the whole input, goes through every
 * check. The last byte picks the event type, max_text and ts.
 */
#include <json-c/json.h>

#include "fuzz.h"
#include "event.h"

static const int64_t	ts_choices[] = {
	0, 1, -1, 1764000000123LL, INT64_MAX, INT64_MIN
};

static int
ref_room(const uint8_t *s, size_t len)
{
	if (len < 1 || len > 64)
		return 400;
	for (size_t i = 0; i < len; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_.-", s[i]) || s[i] == '\0')
			return 400;
	return 0;
}

/* Trims U+0020 both ends into *off, *len; then the nick rule. */
static int
ref_nick(const uint8_t *s, size_t n, size_t *off, size_t *len)
{
	size_t	a = 0, b = n, ncp = 0, cl;

	while (a < b && s[a] == ' ')
		a++;
	while (b > a && s[b - 1] == ' ')
		b--;
	*off = a;
	*len = b - a;
	if (!ref_utf8(s + a, b - a, NULL))
		return 400;
	for (size_t i = a; i < b; i += cl, ncp++) {
		uint32_t cp = ref_cp(s + i, &cl);
		if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f))
			return 400;
	}
	return ncp >= 1 && ncp <= 32 ? 0 : 400;
}

static int
ref_text(const uint8_t *s, size_t n, size_t max)
{
	if (n < 1)
		return 400;
	if (n > max)
		return 413;
	if (!ref_utf8(s, n, NULL))
		return 400;
	for (size_t i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r') || s[i] == 0x7f)
			return 400;
	return 0;
}

static void
check_utf8(const uint8_t *s, size_t n)
{
	size_t	ncp = (size_t)-1, rcp = (size_t)-2;
	bool	ok = utf8_valid((const char *)s, n, &ncp);
	bool	rok = ref_utf8(s, n, &rcp);

	FUZZ_CHECK(ok == rok, "utf8_valid %d, reference %d on %s", ok, rok,
	    fuzz_hex(s, n));
	FUZZ_CHECK(!ok || ncp == rcp, "%zu code points, reference %zu", ncp,
	    rcp);
}

/* The string member name of o, byte for byte equal to s[0..len)? */
static bool
member_is(struct json_object *o, const char *name, const char *s, size_t len)
{
	struct json_object	*m;

	return json_object_object_get_ex(o, name, &m) &&
	    json_object_is_type(m, json_type_string) &&
	    (size_t)json_object_get_string_len(m) == len &&
	    memcmp(json_object_get_string(m), s, len) == 0;
}

static void
check_encode(const char *room, const char *nick, size_t nicklen,
    const char *text, size_t textlen, size_t max, uint8_t pick)
{
	struct event		 ev = { 0 };
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o, *m;
	size_t			 buflen = EVENT_JSON_MAX(max);
	char			*buf = malloc(buflen);
	ssize_t			 n;

	ev.type = (pick & 3) == 1 ? EVENT_JOIN : (pick & 3) == 2 ?
	    EVENT_LEAVE : EVENT_MESSAGE;
	ev.ts = ts_choices[(pick >> 2) % (sizeof ts_choices /
	    sizeof ts_choices[0])];
	ev.room = room;
	ev.nick = nick;
	ev.text = text;
	ev.textlen = textlen;
	n = event_encode(&ev, buf, buflen);
	FUZZ_CHECK(n > 0, "event_encode failed (max_text %zu, text %zu bytes)",
	    max, textlen);
	FUZZ_CHECK((size_t)n < buflen && buf[n] == '\0' && buf[0] == '{',
	    "event_encode length %zd of %zu", n, buflen);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)n);
	FUZZ_CHECK(o != NULL && json_tokener_get_parse_end(tok) == (size_t)n &&
	    json_object_is_type(o, json_type_object), "not JSON: %.200s", buf);
	FUZZ_CHECK(member_is(o, "room", room, strlen(room)), "room differs");
	FUZZ_CHECK(member_is(o, "nick", nick, nicklen), "nick differs: %s",
	    buf);
	FUZZ_CHECK(member_is(o, "type", event_type_name(ev.type),
	    strlen(event_type_name(ev.type))), "type differs");
	FUZZ_CHECK(json_object_object_get_ex(o, "ts", &m) &&
	    json_object_is_type(m, json_type_int) &&
	    json_object_get_int64(m) == ev.ts, "ts differs: %s", buf);
	if (ev.type == EVENT_MESSAGE)
		FUZZ_CHECK(member_is(o, "text", text, textlen),
		    "text differs: %s", buf);
	else
		FUZZ_CHECK(!json_object_object_get_ex(o, "text", NULL),
		    "a %s has a text", event_type_name(ev.type));
	FUZZ_CHECK(json_object_object_length(o) == (ev.type == EVENT_MESSAGE ?
	    5 : 4), "members: %s", buf);
	json_object_put(o);
	json_tokener_free(tok);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*part[3];
	size_t		 plen[3], k = 0, start = 0, max, off, len;
	uint8_t		 pick = size ? data[size - 1] : 0;
	int		 st[3];
	const char	*why, *s;
	char		*room, *nick, *text;

	for (size_t i = 0; i <= size && k < 3; i++)
		if (i == size || (data[i] == 0xff && k < 2)) {
			part[k] = data + start;
			plen[k++] = i - start;
			start = i + 1;
		}
	while (k < 3)
		part[k] = data, plen[k++] = 0;
	max = pick & 0x80 ? EVENT_TEXT_DEFAULT : 1 + (pick & 0x7f);
	check_utf8(data, size);
	for (int p = 0; p < 3; p++)
		check_utf8(part[p], plen[p]);

	why = NULL;
	st[0] = event_check_room((const char *)part[0], plen[0], &why);
	FUZZ_CHECK(st[0] == ref_room(part[0], plen[0]), "room %d on %s",
	    st[0], fuzz_hex(part[0], plen[0]));
	FUZZ_CHECK(st[0] == 0 || why != NULL, "room: no reason");

	why = NULL;
	s = (const char *)part[1];
	len = plen[1];
	st[1] = event_check_nick(&s, &len, &why);
	FUZZ_CHECK(st[1] == ref_nick(part[1], plen[1], &off, &k), "nick %d on %s",
	    st[1], fuzz_hex(part[1], plen[1]));
	FUZZ_CHECK(st[1] == 0 || why != NULL, "nick: no reason");
	if (st[1] == 0) {
		size_t ncp;
		FUZZ_CHECK(s == (const char *)part[1] + off && len == k,
		    "nick trimmed to [%td, %zu), reference [%zu, %zu)",
		    s - (const char *)part[1], len, off, k);
		FUZZ_CHECK(ref_utf8((const uint8_t *)s, len, &ncp) &&
		    ncp >= 1 && ncp <= 32 && s[0] != ' ' && s[len - 1] != ' ' &&
		    len <= EVENT_NICK_BYTES, "nick passed with %zu bytes", len);
	}

	why = NULL;
	st[2] = event_check_text((const char *)part[2], plen[2], max, &why);
	FUZZ_CHECK(st[2] == ref_text(part[2], plen[2], max),
	    "text %d (max %zu) on %s", st[2], max, fuzz_hex(part[2], plen[2]));
	FUZZ_CHECK(st[2] == 0 || why != NULL, "text: no reason");
	if (st[2] == 0)
		FUZZ_CHECK(!memchr(part[2], 0, plen[2]) &&
		    !memchr(part[2], 0x1b, plen[2]) &&
		    !memchr(part[2], 0x7f, plen[2]), "text passed with NUL/ESC/DEL");

	if (st[0] != 0 || st[1] != 0 || st[2] != 0)
		return 0;
	room = strndup((const char *)part[0], plen[0]);
	nick = strndup(s, len);		/* the trimmed nick, as h_send does */
	text = malloc(plen[2] + 1);
	memcpy(text, part[2], plen[2]);
	check_encode(room, nick, len, text, plen[2], max, pick);
	free(room);
	free(nick);
	free(text);
	return 0;
}
