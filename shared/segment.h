/*
 * segment.h: the POSIX shared-memory segment /fcomet-NAME and its lock,
 * the named semaphore /fcomet-NAME.lock.
 *
 * Layout: header (sizes, epoch, futex word, lock owner, counters, rate
 * buckets), room table, per-worker listener counts, then one window region
 * per room. segment_* functions take the semaphore around window_* calls;
 * readers (segment_read, segment_room_find) never take it.
 */
#ifndef FCOMET_SEGMENT_H
#define FCOMET_SEGMENT_H

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "window.h"

#define SEGMENT_MAGIC		0x31544d4f43464bULL	/* "KFCOMT1" */
#define SEGMENT_VERSION		1
#define SEGMENT_ROOMS_DEFAULT	256
#define SEGMENT_WINDOW_DEFAULT	1024
#define SEGMENT_SLOTS		64	/* worker slots for listener counts */
#define SEGMENT_PRESENCE	64	/* nicks present per room */
#define SEGMENT_RATE		1024	/* rate-limit buckets (addresses) */
#define SEGMENT_WAIT_MS		1500	/* a writer waits this long for the lock */

struct segment_counters {
	uint64_t	sends;		/* messages stored */
	uint64_t	joins;		/* join events stored */
	uint64_t	leaves;		/* leave events stored */
	uint64_t	room_full;	/* new rooms refused: table full */
	uint64_t	lock_timeouts;	/* lock waits that gave up */
	uint64_t	recoveries;	/* locks taken over from dead owners */
	uint64_t	rate_limited;	/* sends refused by the rate limit */
	uint64_t	mc_errors;	/* memcached errors seen */
	uint64_t	relay_lag_ms;	/* memcached relay: last lag seen */
	uint64_t	mc_down;	/* 1 while memcached is unreachable */
	uint64_t	relayed;	/* events relayed from other hosts */
	uint64_t	holes;		/* ids that never arrived: gaps */
};

struct segment_rate {		/* one address's token bucket */
	char		addr[48];	/* REMOTE_ADDR, "" if free */
	double		tokens;		/* tokens left at `at` */
	int64_t		at;		/* ms of the last refill */
};

struct segment_presence {	/* one nick present in a room */
	char		nick[EVENT_NICK_BYTES + 1];	/* "" if free */
	int64_t		seen;		/* ms a listener last held it */
};

struct segment_gone {		/* a nick whose grace period ran out */
	int		room;
	char		nick[EVENT_NICK_BYTES + 1];
};

struct segment_room {
	char		name[EVENT_ROOM_MAX + 1];
	uint8_t		used;		/* set once, after name: lock-free */
	struct segment_presence presence[SEGMENT_PRESENCE];
};

struct segment_hdr {
	uint64_t	magic;		/* SEGMENT_MAGIC */
	uint32_t	version;	/* SEGMENT_VERSION: layout of this file */
	uint32_t	nrooms;		/* room table size (--rooms) */
	uint32_t	cap;		/* events kept per room (--window) */
	uint32_t	max_text;	/* largest text in bytes (--max-text) */
	uint64_t	ring;		/* ring bytes per room */
	uint64_t	size;		/* bytes of the whole segment */
	int64_t		epoch;		/* ms when created: new epoch, new ids */
	uint32_t	change;		/* futex word: bumped by every writer */
	uint32_t	sleepers;	/* futex waiters: wake only if any */
	int32_t		owner;		/* pid holding the lock, 0 if none */
	int32_t		owner_room;	/* room it is writing, -1 if none */
	uint32_t	rooms_used;	/* rooms created so far */
	uint32_t	pad;
	struct segment_counters	c;	/* for fcometctl stat and /status */
	struct segment_rate	rate[SEGMENT_RATE];
};

struct segment {
	char			 name[80];	/* "/fcomet-NAME" */
	struct segment_hdr	*hdr;
	size_t			 size;
	sem_t			*lock;
	struct segment_room	*rooms;
	uint32_t		*listeners;	/* [SEGMENT_SLOTS][nrooms] */
	char			*windows;
	size_t			 wstride;	/* bytes per room window */
};

struct segment_opts {		/* 0 (or NULL): adopt the existing segment */
	const char	*name;		/* NAME of /fcomet-NAME, "default" */
	uint32_t	 rooms;
	uint32_t	 window;
	uint32_t	 max_text;
	gid_t		 gid;		/* group given access, with group_set */
	bool		 group_set;
	uid_t		 uid;		/* owner, with user_set (root only) */
	bool		 user_set;
	bool		 create;	/* create it if missing */
};

int	segment_open(struct segment *, const struct segment_opts *, char *,
	    size_t);
void	segment_close(struct segment *);
int	segment_unlink(const char *, char *, size_t);
int	segment_room_find(const struct segment *, const char *);
int	segment_room_get(struct segment *, const char *);
void	segment_window(const struct segment *, int, struct window *);
int	segment_lock(struct segment *, int);
void	segment_unlock(struct segment *);
int64_t	segment_publish(struct segment *, const struct event *, int64_t *);
int64_t	segment_publish_wait(struct segment *, const struct event *, int64_t *,
	    int);
int	segment_read(const struct segment *, int, uint64_t,
	    struct window_out *);
int	segment_purge(struct segment *, int);
void	segment_notify(struct segment *);
uint32_t segment_change(const struct segment *);
int	segment_wait(struct segment *, uint32_t, int);
int	segment_presence_enter(struct segment *, int, const char *, int64_t,
	    int);
int	segment_presence_expire(struct segment *, int64_t, int64_t,
	    struct segment_gone *, int, int);
int64_t	segment_append_at(struct segment *, int, uint64_t, uint32_t,
	    const char *, size_t, bool);
int	segment_who(struct segment *, int, char (*)[EVENT_NICK_BYTES + 1],
	    int);
int	segment_rate_take(struct segment *, const char *, double, double,
	    int64_t, int *);
void	segment_listeners_add(struct segment *, int, int, int);
uint32_t segment_listeners(const struct segment *, int);
void	segment_listeners_clear(struct segment *, int);

#endif
