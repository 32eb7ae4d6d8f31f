/* store.c: the store interface, and presence on top of any store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static int64_t
shm_publish(struct store *st, const struct event *ev, int64_t *ts)
{
	return segment_publish_wait(st->sg, ev, ts, st->wait_ms);
}

static int
shm_check(struct store *st)
{
	(void)st;
	return 0;		/* the segment is always there */
}

static void
shm_close(struct store *st)
{
	(void)st;
}

static const struct store_ops store_shm_ops = {
	"shm", shm_publish, shm_check, shm_close
};

/* servers NULL: the shm store; else "host:port[,host:port...]". */
struct store *
store_open(struct segment *sg, const char *servers, const char *prefix,
    char *err, size_t errlen)
{
	struct store	*st;

	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->sg = sg;
	st->ops = &store_shm_ops;
	st->wait_ms = SEGMENT_WAIT_MS;
	snprintf(st->prefix, sizeof st->prefix, "%s",
	    prefix ? prefix : STORE_PREFIX_DEFAULT);
	if (servers != NULL) {
		st->ops = &store_mc_ops;
		if (store_mc_connect(st, servers, err, errlen) == -1) {
			free(st);
			return NULL;
		}
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	free(st);
}

const char *
store_kind(const struct store *st)
{
	return st->ops->kind;
}

int64_t
store_publish(struct store *st, const struct event *ev, int64_t *ts)
{
	return st->ops->publish(st, ev, ts);
}

int
store_check(struct store *st)
{
	return st->ops->check(st);
}

/* A listener holds nick: 1 if it joined (its join is stored). */
int
store_presence_touch(struct store *st, int ri, const char *nick, int64_t now)
{
	struct event	ev = { EVENT_JOIN, now, st->sg->rooms[ri].name, nick,
			    NULL, 0 };
	int		rc;

	if ((rc = segment_presence_enter(st->sg, ri, nick, now,
	    st->wait_ms)) == 1 &&
	    store_publish(st, &ev, NULL) == -1)
		return -1;
	return rc;
}

/* Stores a leave for every nick whose grace period ran out. */
int
store_presence_sweep(struct store *st, int64_t now, int64_t grace)
{
	struct segment_gone	gone[16];
	int			n, left = 0;

	do {
		n = segment_presence_expire(st->sg, now, grace, gone, 16,
		    st->wait_ms);
		for (int i = 0; i < n; i++) {
			struct event ev = { EVENT_LEAVE, now, gone[i].room,
			    gone[i].nick, NULL, 0 };
			if (store_publish(st, &ev, NULL) != -1)
				left++;
		}
	} while (n == 16);
	return left;
}
