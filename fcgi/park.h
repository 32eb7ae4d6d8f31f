/*
 * park.h: the dispatcher. A /listen or /stream with nothing to say yet is
 * parked here as data: its fd, request id, room and cursor. One thread per
 * worker holds them all: epoll for hang-ups and writable sockets, a heap of
 * deadlines (timeouts, pings, stream ends), an eventfd for new events.
 * A kept connection whose request it answered stays in its epoll, and the
 * next request on it, if it comes whole and without a body (a re-poll),
 * is read and routed in the dispatcher itself (worker_serve).
 */
#ifndef FCOMET_PARK_H
#define FCOMET_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"
#include "store.h"

enum parked_kind {
	PARK_LISTEN,
	PARK_STREAM
};

enum parked_verdict {			/* of a request served in the dispatcher */
	VERDICT_NONE,			/* not answered: closed */
	VERDICT_PARKED,			/* parked, in the same struct */
	VERDICT_ANSWERED,		/* answered, the connection kept */
	VERDICT_CLOSE,			/* answered (or not wholly): closed */
	VERDICT_GONE			/* libfcgi closed it */
};

struct parked {
	int		 fd;		/* FastCGI connection, non-blocking */
	uint16_t	 id;		/* FastCGI request id */
	uint8_t		 kind;		/* enum parked_kind */
	bool		 closing;	/* answered: close once flushed */
	bool		 dead;		/* dropped, freed after this pass */
	bool		 held;		/* in epoll with EPOLLIN: between
					   requests the dispatcher reads it */
	bool		 idle;		/* held, no request: on the idle list */
	uint8_t		 keep;		/* enum conn_keep */
	uint8_t		 verdict;	/* enum parked_verdict */
	bool		 beat;		/* a long-poll through a web server that
					   learns of a client gone only by
					   writing to it (Apache): its headers
					   went out at once, and a space of
					   JSON whitespace goes each --ping */
	int		 room;
	uint64_t	 rid;		/* of the room when parked */
	char		 name[EVENT_ROOM_MAX + 1];	/* of the room */
	uint64_t	 cursor;	/* last id the client has */
	int64_t		 due;		/* next timer, ms monotonic */
	int64_t		 end;		/* long-poll timeout or stream end */
	int64_t		 ping;		/* stream: next ping */
	char		*nick;		/* present while parked, or NULL */
	int		 addr_entry;	/* counted for its address, or -1 */
	char		*out;		/* bytes the socket did not take */
	uint32_t	 outlen;
	uint32_t	 outoff;
	struct parked	*next;		/* in its room's list, or incoming */
	struct parked	*prev;
	uint32_t	 heapi;		/* index in the deadline heap */
	uint32_t	 ev;		/* the epoll events asked for */
};

struct park;

struct park	*park_new(struct segment *, struct store *, int);
void		 park_add(struct park *, struct parked *);
void		 park_answered(struct parked *, bool);
void		 park_wake(struct park *);
bool		 park_wait_busy(struct park *);
int		 park_count(struct park *);
void		 park_stop(struct park *);
void		*park_run(void *);
void		 park_free(struct park *);
int64_t		 mono_ms(void);

#endif
