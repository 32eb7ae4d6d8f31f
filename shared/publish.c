/*
 * publish.c: a room's events. Appended under the lock (a room whose
 * window is full grows into a larger region first), read lock-free by
 * cursor and checked against the room's rid and region afterwards, purged
 * by fcometctl.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rooms.h"
#include "segment.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RELAXED(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define FENCE_ACQ()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define READ_TRIES	64

static uint32_t
stamp(const struct segment *sg, int64_t ts)
{
	int64_t	s = (ts - sg->hdr->epoch) / 1000;

	return s < 0 ? 0 : s > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/*
 * Under the lock: stores the record body (JSON without id) in room ri as
 * id (0: the next one), growing the room's window first if it is full.
 */
static int64_t
room_append(struct segment *sg, int ri, uint64_t id, uint32_t type,
    const char *body, size_t len, int64_t ts)
{
	struct segment_room	*r = &sg->rooms[ri];
	struct window		 w;
	int64_t			 rc;

	segment_window(sg, ri, &w);
	if (id == 0)
		id = w.hdr->last + 1;
	sg->hdr->owner_room = ri;
	room_grow(sg, ri, &w, window_record_len(id, len));
	w.at = stamp(sg, ts);
	rc = window_append_at(&w, id, type, body, len);
	sg->hdr->owner_room = -1;
	if (rc <= 0) {
		if (rc == -1 && errno == EMSGSIZE)
			errno = ENOSPC;	/* the arena has no region for it */
		return rc;
	}
	r->last_event = ts;
	switch (type) {
	case EVENT_JOIN:
		sg->hdr->c.joins++;
		break;
	case EVENT_LEAVE:
		sg->hdr->c.leaves++;
		break;
	case EVENT_MESSAGE:
		r->messages++;
		sg->hdr->c.sends++;
		break;
	default:
		sg->hdr->c.sends++;
	}
	return rc;
}

int64_t
segment_publish(struct segment *sg, const struct event *ev, int64_t *ts)
{
	return segment_publish_wait(sg, ev, ts, SEGMENT_WAIT_MS);
}

/*
 * Stores a checked event: encoded outside the lock, the lock held only to
 * find the room and copy the bytes in. Waits at most wait_ms for the lock
 * (0: not at all). Returns the id; *ts gets the time.
 */
int64_t
segment_publish_wait(struct segment *sg, const struct event *evin,
    int64_t *ts, int wait_ms)
{
	struct event	 ev = *evin;
	size_t		 max = EVENT_JSON_MAX(sg->hdr->max_text);
	char		*body;
	ssize_t		 len;
	int64_t		 id = -1;
	int		 ri;

	if (ev.ts == 0)
		ev.ts = event_now_ms();
	if ((body = malloc(max)) == NULL)
		return -1;
	if ((len = event_encode(&ev, body, max)) == -1 ||
	    segment_lock(sg, wait_ms) == -1)
		goto out;
	if ((ri = room_get_locked(sg, ev.room)) != -1)
		id = room_append(sg, ri, 0, ev.type, body, (size_t)len, ev.ts);
	segment_unlock(sg);
	if (id != -1) {
		segment_notify(sg);
		if (ts != NULL)
			*ts = ev.ts;
	}
out:
	free(body);
	return id;
}

/*
 * Stores an event another host numbered (see window_append_at); unless
 * holes is set, only if it comes right after the room's last id. With no
 * body, ids up to id are marked as never coming (window_skip).
 */
int64_t
segment_append_at(struct segment *sg, int ri, uint64_t id, uint32_t type,
    const char *body, size_t len, bool holes)
{
	struct window	w;
	int64_t		rc = 0;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	segment_window(sg, ri, &w);
	if (body == NULL) {
		sg->hdr->owner_room = ri;
		window_skip(&w, id);
		sg->hdr->owner_room = -1;
		rc = (int64_t)id;
	} else if (holes || id == w.hdr->last + 1)
		rc = room_append(sg, ri, id, type, body, len, event_now_ms());
	segment_unlock(sg);
	if (rc > 0)
		segment_notify(sg);
	return rc;
}

/* Events older than --history-ttl are not served: as if evicted. */
static void
history_cut(const struct segment *sg, struct window_out *out)
{
	int64_t	min = event_now_ms() - sg->history_ms;
	size_t	keep = 0;

	if (min <= sg->hdr->epoch)
		return;
	while (keep < out->n && out->ev[keep].at < stamp(sg, min))
		keep++;
	if (keep == 0)
		return;
	memmove(out->ev, out->ev + keep, (out->n - keep) * sizeof *out->ev);
	out->n -= keep;
	out->gap = !out->reset;
}

/* Lock-free; a room freed meanwhile reads as empty (old cursors: reset). */
int
segment_read(const struct segment *sg, int ri, uint64_t cursor,
    struct window_out *out)
{
	const struct segment_room	*r = &sg->rooms[ri];

	for (int i = 0; i < READ_TRIES; i++) {
		uint64_t	rid = LOAD(&r->rid);
		uint32_t	word = LOAD(&r->region);
		struct window	w;

		region_bind(sg, ri, word, &w);
		if (window_read(&w, cursor, out) == -1)
			return -1;
		FENCE_ACQ();
		if (RELAXED(&r->region) != word || RELAXED(&r->rid) != rid)
			continue;	/* moved or freed while we read */
		if (sg->history_ms > 0)
			history_cut(sg, out);
		return 0;
	}
	errno = EAGAIN;
	return -1;
}

int
segment_purge(struct segment *sg, int ri)
{
	struct segment_room	*r = &sg->rooms[ri];
	struct window		 w;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	segment_window(sg, ri, &w);
	sg->hdr->owner_room = ri;
	window_purge(&w);
	for (uint32_t s = r->nicks; s != 0; s = sg->pool[s - 1].next) {
		sg->pool[s - 1].nick[0] = '\0';
		STORE(&sg->pool[s - 1].room, 0);
	}
	r->nicks = r->present = 0;
	segment_unlock(sg);
	segment_notify(sg);
	return 0;
}
