/*
 * relay.c: memcached mode. A child of the master that mirrors into this
 * host's segment the events other hosts stored, in id order, so local
 * listeners are woken exactly as for a local send. Idle, it reads one key
 * (the site's sequence counter) every --relay-tick ms (30); when it moves, it
 * fetches the room counters in one multi-get and the missing events in
 * another. An id taken but never stored is waited for HOLE_WAIT_MS (1 s), then
 * skipped: a gap, never a hang or a reordering. With --peers, a peer's
 * wake-up "ROOM ID" is fetched at once (one get), and this relay bumps the
 * sequence counter for this host's sends, once a tick, not each send.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

#include "fcomet.h"
#include "log.h"
#include "park.h"
#include "store.h"
#include "wake.h"

#define RELAY_FULL_MS	2000	/* look at every room even if seq is still */
#define HOLE_WAIT_MS	1000	/* an id taken but not stored: then a gap */
#define RELAY_BATCH	256	/* events fetched per multi-get */

static struct segment	*relay_sg;	/* for room_held */

struct relay {
	struct store	*st;
	struct segment	*sg;
	bool		*known;		/* rooms of the site's room list */
	uint64_t	*counter;	/* per room: memcached's last id */
	int64_t		*since;		/* per room: ms an id has been missing */
	uint64_t	*upto;		/* per room: the ids that wait covers */
};

static uint64_t
mc_get_number(struct relay *rl, const char *key, int *err)
{
	memcached_return_t	 rc;
	size_t			 len;
	uint32_t		 flags;
	char			*v;
	uint64_t		 n = 0;

	v = memcached_get(rl->st->mc, key, strlen(key), &len, &flags, &rc);
	*err = memcached_failed(rc) && rc != MEMCACHED_NOTFOUND;
	if (v != NULL)
		n = strtoull(v, NULL, 10);
	free(v);
	return n;
}

/* Reads the site's room list into known[], creating the rooms here. */
static void
relay_rooms(struct relay *rl)
{
	memcached_return_t	 rc;
	char			 key[128], *v, *line, *save = NULL;
	size_t			 len;
	uint32_t		 flags;
	int			 ri;

	store_mc_key(rl->st, key, sizeof key, "rooms", NULL, 0);
	v = memcached_get(rl->st->mc, key, strlen(key), &len, &flags, &rc);
	if (v == NULL)
		return;
	for (line = strtok_r(v, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *why;
		if (event_check_room(line, strlen(line), &why) != 0)
			continue;
		if ((ri = segment_room_get(rl->sg, line)) != -1)
			rl->known[ri] = true;
	}
	free(v);
}

/* A result's key, NUL-terminated (libmemcached does not). */
static void
result_key(memcached_result_st *res, char *k, size_t len)
{
	size_t	klen = memcached_result_key_length(res);

	if (klen >= len)
		klen = len - 1;
	memcpy(k, memcached_result_key_value(res), klen);
	k[klen] = '\0';
}

/* Every known room's counter, in one multi-get: 0 or -1. */
static int
relay_counters(struct relay *rl)
{
	uint32_t		 nrooms = rl->sg->hdr->nrooms, n = 0;
	char			(*keys)[128];
	const char		**kp;
	size_t			*kl;
	memcached_result_st	*res;
	memcached_return_t	 rc;
	int			 r = -1;

	keys = calloc(nrooms, sizeof *keys);
	kp = calloc(nrooms, sizeof *kp);
	kl = calloc(nrooms, sizeof *kl);
	if (keys == NULL || kp == NULL || kl == NULL)
		goto out;
	for (uint32_t ri = 0; ri < nrooms; ri++) {
		if (!rl->known[ri])
			continue;
		store_mc_key(rl->st, keys[n], sizeof keys[n], "n",
		    rl->sg->rooms[ri].name, 0);
		kp[n] = keys[n];
		kl[n] = strlen(keys[n]);
		n++;
	}
	r = 0;
	if (n == 0 || memcached_failed(memcached_mget(rl->st->mc, kp, kl, n))) {
		r = n == 0 ? 0 : -1;
		goto out;
	}
	while ((res = memcached_fetch_result(rl->st->mc, NULL, &rc)) != NULL) {
		char		 k[160], v[32];
		const char	*room;
		size_t		 vlen = memcached_result_length(res);
		int		 ri;

		result_key(res, k, sizeof k);
		room = strstr(k, ":n:");
		if (room != NULL && vlen < sizeof v &&
		    (ri = segment_room_find(rl->sg, room + 3)) != -1) {
			memcpy(v, memcached_result_value(res), vlen);
			v[vlen] = '\0';
			rl->counter[ri] = strtoull(v, NULL, 10);
		}
		memcached_result_free(res);
	}
out:
	free(keys);
	free(kp);
	free(kl);
	return r;
}

/* The lag of a relayed event, from the "ts" its JSON starts with. */
static void
relay_lag(struct relay *rl, const char *body)
{
	long long	ts;

	if (sscanf(body, "{\"ts\":%lld", &ts) == 1)
		__atomic_store_n(&rl->sg->hdr->c.relay_lag_ms,
		    (uint64_t)(event_now_ms() - ts), __ATOMIC_RELAXED);
}

/*
 * A missing id: true if it is to be waited for. A wait covers every id up
 * to the counter when it began, so a run of missing ids costs one wait;
 * ids below the room's floor (a counter re-made after a restart) never
 * come and cost none.
 */
static bool
relay_wait(struct relay *rl, int ri, uint64_t id)
{
	char		key[128];
	int64_t		now = mono_ms();
	int		err;

	if (rl->since[ri] == 0) {
		uint64_t floor;
		store_mc_key(rl->st, key, sizeof key, "floor",
		    rl->sg->rooms[ri].name, 0);
		floor = mc_get_number(rl, key, &err);
		if (!err && floor >= id && floor <= EVENT_ID_MAX) {
			rl->since[ri] = now - HOLE_WAIT_MS;	/* over */
			rl->upto[ri] = floor;
			return false;
		}
		rl->since[ri] = now;
		rl->upto[ri] = rl->counter[ri];
	}
	return id > rl->upto[ri] || now - rl->since[ri] < HOLE_WAIT_MS;
}

/*
 * Fetches room ri's events after its local last up to upto and stores them
 * in order. Returns true if it waits on a missing id, or more are to come.
 * A hint (a peer's wake-up, not the counter) is trusted only as far as
 * the events are there: a missing one ends it (true), never a wait.
 */
static bool
relay_fetch(struct relay *rl, int ri, uint64_t upto, bool hint)
{
	struct window		 w;
	const char		*room = rl->sg->rooms[ri].name;
	char			 keys[RELAY_BATCH][160];
	const char		*kp[RELAY_BATCH];
	size_t			 kl[RELAY_BATCH];
	char			*vals[RELAY_BATCH] = { 0 };
	size_t			 vlen[RELAY_BATCH];
	memcached_result_st	*res;
	memcached_return_t	 rc;
	uint64_t		 from, n, id;
	bool			 waiting = false;

	segment_window(rl->sg, ri, &w);
	from = window_last(&w) + 1;
	if (from > rl->upto[ri])
		rl->since[ri] = 0;	/* past every id the wait covered */
	if (upto >= rl->sg->hdr->cap && from < upto - rl->sg->hdr->cap + 1)
		from = upto - rl->sg->hdr->cap + 1;	/* older: gone anyway */
	n = upto - from + 1 > RELAY_BATCH ? RELAY_BATCH : upto - from + 1;
	for (uint64_t i = 0; i < n; i++) {
		store_mc_key(rl->st, keys[i], sizeof keys[i], "e", room,
		    from + i);
		kp[i] = keys[i];
		kl[i] = strlen(keys[i]);
	}
	if (memcached_failed(rc = memcached_mget(rl->st->mc, kp, kl, n)))
		return false;
	while ((res = memcached_fetch_result(rl->st->mc, NULL, &rc)) != NULL) {
		char	k[160];
		result_key(res, k, sizeof k);
		const char *colon = strrchr(k, ':');
		id = colon ? strtoull(colon + 1, NULL, 10) : 0;
		if (id >= from && id < from + n && vals[id - from] == NULL &&
		    memcached_result_length(res) >= 3) {
			vlen[id - from] = memcached_result_length(res);
			/* NUL-ended: relay_lag reads it as a string */
			vals[id - from] = malloc(vlen[id - from] + 1);
			if (vals[id - from] != NULL) {
				memcpy(vals[id - from],
				    memcached_result_value(res), vlen[id - from]);
				vals[id - from][vlen[id - from]] = '\0';
			}
		}
		memcached_result_free(res);
	}
	for (uint64_t i = 0; i < n; i++) {
		char *v = vals[i];
		if (waiting) {
			free(v);
			continue;
		}
		if (v == NULL && hint) {
			waiting = true;
			continue;
		}
		if (v == NULL) {
			if (relay_wait(rl, ri, from + i)) {
				waiting = true;	/* it may still come */
				continue;
			}
			__atomic_add_fetch(&rl->sg->hdr->c.holes, 1,
			    __ATOMIC_RELAXED);
			segment_append_at(rl->sg, ri, from + i, 0, NULL, 0,
			    true);	/* listeners get their gap now */
			continue;
		}
		if (segment_append_at(rl->sg, ri, from + i, (uint32_t)v[0],
		    v + 1, vlen[i] - 1, true) > 0) {
			__atomic_add_fetch(&rl->sg->hdr->c.relayed, 1,
			    __ATOMIC_RELAXED);
			relay_lag(rl, v + 1);
		}
		free(v);
	}
	return waiting || from + n <= upto;
}

/* One pass: counters of every known room, then what is missing here. */
static bool
relay_pass(struct relay *rl)
{
	bool	again = false;

	relay_rooms(rl);
	if (relay_counters(rl) == -1)
		return true;
	for (uint32_t ri = 0; ri < rl->sg->hdr->nrooms; ri++) {
		struct window	w;

		if (!rl->known[ri])
			continue;
		segment_window(rl->sg, (int)ri, &w);
		if (rl->counter[ri] <= EVENT_ID_MAX &&
		    rl->counter[ri] > window_last(&w))
			again |= relay_fetch(rl, (int)ri, rl->counter[ri],
			    false);
	}
	return again;
}

/*
 * A peer stored event id in room (wake.c): fetched now, without waiting
 * for the poll. Only if that falls short (ids missing, a room new here) is
 * the counter read, and only a room memcached has is made here.
 */
static void
relay_room_now(struct relay *rl, const char *room, uint64_t id)
{
	struct window	w;
	char		key[128];
	uint64_t	n;
	int		ri, err;

	if ((ri = segment_room_find(rl->sg, room)) != -1) {
		segment_window(rl->sg, ri, &w);
		n = window_last(&w);
		if (id <= n)
			return;
		if (id - n <= RELAY_BATCH && !relay_fetch(rl, ri, id, true)) {
			rl->known[ri] = true;
			return;
		}
	}
	store_mc_key(rl->st, key, sizeof key, "n", room, 0);
	n = mc_get_number(rl, key, &err);
	if (err || n == 0 || n > EVENT_ID_MAX ||
	    (ri = segment_room_get(rl->sg, room)) == -1)
		return;		/* no such room: nothing is made here */
	rl->known[ri] = true;
	segment_window(rl->sg, ri, &w);
	if (n > window_last(&w)) {
		rl->counter[ri] = n;
		relay_fetch(rl, ri, n, false);
	}
}

/* A peer asks (wake_ask): the highest id this host holds or took in
 * room and the ids its threads are taking there now (0, 0 if no room). */
static void
room_held(const char *room, uint64_t *top, uint64_t *inflight)
{
	struct window	w;
	int		ri = segment_room_find(relay_sg, room);

	*top = *inflight = 0;
	if (ri == -1)
		return;
	*inflight = __atomic_load_n(&relay_sg->rooms[ri].inflight,
	    __ATOMIC_SEQ_CST);
	*top = __atomic_load_n(&relay_sg->rooms[ri].taken, __ATOMIC_SEQ_CST);
	segment_window(relay_sg, ri, &w);
	if (window_last(&w) > *top)
		*top = window_last(&w);
}

/*
 * Sleeps until the next tick, or sooner when this host's segment changes
 * (a local send that could not go into the window in order) or a peer's
 * wake-up comes (then its rooms are fetched). False once SIGTERM or
 * SIGINT came.
 */
static bool
relay_sleep(struct relay *rl, int wake_fd, uint32_t *seen,
    const sigset_t *stop)
{
	struct timespec	zero = { 0, 0 };
	struct pollfd	pfd = { .fd = wake_fd, .events = POLLIN };
	struct wake_msg	msgs[WAKE_BATCH];

	if (wake_fd == -1)
		segment_wait(rl->sg, *seen, opt.relay_tick);
	else if (poll(&pfd, 1, opt.relay_tick) == 1) {
		int n = wake_recv(wake_fd, msgs, WAKE_BATCH, room_held);
		for (int i = 0; i < n; i++)
			relay_room_now(rl, msgs[i].room, msgs[i].id);
	}
	*seen = segment_change(rl->sg);
	return sigtimedwait(stop, NULL, &zero) == -1;
}

int
relay_main(void)
{
	struct segment	 sg;
	struct relay	 rl = { .sg = &sg };
	sigset_t	 set;
	char		 err[256], key[128];
	uint64_t	 seen = UINT64_MAX, bumped = 0;
	uint32_t	 change;
	int64_t		 full = 0;
	bool		 again = false;
	int		 wake_fd = -1;

	opt.seg.create = false;
	if (segment_open(&sg, &opt.seg, err, sizeof err) == -1)
		fatal("%s", err);
	relay_sg = &sg;
	if ((rl.st = store_open(&sg, opt.memcached, opt.mc_prefix, err,
	    sizeof err)) == NULL)
		fatal("%s", err);
	rl.known = calloc(sg.hdr->nrooms, sizeof *rl.known);
	rl.counter = calloc(sg.hdr->nrooms, sizeof *rl.counter);
	rl.since = calloc(sg.hdr->nrooms, sizeof *rl.since);
	rl.upto = calloc(sg.hdr->nrooms, sizeof *rl.upto);
	if (!rl.known || !rl.counter || !rl.since || !rl.upto)
		fatal("out of memory");
	if (opt.wake_listen != NULL &&
	    (wake_fd = wake_listen(err, sizeof err)) == -1)
		fatal("%s", err);
	store_mc_key(rl.st, key, sizeof key, "seq", NULL, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	change = segment_change(&sg);
	bumped = sg.hdr->c.mc_stored;
	while (relay_sleep(&rl, wake_fd, &change, &set)) {
		int		e;
		uint64_t	seq, mine = __atomic_load_n(&sg.hdr->c.mc_stored,
				    __ATOMIC_RELAXED);
		int64_t		now = mono_ms();

		if (opt.peers != NULL && mine != bumped) {
			/* Our sends since the last tick (woken peers
			 * have them): one bump tells the rest. Only ours
			 * since our last pass: no pass for it. */
			store_mc_seq_bump(rl.st, &seq);
			if ((e = seq == 0) == 0)
				bumped = mine;
			if (seq == seen + 1)
				seen = seq;
		} else
			seq = mc_get_number(&rl, key, &e);

		__atomic_store_n(&sg.hdr->c.mc_down, (uint64_t)e,
		    __ATOMIC_RELAXED);
		if (e) {	/* an outage is not time spent waiting */
			__atomic_add_fetch(&sg.hdr->c.mc_errors, 1,
			    __ATOMIC_RELAXED);
			memset(rl.since, 0, sg.hdr->nrooms * sizeof *rl.since);
			continue;
		}
		if (seq == seen && !again && now < full)
			continue;
		again = relay_pass(&rl);
		seen = seq;
		change = segment_change(&sg);	/* not woken by our own */
		if (now >= full)
			full = now + RELAY_FULL_MS;
	}
	if (wake_fd != -1)
		close(wake_fd);
	free(rl.known);
	free(rl.counter);
	free(rl.since);
	free(rl.upto);
	store_close(rl.st);
	segment_close(&sg);
	return 0;
}
