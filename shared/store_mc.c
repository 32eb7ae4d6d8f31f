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
 * The room's next id. A counter that is gone (new room, or memcached
 * restarted or evicted it) starts past what this host has seen, so an id
 * is never handed out twice; the ids skipped are recorded as the room's
 * floor, so relays skip them at once. *floor gets it (0 if none).
 */
static int
mc_next_id(struct store *st, const char *room, uint64_t local_last,
    uint64_t *id, uint64_t *floor)
{
	char			key[128], val[32];
	memcached_return_t	rc;
	bool			jumped = false;

	*floor = 0;
	store_mc_key(st, key, sizeof key, "n", room, 0);
	rc = memcached_increment(st->mc, key, strlen(key), 1, id);
	if (mc_stale(rc))	/* lost with the connection: an unused id */
		rc = memcached_increment(st->mc, key, strlen(key), 1, id);
	if (rc == MEMCACHED_NOTFOUND) {
		/* Made with add, so that only the host that made it takes the
		 * initial id and records a floor: another host's increment
		 * landing on our initial id must not count as ours. */
		uint64_t initial = local_last ? local_last + 1 +
		    STORE_RESTART_MARGIN : 1;
		snprintf(val, sizeof val, "%llu", (unsigned long long)initial);
		rc = memcached_add(st->mc, key, strlen(key), val, strlen(val),
		    0, 0);
		if (rc == MEMCACHED_SUCCESS) {
			*id = initial;
			jumped = local_last > 0;
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

static int64_t
mc_publish(struct store *st, const struct event *evin, int64_t *ts)
{
	struct event		 ev = *evin;
	struct window		 w;
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
	segment_window(st->sg, ri, &w);
	if (mc_next_id(st, ev.room, window_last(&w), &id, &floor) == -1)
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
	struct window	w;
	uint64_t	id, floor;
	int		ri;

	if ((ri = segment_room_get(st->sg, room)) == -1)
		return -1;
	segment_window(st->sg, ri, &w);
	if (mc_next_id(st, room, window_last(&w), &id, &floor) == -1)
		return -1;
	return (int64_t)id;
}
