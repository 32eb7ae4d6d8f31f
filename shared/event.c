/* event.c: validation of room, nick and text; the event JSON, made once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "event.h"

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF,
 * no truncated sequence. Counts the code points into *ncp if not NULL.
 */
bool
utf8_valid(const char *str, size_t len, size_t *ncp)
{
	const unsigned char	*s = (const unsigned char *)str, *end = s + len;
	size_t			 n = 0;

	while (s < end) {
		unsigned char	c = *s;
		size_t		need;
		uint32_t	cp, min;

		if (c < 0x80) {
			s++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if ((size_t)(end - s) <= need)
			return false;
		for (size_t i = 1; i <= need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += need + 1;
		n++;
	}
	if (ncp != NULL)
		*ncp = n;
	return true;
}

int
event_check_room(const char *room, size_t len, const char **why)
{
	if (len < 1 || len > EVENT_ROOM_MAX) {
		*why = "room must be 1 to 64 characters";
		return 400;
	}
	for (size_t i = 0; i < len; i++) {
		char c = room[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
			*why = "room may hold only A-Z a-z 0-9 _ . -";
			return 400;
		}
	}
	return 0;
}

/* C0, DEL or C1 (U+0080-U+009F, encoded C2 80..C2 9F) at s? */
static bool
event_is_control(const unsigned char *s, size_t left)
{
	if (*s < 0x20 || *s == 0x7f)
		return true;
	return left >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

/* Trims U+0020 from both ends of *nick first, then checks what is left. */
int
event_check_nick(const char **nick, size_t *len, const char **why)
{
	const char	*s = *nick;
	size_t		 n = *len, ncp;

	while (n > 0 && s[0] == ' ')
		s++, n--;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	*nick = s;
	*len = n;
	if (!utf8_valid(s, n, &ncp)) {
		*why = "nick is not valid UTF-8";
		return 400;
	}
	if (ncp < 1 || ncp > EVENT_NICK_MAX) {
		*why = "nick must be 1 to 32 characters";
		return 400;
	}
	for (size_t i = 0; i < n; i++) {
		if (event_is_control((const unsigned char *)s + i, n - i)) {
			*why = "nick may not hold control characters";
			return 400;
		}
	}
	return 0;
}

int
event_check_text(const char *text, size_t len, size_t max, const char **why)
{
	if (len < 1) {
		*why = "text is empty";
		return 400;
	}
	if (len > max) {
		*why = "text is too long";
		return 413;
	}
	if (!utf8_valid(text, len, NULL)) {
		*why = "text is not valid UTF-8";
		return 400;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = text[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7f) {
			*why = "text may not hold control characters";
			return 400;
		}
	}
	return 0;
}

const char *
event_type_name(enum event_type type)
{
	switch (type) {
	case EVENT_JOIN:
		return "join";
	case EVENT_LEAVE:
		return "leave";
	default:
		return "message";
	}
}

/*
 * The event's JSON without its id: {"ts":..,"room":..,"type":..,"nick":..
 * [,"text":..]}. The window puts the id in front when it stores the event,
 * so this runs outside the lock, once per event.
 */
ssize_t
event_encode(const struct event *ev, char *buf, size_t buflen)
{
	struct json_object	*o;
	const char		*s;
	size_t			 len;
	ssize_t			 rc = -1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "ts", json_object_new_int64(ev->ts));
	json_object_object_add(o, "room", json_object_new_string(ev->room));
	json_object_object_add(o, "type",
	    json_object_new_string(event_type_name(ev->type)));
	json_object_object_add(o, "nick", json_object_new_string(ev->nick));
	if (ev->type == EVENT_MESSAGE)
		json_object_object_add(o, "text",
		    json_object_new_string_len(ev->text, (int)ev->textlen));
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		goto out;
	if (len >= buflen) {
		errno = EMSGSIZE;
		goto out;
	}
	memcpy(buf, s, len + 1);
	rc = (ssize_t)len;
out:
	json_object_put(o);
	return rc;
}

int64_t
event_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
