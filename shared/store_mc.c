/*
 * store_mc.c: the memcached store. Ids come from a counter per room
 * (increment), each event is stored under its id, and a site-wide sequence
 * counter tells the relays that something changed. Every call has short
 * timeouts: a dead memcached costs milliseconds and a 503, never a hang.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>

#include "log.h"
#include "store.h"

/*
 * RETRY-TIMEOUT=0: a server that failed is tried again at the next
 * operation (a refused connect costs nothing here, a remote one that does
 * not answer costs CONNECT-TIMEOUT), not shunned for a second by a thread
 * that happened to meet its restart.
 */
/* Consistent hashing over several servers: one down takes only its keys. */
#define MC_OPTIONS	" --BINARY-PROTOCOL --DISTRIBUTION=consistent" \
			" --CONNECT-TIMEOUT=300" \
			" --POLL-TIMEOUT=300 --RCV-TIMEOUT=300000" \
			" --SND-TIMEOUT=300000 --RETRY-TIMEOUT=0 --TCP-NODELAY"

/* A thread's connection that memcached's restart broke fails its next
 * operation once; the first operation of a request is tried again. */
static bool
mc_stale(memcached_return_t rc)
{
	return rc == MEMCACHED_CONNECTION_FAILURE ||
	    rc == MEMCACHED_WRITE_FAILURE || rc == MEMCACHED_READ_FAILURE ||
	    rc == MEMCACHED_UNKNOWN_READ_FAILURE;
}

static void
mc_failed(struct store *st, memcached_return_t rc, const char *what)
{
	__atomic_add_fetch(&st->sg->hdr->c.mc_errors, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&st->sg->hdr->c.mc_down, 1, __ATOMIC_RELAXED);
	log_debug("memcached %s: %s", what,
	    memcached_strerror(st->mc, rc));
	errno = EIO;
}

/* "host:port[,host:port...]" -> a memcached_st with short timeouts. */
int
store_mc_connect(struct store *st, const char *servers, char *err,
    size_t errlen)
{
	char	 conf[1024], *list, *s, *save = NULL;
	size_t	 n = 0;

	if ((list = strdup(servers)) == NULL)
		return -1;
	conf[0] = '\0';
	for (s = strtok_r(list, ",", &save); s != NULL;
	    s = strtok_r(NULL, ",", &save)) {
		if (strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != strlen(s))
			break;
		n += (size_t)snprintf(conf + n, sizeof conf - n, "%s--SERVER=%s",
		    n ? " " : "", s);
	}
	free(list);
	if (s != NULL || n == 0 || n + sizeof MC_OPTIONS >= sizeof conf) {
		snprintf(err, errlen, "--memcached %s: give host:port[,...]",
		    servers);
		return -1;
	}
	strcat(conf, MC_OPTIONS);
	if ((st->mc = memcached(conf, strlen(conf))) == NULL) {
		snprintf(err, errlen, "memcached configuration %s refused",
		    conf);
		return -1;
	}
	return 0;
}

/* prefix:kind[:room[:id]] */
void
store_mc_key(const struct store *st, char *buf, size_t len, const char *kind,
    const char *room, uint64_t id)
{
	if (room == NULL)
		snprintf(buf, len, "%s:%s", st->prefix, kind);
	else if (id == 0)
		snprintf(buf, len, "%s:%s:%s", st->prefix, kind, room);
	else
		snprintf(buf, len, "%s:%s:%s:%llu", st->prefix, kind, room,
		    (unsigned long long)id);
}

/* Remembers a room in the site's room list, so relays mirror it. */
static void
mc_room_known(struct store *st, const char *room)
{
	char			key[128], line[EVENT_ROOM_MAX + 2];
	memcached_return_t	rc;

	store_mc_key(st, key, sizeof key, "rooms", NULL, 0);
	snprintf(line, sizeof line, "%s\n", room);
	for (int i = 0; i < 3; i++) {
		rc = memcached_append(st->mc, key, strlen(key), line,
		    strlen(line), 0, 0);
		if (rc != MEMCACHED_NOTSTORED)
			break;
		rc = memcached_add(st->mc, key, strlen(key), line, strlen(line),
		    0, 0);
		if (rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS)
			break;
	}
	if (memcached_failed(rc))
		mc_failed(st, rc, "room list");
}

/*
 * Tells the relays that something changed. A store with notify leaves it
 * to this host's relay, once a tick (the peers were woken directly).
 * *seq, if not NULL, gets the new value (0 on failure).
 */
void
store_mc_seq_bump(struct store *st, uint64_t *seq)
{
	char			key[128];
	uint64_t		v = 0;
	memcached_return_t	rc;

	store_mc_key(st, key, sizeof key, "seq", NULL, 0);
	rc = memcached_increment_with_initial(st->mc, key, strlen(key), 1, 1,
	    0, &v);
	if (memcached_failed(rc)) {
		mc_failed(st, rc, "seq");	/* relays find it later */
		v = 0;
	}
	if (seq != NULL)
		*seq = v;
}

/*
 * Where a counter memcached does not have (a new room, or memcached
 * restarted, flushed or evicted it) starts: at 1 if no host knows the
 * room; else right past every id this host and its peers hold or took,
 * plus one for each id being taken right now (in flight, not yet counted
 * as taken). Without peers to ask (fcometctl, or no --peers), a margin of
 * STORE_RESTART_MARGIN stands for them. A peer that did not answer may
 * hold more, however far this host lags: then past the clock in
 * microseconds, which no id handed out before can have reached (that
 * takes a million sends a second since the counter was made).
 */
static uint64_t
mc_initial(struct store *st, int ri)
{
	struct segment_room	*r = &st->sg->rooms[ri];
	struct window		 w;
	struct timespec		 ts;
	uint64_t		 last, more, us;
	bool			 sure = true;

	segment_window(st->sg, ri, &w);
	last = window_last(&w);
	if (last < __atomic_load_n(&r->taken, __ATOMIC_SEQ_CST))
		last = __atomic_load_n(&r->taken, __ATOMIC_SEQ_CST);
	more = __atomic_load_n(&r->inflight, __ATOMIC_SEQ_CST) - 1;  /* us */
	if (st->ask != NULL)
		sure = st->ask(r->name, &last, &more) == 0;
	else
		more = STORE_RESTART_MARGIN;
	if (last == 0)
		return 1;	/* no host holds or took an id here */
	last += 1 + more;
	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	return sure || us <= last || us > EVENT_ID_MAX ? last : us;
}

/*
 * Room ri's next id. A counter that is gone starts where mc_initial says,
 * so an id is never handed out twice; the ids skipped are recorded as the
 * room's floor, so relays skip them at once. *floor gets it (0 if none).
 */
static int
mc_take_id(struct store *st, int ri, uint64_t *id, uint64_t *floor)
{
	const char		*room = st->sg->rooms[ri].name;
	struct window		 w;
	char			 key[128], val[32];
	memcached_return_t	 rc;
	bool			 jumped = false;
	uint64_t		 local_last;

	*floor = 0;
	segment_window(st->sg, ri, &w);
	local_last = window_last(&w);
	store_mc_key(st, key, sizeof key, "n", room, 0);
	rc = memcached_increment(st->mc, key, strlen(key), 1, id);
	if (mc_stale(rc))	/* lost with the connection: an unused id */
		rc = memcached_increment(st->mc, key, strlen(key), 1, id);
	if (rc == MEMCACHED_NOTFOUND) {
		/* Made with add, so that only the host that made it takes the
		 * initial id and records a floor: another host's increment
		 * landing on our initial id must not count as ours. */
		uint64_t initial = mc_initial(st, ri);
		snprintf(val, sizeof val, "%llu", (unsigned long long)initial);
		rc = memcached_add(st->mc, key, strlen(key), val, strlen(val),
		    0, 0);
		if (rc == MEMCACHED_SUCCESS) {
			*id = initial;
			jumped = initial > 1;
			mc_room_known(st, room);
		} else if (rc == MEMCACHED_NOTSTORED ||
		    rc == MEMCACHED_DATA_EXISTS)	/* another host made it */
			rc = memcached_increment(st->mc, key, strlen(key), 1,
			    id);
	}
	if (!memcached_failed(rc) && *id <= local_last) {	/* behind */
		rc = memcached_increment(st->mc, key, strlen(key),
		    local_last - *id + 1 + STORE_RESTART_MARGIN, id);
		jumped = true;
	}
	if (memcached_failed(rc)) {
		mc_failed(st, rc, "increment");
		return -1;
	}
	if (jumped) {
		*floor = *id - 1;	/* a restarted counter: never coming */
		store_mc_key(st, key, sizeof key, "floor", room, 0);
		snprintf(val, sizeof val, "%llu", (unsigned long long)*floor);
		memcached_set(st->mc, key, strlen(key), val, strlen(val), 0, 0);
	}
	if (st->notify == NULL)
		store_mc_seq_bump(st, NULL);
	return 0;
}

/* mc_take_id, counted in the room's inflight while it runs and in its
 * taken after: what this host answers a peer's wake_ask. */
static int
mc_next_id(struct store *st, int ri, uint64_t *id, uint64_t *floor)
{
	struct segment_room	*r = &st->sg->rooms[ri];
	int			 rc;

	__atomic_add_fetch(&r->inflight, 1, __ATOMIC_SEQ_CST);
	if ((rc = mc_take_id(st, ri, id, floor)) == 0)
		for (uint64_t t = __atomic_load_n(&r->taken, __ATOMIC_SEQ_CST);
		    t < *id && !__atomic_compare_exchange_n(&r->taken, &t,
		    *id, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);)
			;
	__atomic_sub_fetch(&r->inflight, 1, __ATOMIC_SEQ_CST);
	return rc;
}

static int64_t
mc_publish(struct store *st, const struct event *evin, int64_t *ts)
{
	struct event		 ev = *evin;
	char			 key[160], *val;
	size_t			 max = EVENT_JSON_MAX(st->sg->hdr->max_text) + 1;
	ssize_t			 len;
	uint64_t		 id, floor;
	memcached_return_t	 rc;
	int			 ri;

	if (ev.ts == 0)
		ev.ts = event_now_ms();
	if ((ri = segment_room_get(st->sg, ev.room)) == -1)
		return -1;
	if ((val = malloc(max)) == NULL)
		return -1;
	val[0] = (char)ev.type;
	if ((len = event_encode(&ev, val + 1, max - 1)) == -1)
		goto fail;
	if (mc_next_id(st, ri, &id, &floor) == -1)
		goto fail;
	store_mc_key(st, key, sizeof key, "e", ev.room, id);
	rc = memcached_set(st->mc, key, strlen(key), val, (size_t)len + 1, 0, 0);
	if (memcached_failed(rc)) {
		mc_failed(st, rc, "set");	/* the id is lost: a gap */
		goto fail;
	}
	__atomic_store_n(&st->sg->hdr->c.mc_down, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->sg->hdr->c.mc_stored, 1, __ATOMIC_RELAXED);
	if (st->notify != NULL)
		st->notify(ev.room, id);
	/* In order here (or right after a floor): into the window now. Else
	 * the relay puts it there. */
	if (floor > 0)
		segment_append_at(st->sg, ri, floor, 0, NULL, 0, true);
	if (segment_append_at(st->sg, ri, id, ev.type, val + 1, (size_t)len,
	    false) == -1)
		log_debug("local append %llu: %s", (unsigned long long)id,
		    strerror(errno));
	free(val);
	if (ts != NULL)
		*ts = ev.ts;
	return (int64_t)id;
fail:
	free(val);
	return -1;
}

static int
mc_check(struct store *st)
{
	char			 key[128], *v;
	size_t			 len;
	uint32_t		 flags;
	memcached_return_t	 rc;

	store_mc_key(st, key, sizeof key, "seq", NULL, 0);
	v = memcached_get(st->mc, key, strlen(key), &len, &flags, &rc);
	if (mc_stale(rc)) {
		free(v);
		v = memcached_get(st->mc, key, strlen(key), &len, &flags, &rc);
	}
	free(v);
	if (memcached_failed(rc) && rc != MEMCACHED_NOTFOUND) {
		mc_failed(st, rc, "get");
		return -1;
	}
	return 0;
}

static void
mc_close(struct store *st)
{
	memcached_free(st->mc);
	st->mc = NULL;
}

const struct store_ops store_mc_ops = {
	"memcached", mc_publish, mc_check, mc_close
};

/* Test hook: takes an id and stores nothing, as a sender that died. */
int64_t
store_mc_take_id(struct store *st, const char *room)
{
	uint64_t	id, floor;
	int		ri;

	if ((ri = segment_room_get(st->sg, room)) == -1)
		return -1;
	if (mc_next_id(st, ri, &id, &floor) == -1)
		return -1;
	return (int64_t)id;
}
