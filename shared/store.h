/*
 * store.h: where events are numbered and kept. shm: the local segment.
 * memcached: ids and events shared by every host of a site, each host's
 * segment its local window (filled by the relay, fcgi/relay.c). One store
 * per thread: a memcached connection is never shared.
 */
#ifndef FCOMET_STORE_H
#define FCOMET_STORE_H

#include <stdint.h>

#include "event.h"
#include "segment.h"

#define STORE_PREFIX_DEFAULT	"fcomet"
#define STORE_RESTART_MARGIN	100	/* ids skipped after a lost counter */

struct store;

struct store_ops {
	const char	*kind;
	int64_t		(*publish)(struct store *, const struct event *,
			    int64_t *);
	int		(*check)(struct store *);
	void		(*close)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	struct segment		*sg;
	void			*mc;		/* memcached_st */
	char			 prefix[48];	/* of memcached keys */
	int			 wait_ms;	/* for the lock (the dispatcher's
						   store waits little) */
	void			(*notify)(const char *room, uint64_t id);
						/* memcached: tells the peers of
						   each event stored (wake.c);
						   then this host's relay bumps
						   seq, once a tick */
	int			(*ask)(const char *room, uint64_t *max,
				    uint64_t *inflight);
						/* memcached: the peers' highest
						   id in room and ids in flight,
						   before a lost counter is made
						   again (wake_ask) */
};

struct store	*store_open(struct segment *, const char *, const char *,
		    char *, size_t);
void		 store_close(struct store *);
const char	*store_kind(const struct store *);
int64_t		 store_publish(struct store *, const struct event *, int64_t *);
int		 store_check(struct store *);
int		 store_presence_touch(struct store *, int, const char *, int64_t);
int		 store_presence_sweep(struct store *, int64_t, int64_t);

/* store_mc.c: also used by the relay and the tests' hooks */
extern const struct store_ops store_mc_ops;
int		 store_mc_connect(struct store *, const char *, char *, size_t);
void		 store_mc_key(const struct store *, char *, size_t, const char *,
		    const char *, uint64_t);
int64_t		 store_mc_take_id(struct store *, const char *);
void		 store_mc_seq_bump(struct store *, uint64_t *);

#endif
