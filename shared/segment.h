/*
 * segment.h: the POSIX shared-memory segment /fcomet-NAME and its lock,
 * the named semaphore /fcomet-NAME.lock.
 *
 * Layout (version 2): header (sizes, epoch, futex word, lock owner,
 * counters, rate buckets, free counts), room records, the room index, the
 * presence pool, per-worker listener counts, free stacks, then the event
 * arena: window regions in size classes. segment.c holds the file, the
 * lock and the futex; rooms.c the records, the index, the arena, presence
 * and reclaim. Writers take the semaphore; readers (segment_read,
 * segment_room_find, segment_window) never do.
 */
#ifndef FCOMET_SEGMENT_H
#define FCOMET_SEGMENT_H

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "window.h"

#define SEGMENT_MAGIC		0x32544d4f43464bULL	/* "KFCOMT2" */
#define SEGMENT_VERSION		3
#define SEGMENT_ROOMS_DEFAULT	100000
#define SEGMENT_ROOMS_LIMIT	(1U << 22)
#define SEGMENT_WINDOW_DEFAULT	1024
#define SEGMENT_MAX_DEFAULT	(256ULL << 20)	/* --segment-max */
#define SEGMENT_CLASSES		4	/* window sizes a room moves through */
#define SEGMENT_SLOTS		64	/* worker slots for listener counts */
#define SEGMENT_PRESENCE	64	/* nicks present per room */
#define SEGMENT_RATE		1024	/* rate-limit buckets (addresses) */
#define SEGMENT_ADDRS		4096	/* addresses with parked listeners */
#define SEGMENT_WAIT_MS		1500	/* a writer waits this long for the lock */
#define SEGMENT_SOFT_TTL_MS	60000	/* a room that never held a message */
#define SEGMENT_ROUTES		8	/* requests counted by route (metrics.h) */
#define SEGMENT_STATUSES	11	/* and by status */
#define SEGMENT_BUCKETS		12	/* send -> delivery latency histogram */

struct segment_counters {
	uint64_t	sends;		/* messages stored */
	uint64_t	joins;		/* join events stored */
	uint64_t	leaves;		/* leave events stored */
	uint64_t	room_full;	/* new rooms refused: index full */
	uint64_t	lock_timeouts;	/* lock waits that gave up */
	uint64_t	recoveries;	/* locks taken over from dead owners */
	uint64_t	rate_limited;	/* sends refused by the rate limit */
	uint64_t	mc_errors;	/* memcached errors seen */
	uint64_t	relay_lag_ms;	/* memcached relay: last lag seen */
	uint64_t	mc_down;	/* 1 while memcached is unreachable */
	uint64_t	relayed;	/* events relayed from other hosts */
	uint64_t	holes;		/* ids that never arrived: gaps */
	uint64_t	reclaims;	/* idle rooms given back */
	uint64_t	moves;		/* windows moved to another size class */
	uint64_t	steals;		/* windows taken back from idle rooms */
	uint64_t	rooms_limited;	/* new rooms refused by the rate limit */
	uint64_t	mc_stored;	/* events this host stored in memcached */
	uint64_t	deliveries;	/* answers and stream writes of events */
	uint64_t	streams;	/* gauge: streams open */
	uint64_t	workers;	/* gauge: workers the master runs */
	uint64_t	requests[SEGMENT_ROUTES][SEGMENT_STATUSES];
	uint64_t	latency[SEGMENT_BUCKETS];	/* not cumulative */
	uint64_t	latency_sum_ms;
};

struct segment_rate {		/* one address's token bucket */
	char		addr[48];	/* REMOTE_ADDR, "" if free */
	double		tokens;		/* tokens left at `at` */
	int64_t		at;		/* ms of the last refill */
};

struct segment_presence {	/* one nick present in a room */
	uint32_t	room;		/* record index + 1, 0 if free */
	uint32_t	next;		/* the room's next nick: slot + 1, 0 end */
	int64_t		seen;		/* ms a listener last held it */
	char		nick[EVENT_NICK_BYTES + 1];
};

struct segment_addr {		/* one address's parked listeners */
	uint64_t	tag;		/* hash of the address, 0 if free */
	uint32_t	n[SEGMENT_SLOTS];	/* per worker slot: one writer */
};

struct segment_gone {		/* a nick whose grace period ran out */
	char		room[EVENT_ROOM_MAX + 1];
	char		nick[EVENT_NICK_BYTES + 1];
};

/*
 * A room record: it stays at its index while the room lives. rid is the
 * room's creation serial, 0 while the record is free; a reader that saw
 * the same rid before and after reading a name or a window read that room.
 */
struct segment_room {
	uint64_t	rid;
	char		name[EVENT_ROOM_MAX + 1];
	uint8_t		pad[3];
	uint32_t	inflight;	/* memcached: this host's threads
					   taking an id here right now */
	uint32_t	region;		/* class << 28 | region in that class */
	uint32_t	listeners;	/* this host's, all worker slots */
	uint32_t	present;	/* nicks in the presence pool */
	uint32_t	nicks;		/* pool slot + 1 of the first, 0 none */
	int64_t		created;	/* ms */
	int64_t		touched;	/* ms of the last request for it */
	int64_t		last_event;	/* ms of the last event stored, 0 none */
	uint64_t	messages;	/* messages stored since created */
	uint64_t	taken;		/* memcached: the highest id this host
					   took (stored or in flight) */
};

struct segment_class {		/* one size class of window regions */
	uint32_t	cap;		/* events a region holds */
	uint32_t	count;		/* regions */
	uint64_t	ring;		/* ring bytes */
	uint64_t	stride;		/* bytes a region */
	uint64_t	off;		/* of the first region in the segment */
	uint64_t	owners_off;	/* uint32 record index per region */
	uint64_t	free_off;	/* uint32 free stack */
	uint32_t	nfree;		/* regions on the free stack */
	uint32_t	pad;
};

struct segment_hdr {
	uint64_t	magic;		/* SEGMENT_MAGIC */
	uint32_t	version;	/* SEGMENT_VERSION: layout of this file */
	uint32_t	nrooms;		/* room records (--rooms) */
	uint32_t	cap;		/* events kept per room (--window) */
	uint32_t	max_text;	/* largest text in bytes (--max-text) */
	uint64_t	ring;		/* ring bytes of the largest class */
	uint64_t	size;		/* bytes of the whole segment */
	int64_t		epoch;		/* ms when created: new epoch, new ids */
	uint32_t	change;		/* futex word: bumped by every writer */
	uint32_t	sleepers;	/* futex waiters: wake only if any */
	int32_t		owner;		/* pid holding the lock, 0 if none */
	int32_t		owner_room;	/* room it is writing, -1 if none */
	uint32_t	rooms_used;	/* live rooms */
	uint32_t	nclasses;
	uint64_t	serial;		/* the last rid given */
	uint32_t	index_size;	/* slots of the index, a power of 2 */
	uint32_t	pool_size;	/* slots of the presence pool, power of 2 */
	uint32_t	nfree_rooms;	/* records on their free stack */
	uint32_t	sweep;		/* where the idle sweep goes on */
	uint64_t	rooms_off, index_off, pool_off, listeners_off, busy_off,
			free_rooms_off, addrs_off;
	struct segment_class	cls[SEGMENT_CLASSES];
	struct segment_counters	c;	/* for fcometctl stat and /status */
	struct segment_rate	rate[SEGMENT_RATE];
};

struct segment {
	char			 name[80];	/* "/fcomet-NAME" */
	struct segment_hdr	*hdr;
	size_t			 size;
	sem_t			*lock;
	struct segment_room	*rooms;		/* [nrooms] */
	uint64_t		*index;		/* tag << 32 | record + 1 */
	struct segment_presence	*pool;
	uint32_t		*listeners;	/* [SEGMENT_SLOTS][nrooms] */
	uint64_t		*busy;		/* bit per room with listeners */
	uint32_t		*free_rooms;
	struct segment_addr	*addrs;		/* [SEGMENT_ADDRS] */
	int64_t			 history_ms;	/* --history-ttl: older unserved */
};

struct segment_opts {		/* 0 (or NULL): adopt the existing segment */
	const char	*name;		/* NAME of /fcomet-NAME, "default" */
	uint32_t	 rooms;
	uint32_t	 window;
	uint32_t	 max_text;
	uint64_t	 max_size;	/* --segment-max, 0: the default */
	gid_t		 gid;		/* group given access, with group_set */
	bool		 group_set;
	uid_t		 uid;		/* owner, with user_set (root only) */
	bool		 user_set;
	bool		 create;	/* create it if missing */
};

/* segment.c */
int	segment_open(struct segment *, const struct segment_opts *, char *,
	    size_t);
void	segment_close(struct segment *);
int	segment_unlink(const char *, char *, size_t);
uint64_t segment_size_for(uint32_t, uint32_t, uint32_t);
int	segment_lock(struct segment *, int);
void	segment_unlock(struct segment *);
void	segment_notify(struct segment *);
uint32_t segment_change(const struct segment *);
int	segment_wait(struct segment *, uint32_t, int);
int	segment_rate_take(struct segment *, const char *, double, double,
	    int64_t, int *);
void	segment_listeners_add(struct segment *, int, int, int);
uint32_t segment_listeners(const struct segment *, int);
void	segment_totals(const struct segment *, uint64_t *, uint64_t *,
	    uint64_t *);
void	segment_listeners_clear(struct segment *, int);
int	segment_busy_next(const struct segment *, int);
int	segment_addr_enter(struct segment *, int, const char *, uint32_t);
void	segment_addr_leave(struct segment *, int, int);

/* rooms.c */
void	rooms_init(struct segment *);
void	rooms_rebuild(struct segment *);
uint32_t segment_hash(const char *);
uint64_t segment_hash64(const char *, uint64_t);
int	segment_room_find(const struct segment *, const char *);
int	segment_room_get(struct segment *, const char *);
uint64_t segment_room_rid(const struct segment *, int);
bool	segment_room_live(const struct segment *, int);
void	segment_room_touch(struct segment *, int);
int	segment_room_remove(struct segment *, const char *);
int	segment_sweep(struct segment *, int64_t, int64_t, int);
void	segment_window(const struct segment *, int, struct window *);
int64_t	segment_publish(struct segment *, const struct event *, int64_t *);
int64_t	segment_publish_wait(struct segment *, const struct event *, int64_t *,
	    int);
int	segment_read(const struct segment *, int, uint64_t,
	    struct window_out *);
int	segment_purge(struct segment *, int);
int	segment_presence_enter(struct segment *, int, const char *, int64_t,
	    int);
int	segment_presence_expire(struct segment *, int64_t, int64_t,
	    struct segment_gone *, int, int);
int64_t	segment_append_at(struct segment *, int, uint64_t, uint32_t,
	    const char *, size_t, bool);
int	segment_who(struct segment *, int, char (*)[EVENT_NICK_BYTES + 1],
	    int);

#endif
