/*
 * dispatch.h: the dispatcher's state, and the calls between its files:
 * park.c (the thread's loop, the room lists, the deadline heap), deliver.c
 * (what it writes to a parked request) and held.c (the connections it
 * holds between requests). Theirs alone; the rest uses park.h.
 */
#ifndef FCOMET_DISPATCH_H
#define FCOMET_DISPATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "park.h"
#include "route.h"
#include "window.h"

struct park {
	struct segment	*sg;
	struct store	*st;		/* the dispatcher's own */
	int		 slot;		/* this worker's listener-count slot */
	size_t		 backlog_max;	/* a stream further behind: dropped */
	int		 ep;		/* epoll */
	int		 efd;		/* eventfd: incoming requests, stop */
	int		 wfd;		/* eventfd: the segment changed */
	pthread_mutex_t	 mu;		/* guards incoming and stop */
	pthread_cond_t	 busy;		/* the first request parked, or stop */
	struct parked	*incoming;
	bool		 stop;
	bool		 draining;	/* dispatcher only: stopping */
	struct parked	**rooms;	/* list head per room */
	uint64_t	*seen;		/* per room: last id at the last pass */
	uint64_t	*seen_purged;	/* per room: purges at the last pass */
	uint64_t	*seen_rid;	/* per room: its rid at the last pass */
	uint32_t	*active;	/* the rooms with a list here, dense */
	uint32_t	*active_at;	/* per room: its place in active */
	uint32_t	 nactive;
	struct parked	**heap;		/* deadline min-heap */
	uint32_t	 nheap, capheap;
	size_t		 nparked;
	struct parked	*dead;		/* dropped this pass, freed after it */
	struct parked	*idle;		/* held connections between requests */
	struct route_ctx ctx;		/* for the requests read here */
	struct window_out out;		/* one read per cursor per wake */
	struct buf	 lp, sse;	/* the encodings of that read */
	size_t		 lp_head;	/* the headers' length in every lp */
};

/* park.c */
void		heap_fix(struct park *, uint32_t);
void		room_leave(struct park *, struct parked *);
int		park_watch(struct park *, struct parked *, bool);
void		park_drop(struct park *, struct parked *);
void		park_done(struct park *, struct parked *);
void		park_forget(struct park *, struct parked *);

/* held.c */
void		idle_unlink(struct park *, struct parked *);
int		park_idle(struct park *, struct parked *);
void		park_serve(struct park *, struct parked *);

/* deliver.c */
uint64_t	park_deliver(struct park *, int, struct parked *);
void		park_timer(struct park *, struct parked *, int64_t);
int		parked_flush(struct parked *);
void		parked_finish(struct park *, struct parked *, const char *,
		    size_t);
void		parked_schedule(struct park *, struct parked *);

#endif
