/* event.h: the chat event of PROTOCOL.md, its validation and its JSON. */
#ifndef FCOMET_EVENT_H
#define FCOMET_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EVENT_ROOM_MAX		64	/* bytes, A-Z a-z 0-9 _ . - */
#define EVENT_NICK_MAX		32	/* code points */
#define EVENT_NICK_BYTES	128	/* 32 code points of at most 4 bytes */
#define EVENT_TEXT_DEFAULT	2000	/* bytes, --max-text */
#define EVENT_TEXT_LIMIT	65536	/* the largest --max-text accepted */
#define EVENT_ID_MAX		9007199254740991ULL	/* 2^53 - 1 */

enum event_type {
	EVENT_MESSAGE = 'm',
	EVENT_JOIN = 'j',
	EVENT_LEAVE = 'l',
};

struct event {
	enum event_type	 type;
	int64_t		 ts;		/* ms since the epoch */
	const char	*room;		/* NUL-terminated, checked */
	const char	*nick;		/* NUL-terminated, checked and trimmed */
	const char	*text;		/* messages only; may hold no NUL */
	size_t		 textlen;
};

/* The largest JSON an event with a text of maxtext bytes can take. */
#define EVENT_JSON_MAX(maxtext)	(2 * (size_t)(maxtext) + 512)

bool		 utf8_valid(const char *, size_t, size_t *);
int		 event_check_room(const char *, size_t, const char **);
int		 event_check_nick(const char **, size_t *, const char **);
int		 event_check_text(const char *, size_t, size_t, const char **);
const char	*event_type_name(enum event_type);
ssize_t		 event_encode(const struct event *, char *, size_t);
int64_t		 event_now_ms(void);

#endif
