/*
 * window.h: one room's newest events in a ring over a caller's memory.
 *
 * A writer (one at a time: the caller holds the lock) appends; readers never
 * lock. Records are variable-size JSON kept as bytes; an index entry per id
 * says where its bytes are. Ids start at 1 and grow by exactly 1.
 *
 * Lock-free reads: a writer publishes `first` before it overwrites the
 * bytes of the events it evicts, and `last` after the new record is in
 * place. A reader copies, then re-reads `first`: whatever it copied below
 * the new `first` may be torn and is dropped (that is the `gap`). `gen`
 * is odd while a purge or a repair rewrites the room; readers retry then.
 * A region may serve one room after another (segment.c's arena): it keeps
 * counting gen, so a reader of the room before notices.
 * No syscall in here, so tests run it on malloc'ed memory.
 */
#ifndef FCOMET_WINDOW_H
#define FCOMET_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct window_hdr {		/* at the start of a room's window region */
	uint32_t	gen;	/* odd while purge/repair rewrites the room */
	uint32_t	cap;	/* events kept at most (--window) */
	uint64_t	size;	/* bytes of the ring */
	uint64_t	first;	/* id of the oldest event held, last+1 if none */
	uint64_t	last;	/* id of the newest event, 0 if none yet */
	uint64_t	head;	/* free-running offset of the next record */
	uint64_t	tail;	/* free-running offset of the oldest record */
	uint64_t	purged;	/* times the room was purged */
};

struct window_idx {		/* where the event `id` lives in the ring */
	uint64_t	id;
	uint64_t	pos;	/* free-running offset */
	uint32_t	len;
	uint32_t	type;	/* enum event_type */
	uint32_t	at;	/* stored at: seconds since the segment's epoch */
	uint32_t	pad;
};

struct window {			/* a process's view of one room */
	struct window_hdr	*hdr;
	struct window_idx	*idx;	/* cap entries */
	char			*ring;	/* size bytes */
	uint32_t		 at;	/* the stamp appends get (window_idx) */
};

struct window_ev {		/* one event a read returned */
	uint64_t	id;
	uint32_t	off;	/* into window_out.buf */
	uint32_t	len;
	uint32_t	type;
	uint32_t	at;
};

struct window_out {		/* what a read returns, in caller memory */
	struct window_ev	*ev;	/* room for cap entries */
	char			*buf;	/* room for size bytes */
	size_t			 n;	/* events returned */
	size_t			 bytes;	/* used in buf */
	uint64_t		 last;	/* the room's last id when read */
	uint64_t		 cursor;/* the cursor the read resumed from */
	bool			 gap;	/* events after the cursor were lost */
	bool			 reset;	/* cursor beyond last: whole window */
};

size_t	window_region_size(uint32_t cap, uint64_t size);
void	window_init(struct window *, void *region, uint32_t cap,
	    uint64_t size);
int	window_attach(struct window *, void *region, uint32_t cap,
	    uint64_t size);
int64_t	window_append(struct window *, uint32_t type, const char *body,
	    size_t len);
int64_t	window_append_at(struct window *, uint64_t, uint32_t, const char *,
	    size_t);
void	window_skip(struct window *, uint64_t);
int	window_read(const struct window *, uint64_t cursor,
	    struct window_out *);
uint64_t window_last(const struct window *);
uint64_t window_first(const struct window *);
void	window_purge(struct window *);
bool	window_would_evict(const struct window *, size_t);
size_t	window_record_len(uint64_t, size_t);
void	window_copy(struct window *, const struct window *);
int	window_repair(struct window *);
int	window_out_alloc(struct window_out *, uint32_t cap, uint64_t size);
void	window_out_free(struct window_out *);

#endif
