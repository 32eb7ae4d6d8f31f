/*
 * test_event.c: strict UTF-8, the room, nick and text rules of PROTOCOL.md,
 * and the event JSON as json-c reads it back after the window stored it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "event.h"
#include "window.h"

#define S(lit)	lit, sizeof(lit) - 1	/* a literal and its length */

struct utf8_case {
	const char	*what;
	const char	*s;
	size_t		 len;
	bool		 valid;
	size_t		 ncp;		/* code points, if valid */
};

struct rule_case {
	const char	*what;
	const char	*s;
	size_t		 len;
	int		 status;	/* 0 valid, else 400 or 413 */
};

static char	*repeat(const char *, size_t, size_t *);
static int	 rule_table(const struct rule_case *, size_t, int);

/* n copies of unit, NUL-terminated; its length in *len. */
static char *
repeat(const char *unit, size_t n, size_t *len)
{
	size_t	ul = strlen(unit), i;
	char	*s;

	if ((s = malloc(ul * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	*len = ul * n;
	return s;
}

static int
utf8_accepts_and_rejects_edge_cases(void)
{
	static const struct utf8_case cases[] = {
		{ "empty", S(""), true, 0 },
		{ "ascii", S("hola"), true, 4 },
		{ "U+0080", S("\xc2\x80"), true, 1 },
		{ "U+07FF", S("\xdf\xbf"), true, 1 },
		{ "U+0800", S("\xe0\xa0\x80"), true, 1 },
		{ "U+D7FF", S("\xed\x9f\xbf"), true, 1 },
		{ "U+E000", S("\xee\x80\x80"), true, 1 },
		{ "U+FFFF", S("\xef\xbf\xbf"), true, 1 },
		{ "U+10000", S("\xf0\x90\x80\x80"), true, 1 },
		{ "U+10FFFF", S("\xf4\x8f\xbf\xbf"), true, 1 },
		{ "emoji", S("a\xf0\x9f\x98\x80" "b"), true, 3 },
		{ "U+2028", S("\xe2\x80\xa8"), true, 1 },
		{ "overlong NUL C0 80", S("\xc0\x80"), false, 0 },
		{ "overlong C1 BF", S("\xc1\xbf"), false, 0 },
		{ "overlong E0 80 80", S("\xe0\x80\x80"), false, 0 },
		{ "overlong E0 9F BF", S("\xe0\x9f\xbf"), false, 0 },
		{ "overlong F0 80 80 80", S("\xf0\x80\x80\x80"), false, 0 },
		{ "overlong F0 8F BF BF", S("\xf0\x8f\xbf\xbf"), false, 0 },
		{ "surrogate ED A0 80", S("\xed\xa0\x80"), false, 0 },
		{ "surrogate ED BF BF", S("\xed\xbf\xbf"), false, 0 },
		{ "surrogate pair", S("\xed\xa0\xbd\xed\xb8\x80"), false, 0 },
		{ "above U+10FFFF F4 90 80 80", S("\xf4\x90\x80\x80"), false, 0 },
		{ "F5 lead", S("\xf5\x80\x80\x80"), false, 0 },
		{ "FE", S("\xfe"), false, 0 },
		{ "FF", S("\xff"), false, 0 },
		{ "truncated 2 of 2", S("a\xc3"), false, 0 },
		{ "truncated 2 of 3", S("\xe2\x82"), false, 0 },
		{ "truncated 3 of 4", S("\xf0\x9f\x98"), false, 0 },
		{ "truncated then ascii", S("\xe2\x82z"), false, 0 },
		{ "lone continuation 80", S("\x80"), false, 0 },
		{ "lone continuation BF", S("a\xbf" "b"), false, 0 },
		{ "extra continuation", S("\xc3\xa9\x80"), false, 0 },
		{ "bad continuation", S("\xe2\x28\xa1"), false, 0 },
	};
	size_t	i, ncp;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct utf8_case *c = &cases[i];
		bool ok;

		ncp = 12345;
		ok = utf8_valid(c->s, c->len, &ncp);
		if (ok != c->valid || (ok && ncp != c->ncp)) {
			fprintf(stderr, "utf8 case \"%s\": got %d (%zu)\n",
			    c->what, ok, ncp);
			CHECK(!"utf8 case");
		}
	}
	CHECK(utf8_valid(S("abc"), NULL));	/* the count is optional */
	return 0;
}

/* Runs a table through the room (0), nick (1) or text (2, max 10) check. */
static int
rule_table(const struct rule_case *cases, size_t n, int which)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		const struct rule_case	*c = &cases[i];
		const char		*s = c->s, *why = NULL;
		size_t			 len = c->len;
		int			 st;

		if (which == 0)
			st = event_check_room(s, len, &why);
		else if (which == 1)
			st = event_check_nick(&s, &len, &why);
		else
			st = event_check_text(s, len, 10, &why);
		if (st != c->status || (st != 0 && why == NULL)) {
			fprintf(stderr, "case \"%s\": status %d, want %d\n",
			    c->what, st, c->status);
			CHECK(!"rule case");
		}
	}
	return 0;
}

static int
event_checks_rooms(void)
{
	static const struct rule_case cases[] = {
		{ "one letter", S("a"), 0 },
		{ "word", S("lobby"), 0 },
		{ "every class", S("AZaz09_.-"), 0 },
		{ "64 characters", S("0123456789012345678901234567890123456789"
		    "012345678901234567890123"), 0 },
		{ "65 characters", S("0123456789012345678901234567890123456789"
		    "0123456789012345678901234"), 400 },
		{ "empty", S(""), 400 },
		{ "space", S("a b"), 400 },
		{ "trailing space", S("lobby "), 400 },
		{ "slash", S("a/b"), 400 },
		{ "dot dot slash", S("../etc"), 400 },
		{ "percent", S("a%20b"), 400 },
		{ "plus", S("a+b"), 400 },
		{ "colon", S("a:b"), 400 },
		{ "bang", S("lobby!"), 400 },
		{ "non-ascii letter", S("caf\xc3\xa9"), 400 },
		{ "NUL inside", S("a\0b"), 400 },
		{ "newline", S("a\n"), 400 },
		{ "invalid utf-8", S("\xff"), 400 },
	};

	return rule_table(cases, sizeof(cases) / sizeof(cases[0]), 0);
}

static int
event_checks_nicks(void)
{
	static const struct rule_case cases[] = {
		{ "ascii", S("ana"), 0 },
		{ "inner space", S("ana maria"), 0 },
		{ "accents", S("Jos\xc3\xa9"), 0 },
		{ "emoji", S("\xf0\x9f\x98\x80"), 0 },
		{ "quotes and backslash", S("\"a\\b\""), 0 },
		{ "no-break space U+00A0", S("a\xc2\xa0" "b"), 0 },
		{ "U+2028", S("a\xe2\x80\xa8" "b"), 0 },
		{ "32 ascii", S("abcdefghijabcdefghijabcdefghij12"), 0 },
		{ "33 ascii", S("abcdefghijabcdefghijabcdefghij123"), 400 },
		{ "empty", S(""), 400 },
		{ "one space", S(" "), 400 },
		{ "all spaces", S("     "), 400 },
		{ "C1 U+0085", S("a\xc2\x85" "b"), 400 },
		{ "C1 U+0080", S("\xc2\x80"), 400 },
		{ "C1 U+009F", S("a\xc2\x9f"), 400 },
		{ "tab", S("a\tb"), 400 },
		{ "leading tab (not trimmed)", S("\tana"), 400 },
		{ "newline", S("ana\n"), 400 },
		{ "NUL", S("a\0b"), 400 },
		{ "ESC", S("a\x1b[31m"), 400 },
		{ "DEL", S("a\x7f"), 400 },
		{ "overlong", S("\xc0\xae"), 400 },
		{ "lone continuation", S("a\x80"), 400 },
		{ "truncated", S("ana\xe2\x82"), 400 },
		{ "surrogate", S("\xed\xa0\x80"), 400 },
	};

	return rule_table(cases, sizeof(cases) / sizeof(cases[0]), 1);
}

static int
event_trims_nick_spaces(void)
{
	const char	*in = "  ana  ", *s = in, *why = NULL;
	size_t		 len = strlen(in);

	CHECK(event_check_nick(&s, &len, &why) == 0);
	CHECK(len == 3 && memcmp(s, "ana", 3) == 0);
	CHECK(s == in + 2);
	/* only U+0020 is trimmed, inner spaces stay */
	in = " a  b ";
	s = in;
	len = strlen(in);
	CHECK(event_check_nick(&s, &len, &why) == 0);
	CHECK(len == 4 && memcmp(s, "a  b", 4) == 0);
	/* 32 code points after trimming is fine */
	in = "   abcdefghijabcdefghijabcdefghij12   ";
	s = in;
	len = strlen(in);
	CHECK(event_check_nick(&s, &len, &why) == 0);
	CHECK(len == 32);
	return 0;
}

static int
event_nick_counts_code_points_not_bytes(void)
{
	const char	*s, *why = NULL;
	char		*nick;
	size_t		 len;

	/* 32 emoji: 128 bytes, 32 code points */
	CHECK((nick = repeat("\xf0\x9f\x98\x80", 32, &len)) != NULL);
	s = nick;
	CHECK(len == EVENT_NICK_BYTES);
	CHECK(event_check_nick(&s, &len, &why) == 0);
	CHECK(len == EVENT_NICK_BYTES);
	free(nick);
	/* 33 emoji: one too many */
	CHECK((nick = repeat("\xf0\x9f\x98\x80", 33, &len)) != NULL);
	s = nick;
	why = NULL;
	CHECK(event_check_nick(&s, &len, &why) == 400);
	CHECK(why != NULL);
	free(nick);
	/* 32 two-byte letters */
	CHECK((nick = repeat("\xc3\xa9", 32, &len)) != NULL);
	s = nick;
	CHECK(event_check_nick(&s, &len, &why) == 0);
	free(nick);
	return 0;
}

static int
event_checks_texts(void)
{
	static const struct rule_case cases[] = {	/* max 10 bytes */
		{ "one byte", S("a"), 0 },
		{ "tab, LF, CR", S("a\tb\nc\r\n"), 0 },
		{ "only spaces (not trimmed)", S("   "), 0 },
		{ "C1 U+0085 is allowed", S("a\xc2\x85" "b"), 0 },
		{ "U+2028", S("\xe2\x80\xa8"), 0 },
		{ "emoji", S("\xf0\x9f\x98\x80!"), 0 },
		{ "quotes, backslash", S("\"\\\"/"), 0 },
		{ "exactly max", S("0123456789"), 0 },
		{ "max with multibyte", S("\xf0\x9f\x98\x80\xf0\x9f\x98\x80" "ab"),
		    0 },
		{ "max + 1", S("0123456789a"), 413 },
		{ "empty", S(""), 400 },
		{ "NUL", S("a\0b"), 400 },
		{ "ESC", S("\x1b[2J"), 400 },
		{ "DEL", S("a\x7f"), 400 },
		{ "BEL", S("\x07"), 400 },
		{ "vertical tab", S("a\vb"), 400 },
		{ "form feed", S("a\fb"), 400 },
		{ "U+001F", S("\x1f"), 400 },
		{ "overlong", S("\xc0\x80"), 400 },
		{ "surrogate", S("\xed\xa0\x80"), 400 },
		{ "truncated", S("ab\xf0\x9f\x98"), 400 },
		{ "lone continuation", S("\x80"), 400 },
		{ "above U+10FFFF", S("\xf4\x90\x80\x80"), 400 },
	};

	return rule_table(cases, sizeof(cases) / sizeof(cases[0]), 2);
}

static int
event_text_limit_is_the_configured_max(void)
{
	const char	*why = NULL;
	char		*text;
	size_t		 len;

	CHECK((text = repeat("x", EVENT_TEXT_DEFAULT + 1, &len)) != NULL);
	CHECK(event_check_text(text, EVENT_TEXT_DEFAULT, EVENT_TEXT_DEFAULT,
	    &why) == 0);
	CHECK(event_check_text(text, EVENT_TEXT_DEFAULT + 1,
	    EVENT_TEXT_DEFAULT, &why) == 413);
	CHECK(why != NULL);
	free(text);
	/* 500 emoji are 2000 bytes: the limit is in bytes */
	CHECK((text = repeat("\xf0\x9f\x98\x80", 501, &len)) != NULL);
	CHECK(event_check_text(text, 2000, EVENT_TEXT_DEFAULT, &why) == 0);
	CHECK(event_check_text(text, 2004, EVENT_TEXT_DEFAULT, &why) == 413);
	free(text);
	return 0;
}

static int
event_encodes_message_json(void)
{
	static const char	 want[] = "{\"ts\":1,\"room\":\"r\","
	    "\"type\":\"message\",\"nick\":\"a\",\"text\":\"b\"}";
	struct event		 ev = { EVENT_MESSAGE, 1, "r", "a", "b", 1 };
	char			 buf[256];
	ssize_t			 n;

	n = event_encode(&ev, buf, sizeof(buf));
	CHECK(n == (ssize_t)strlen(want));
	CHECK(memcmp(buf, want, (size_t)n) == 0);
	return 0;
}

static int
event_encodes_join_and_leave_without_text(void)
{
	struct event		 ev = { EVENT_JOIN, 1764000000123LL, "lobby",
				    "ana", NULL, 0 };
	char			 buf[256];
	ssize_t			 n;

	n = event_encode(&ev, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strncmp(buf, "{\"ts\":1764000000123,\"room\":\"lobby\","
	    "\"type\":\"join\",\"nick\":\"ana\"}", (size_t)n) == 0);
	ev.type = EVENT_LEAVE;
	n = event_encode(&ev, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strncmp(buf, "{\"ts\":1764000000123,\"room\":\"lobby\","
	    "\"type\":\"leave\",\"nick\":\"ana\"}", (size_t)n) == 0);
	CHECK(strcmp(event_type_name(EVENT_MESSAGE), "message") == 0);
	CHECK(strcmp(event_type_name(EVENT_JOIN), "join") == 0);
	CHECK(strcmp(event_type_name(EVENT_LEAVE), "leave") == 0);
	return 0;
}

static int
event_encode_refuses_small_buffer(void)
{
	struct event	ev = { EVENT_MESSAGE, 1, "r", "a", "hello world", 11 };
	char		buf[256];
	ssize_t		n;

	n = event_encode(&ev, buf, sizeof(buf));
	CHECK(n > 20);
	CHECK(event_encode(&ev, buf, (size_t)n - 1) == -1);
	CHECK(event_encode(&ev, buf, 8) == -1);
	return 0;
}

/*
 * Texts and nicks that JSON must escape, or that a careless encoder would
 * mangle, stored by the window and parsed back by json-c: byte-identical,
 * the right id, and `/` left as it is.
 */
static int
event_json_round_trips_through_window(void)
{
	static const struct {
		const char	*nick;
		const char	*text;
		size_t		 textlen;
	} cases[] = {
		{ "ana", S("say \"hi\"") },
		{ "back\\slash", S("C:\\dir\\file \\\\ \\u0041 \\n") },
		{ "bo", S("line1\nline2\r\nline3\ttabbed") },
		{ "eve", S("</script><script>alert(1)</script>") },
		{ "sep", S("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c") },
		{ "\xf0\x9f\x98\x80 smile", S("\xf0\x9f\x98\x80\xf0\x9f\x8e\x89 "
		    "\xf0\x90\x8d\x88 4-byte") },
		{ "\"q\"", S("{\"id\":999,\"text\":\"x\"}") },
		{ "c1", S("a\xc2\x85" "b\xc2\x9f") },
		{ "sl/ash", S("http://example.com/a/b?c=d&e=f") },
		{ "  spaces kept  ", S("  text kept as sent  ") },
	};
	size_t			 rsize = window_region_size(64, 1 << 16), i;
	void			*region;
	struct window		 w;
	struct window_out	 out;
	char			 buf[4096];

	CHECK((region = malloc(rsize)) != NULL);
	window_init(&w, region, 64, 1 << 16);
	CHECK(window_out_alloc(&out, 64, 1 << 16) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct event		 ev = { EVENT_MESSAGE, 1764000000123LL,
					    "room.A_1-z", cases[i].nick,
					    cases[i].text, cases[i].textlen };
		struct json_object	*o, *v;
		ssize_t			 n;
		int64_t			 id;
		const char		*p;

		n = event_encode(&ev, buf, sizeof(buf));
		CHECK(n > 0);
		CHECK((size_t)n < EVENT_JSON_MAX(cases[i].textlen));
		CHECK(memchr(buf, '\0', (size_t)n) == NULL);
		id = window_append(&w, EVENT_MESSAGE, buf, (size_t)n);
		CHECK(id == (int64_t)i + 1);
		CHECK(window_read(&w, (uint64_t)id - 1, &out) == 0);
		CHECK(out.n == 1 && out.ev[0].id == (uint64_t)id);
		p = out.buf + out.ev[0].off;
		/* `/` is not escaped, anywhere */
		CHECK(memmem(p, out.ev[0].len, "\\/", 2) == NULL);
		if (strstr(cases[i].text, "</script>") != NULL)
			CHECK(memmem(p, out.ev[0].len, "</script>", 9) != NULL);
		CHECK((o = parse_len(p, out.ev[0].len)) != NULL);
		CHECK(json_object_object_length(o) == 6);
		CHECK(json_object_object_get_ex(o, "id", &v));
		CHECK(json_object_is_type(v, json_type_int));
		CHECK(json_object_get_int64(v) == id);
		CHECK(json_object_object_get_ex(o, "ts", &v));
		CHECK(json_object_get_int64(v) == 1764000000123LL);
		CHECK(json_object_object_get_ex(o, "type", &v));
		CHECK(strcmp(json_object_get_string(v), "message") == 0);
		CHECK(json_object_object_get_ex(o, "room", &v));
		CHECK(strcmp(json_object_get_string(v), "room.A_1-z") == 0);
		CHECK(json_object_object_get_ex(o, "nick", &v));
		CHECK((size_t)json_object_get_string_len(v) ==
		    strlen(cases[i].nick));
		CHECK(memcmp(json_object_get_string(v), cases[i].nick,
		    strlen(cases[i].nick)) == 0);
		CHECK(json_object_object_get_ex(o, "text", &v));
		CHECK((size_t)json_object_get_string_len(v) ==
		    cases[i].textlen);
		CHECK(memcmp(json_object_get_string(v), cases[i].text,
		    cases[i].textlen) == 0);
		json_object_put(o);
	}
	window_out_free(&out);
	free(region);
	return 0;
}

/* Every text of max_text bytes, whatever it holds, fits EVENT_JSON_MAX. */
static int
event_json_max_bounds_worst_texts(void)
{
	static const char	*units[] = { "\"", "\\", "\n", "\t", "\r", "/",
				    "\xc2\x85", "\xe2\x80\xa8",
				    "\xf0\x9f\x98\x80" };
	const size_t		 max = EVENT_JSON_MAX(EVENT_TEXT_DEFAULT);
	char			 room[EVENT_ROOM_MAX + 1], *nick, *text, *buf;
	size_t			 i, len, nlen;

	memset(room, 'z', EVENT_ROOM_MAX);
	room[EVENT_ROOM_MAX] = '\0';
	CHECK((buf = malloc(max)) != NULL);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct event	ev;
		ssize_t		n;
		const char	*why = NULL;
		size_t		ul = strlen(units[i]);

		CHECK((text = malloc(EVENT_TEXT_DEFAULT + 1)) != NULL);
		memset(text, '"', EVENT_TEXT_DEFAULT);	/* pads what is left */
		for (len = 0; len + ul <= EVENT_TEXT_DEFAULT; len += ul)
			memcpy(text + len, units[i], ul);
		len = EVENT_TEXT_DEFAULT;
		text[len] = '\0';
		CHECK(event_check_text(text, len, EVENT_TEXT_DEFAULT, &why)
		    == 0);
		/* the widest valid nick: 32 code points, escaped or 4-byte */
		CHECK((nick = repeat(i % 2 ? "\xf0\x9f\x98\x80" : "\"", 32,
		    &nlen)) != NULL);
		memset(&ev, 0, sizeof(ev));
		ev.type = EVENT_MESSAGE;
		ev.ts = 9007199254740991LL;
		ev.room = room;
		ev.nick = nick;
		ev.text = text;
		ev.textlen = len;
		n = event_encode(&ev, buf, max);
		if (n < 0 || (size_t)n + 32 > max)	/* + {"id":N, */
			fprintf(stderr, "unit %zu: %zd bytes\n", i, n);
		CHECK(n > 0 && (size_t)n + 32 <= max);
		free(nick);
		free(text);
	}
	free(buf);
	return 0;
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "utf8_accepts_and_rejects_edge_cases",
		    utf8_accepts_and_rejects_edge_cases },
		{ "event_checks_rooms", event_checks_rooms },
		{ "event_checks_nicks", event_checks_nicks },
		{ "event_trims_nick_spaces", event_trims_nick_spaces },
		{ "event_nick_counts_code_points_not_bytes",
		    event_nick_counts_code_points_not_bytes },
		{ "event_checks_texts", event_checks_texts },
		{ "event_text_limit_is_the_configured_max",
		    event_text_limit_is_the_configured_max },
		{ "event_encodes_message_json", event_encodes_message_json },
		{ "event_encodes_join_and_leave_without_text",
		    event_encodes_join_and_leave_without_text },
		{ "event_encode_refuses_small_buffer",
		    event_encode_refuses_small_buffer },
		{ "event_json_round_trips_through_window",
		    event_json_round_trips_through_window },
		{ "event_json_max_bounds_worst_texts",
		    event_json_max_bounds_worst_texts },
		{ NULL, NULL }
	};

	return check_run(cases);
}
