/*
 * window.c: a room's newest events in a byte ring over caller memory.
 * See window.h for the lock-free read protocol. No syscalls in here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "window.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RELAXED(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define FENCE_ACQ()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define FENCE_REL()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define ID_PREFIX_MAX	32	/* {"id":9007199254740991, */
#define READ_TRIES	64
#define ID_MAX		9007199254740991ULL	/* 2^53 - 1: ids never pass it */
#define POS_MAX		(1ULL << 62)	/* ring positions (bytes ever written)
					   never reach it; past it, head + len
					   would wrap and break pos % size */

static void	window_bind(struct window *, void *, uint32_t);
static void	ring_put(struct window *, uint64_t, const char *, size_t);
static void	ring_get(const struct window *, uint64_t, char *, size_t);

size_t
window_region_size(uint32_t cap, uint64_t size)
{
	return sizeof(struct window_hdr) + cap * sizeof(struct window_idx) +
	    size;
}

static void
window_bind(struct window *w, void *region, uint32_t cap)
{
	w->hdr = region;
	w->idx = (struct window_idx *)(w->hdr + 1);
	w->ring = (char *)(w->idx + cap);
}

/* The ring's bytes are left as they are: an index entry says what is valid. */
void
window_init(struct window *w, void *region, uint32_t cap, uint64_t size)
{
	memset(region, 0, window_region_size(cap, 0));
	window_bind(w, region, cap);
	w->hdr->cap = cap;
	w->hdr->size = size;
	w->hdr->first = 1;
}

/* Binds to a region that should hold a window of these sizes; checks it. */
int
window_attach(struct window *w, void *region, uint32_t cap, uint64_t size)
{
	window_bind(w, region, cap);
	if (w->hdr->cap != cap || w->hdr->size != size) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void
ring_put(struct window *w, uint64_t pos, const char *p, size_t len)
{
	uint64_t	off = pos % w->hdr->size;
	size_t		n = len;

	if (len == 0)
		return;
	if (off + n > w->hdr->size)
		n = w->hdr->size - off;
	memcpy(w->ring + off, p, n);
	memcpy(w->ring, p + n, len - n);
}

static void
ring_get(const struct window *w, uint64_t pos, char *p, size_t len)
{
	uint64_t	off = pos % w->hdr->size;
	size_t		n = len;

	if (off + n > w->hdr->size)
		n = w->hdr->size - off;
	memcpy(p, w->ring + off, n);
	memcpy(p + n, w->ring, len - n);
}

/* Drops the oldest event: publishes the new first before bytes are reused. */
static void
window_evict(struct window *w)
{
	struct window_hdr	*h = w->hdr;
	uint64_t		 first = h->first + 1;

	h->tail = first <= h->last ? w->idx[first % h->cap].pos : h->head;
	STORE(&h->first, first);
}

/* Stores record id (a+b, placeholder if empty), evicting what it needs. */
static void
window_put(struct window *w, uint64_t id, uint32_t type, const char *a,
    size_t alen, const char *b, size_t blen)
{
	struct window_hdr	*h = w->hdr;
	struct window_idx	*e;
	size_t			 total = alen + blen;

	while (h->first <= h->last && (id - h->first >= h->cap ||
	    h->head + total - h->tail > h->size))
		window_evict(w);
	FENCE_REL();		/* readers see first move before bytes change */
	ring_put(w, h->head, a, alen);
	ring_put(w, h->head + alen, b, blen);
	e = &w->idx[id % h->cap];
	e->id = id;
	e->pos = h->head;
	e->len = (uint32_t)total;
	e->type = type;
	e->at = w->at;
	if (h->first > h->last)		/* was empty */
		h->tail = h->head;
	h->head += total;
	STORE(&h->last, id);
}

/*
 * Appends an event whose JSON without id is body (it starts with '{').
 * The caller holds the lock. Returns the new id, or -1 with EMSGSIZE.
 */
int64_t
window_append(struct window *w, uint32_t type, const char *body, size_t len)
{
	return window_append_at(w, w->hdr->last + 1, type, body, len);
}

/*
 * Appends the event id, which another host numbered (memcached mode). An id
 * already held is ignored (0); ids between last and id never came: they
 * are held as empty placeholders, which readers skip (a gap if it is the
 * first they would return).
 */
int64_t
window_append_at(struct window *w, uint64_t id, uint32_t type,
    const char *body, size_t len)
{
	struct window_hdr	*h = w->hdr;
	char			 prefix[ID_PREFIX_MAX];
	size_t			 plen, total;

	if (len < 2 || body[0] != '{' || id == 0 || id > ID_MAX)
		return errno = EINVAL, -1;
	if (id <= h->last)
		return 0;
	plen = (size_t)snprintf(prefix, sizeof prefix, "{\"id\":%llu%s",
	    (unsigned long long)id, body[1] == '}' ? "" : ",");
	total = plen + len - 1;
	if (total > h->size)
		return errno = EMSGSIZE, -1;
	if (id - h->last - 1 >= h->cap) {	/* a hole wider than the window */
		h->tail = h->head;
		STORE(&h->first, id);
		h->last = id - 1;	/* jump it: a walk would be O(hole) */
	}
	while (h->last + 1 < id)	/* ids that never came: placeholders */
		window_put(w, h->last + 1, 0, NULL, 0, NULL, 0);
	window_put(w, id, type, prefix, plen, body + 1, len - 1);
	return (int64_t)id;
}

/* Ids up to id will never come (memcached mode): placeholders for them. */
void
window_skip(struct window *w, uint64_t id)
{
	struct window_hdr	*h = w->hdr;

	if (id > ID_MAX)
		return;
	if (id > h->last && id - h->last > h->cap) {
		h->tail = h->head;
		STORE(&h->first, id - h->cap + 1);
		h->last = id - h->cap;	/* readers see it with the next put */
	}
	while (h->last < id)
		window_put(w, h->last + 1, 0, NULL, 0, NULL, 0);
}

uint64_t
window_last(const struct window *w)
{
	return LOAD(&w->hdr->last);
}

uint64_t
window_first(const struct window *w)
{
	return LOAD(&w->hdr->first);
}

/* One attempt at a read; -1 if a purge or repair ran meanwhile. */
static int
window_read_once(const struct window *w, uint64_t cursor,
    struct window_out *out)
{
	const struct window_hdr	*h = w->hdr;
	uint32_t		 gen = LOAD(&h->gen);
	uint64_t		 last, first, id, from, n;
	size_t			 keep;
	bool			 torn = false;
	uint64_t		 torn_id = 0;

	if (gen & 1)
		return -1;
	last = LOAD(&h->last);
	first = LOAD(&h->first);
	if (last > ID_MAX || first > last + 1 || first == 0)
		return -1;	/* mid-update, or broken: repair mends it */
	out->n = out->bytes = 0;
	out->last = last;
	out->cursor = cursor;
	out->reset = cursor > last;
	from = out->reset || cursor + 1 < first ? first : cursor + 1;
	if (last >= from && last - from >= h->cap)
		from = last - h->cap + 1;
	n = last >= from ? last - from + 1 : 0;		/* at most cap */
	for (id = from; n > 0; id++, n--) {
		struct window_idx	e = w->idx[id % h->cap];
		struct window_ev	*ev = &out->ev[out->n];

		if (e.id != id || e.len > h->size ||
		    out->bytes + e.len > h->size) {
			torn = true;	/* evicted meanwhile, or a bug */
			torn_id = id;
			continue;
		}
		if (e.len == 0)
			continue;	/* an id that never came */
		ring_get(w, e.pos, out->buf + out->bytes, e.len);
		ev->id = id;
		ev->off = (uint32_t)out->bytes;
		ev->len = e.len;
		ev->type = e.type;
		ev->at = e.at;
		out->bytes += e.len;
		out->n++;
	}
	FENCE_ACQ();	/* what we copied is whole if first did not pass it */
	if (RELAXED(&h->gen) != gen)
		return -1;
	first = RELAXED(&h->first);
	if (torn && torn_id >= first)
		return -1;
	for (keep = 0; keep < out->n && out->ev[keep].id < first; keep++)
		;
	if (keep > 0) {		/* evicted while we copied: drop them */
		memmove(out->ev, out->ev + keep,
		    (out->n - keep) * sizeof *out->ev);
		out->n -= keep;
	}
	out->gap = !out->reset && last > cursor &&
	    (out->n == 0 || out->ev[0].id > cursor + 1);
	return 0;
}

/*
 * Events with id > cursor still held, oldest first; see window_out. Never
 * locks. -1 with EAGAIN only if writers kept rewriting the room.
 */
int
window_read(const struct window *w, uint64_t cursor, struct window_out *out)
{
	for (int i = 0; i < READ_TRIES; i++)
		if (window_read_once(w, cursor, out) == 0)
			return 0;
	errno = EAGAIN;
	return -1;
}

/* Empties the room: ids start again at 1, old cursors get reset. A purge
 * that a crash cut short (gen odd) is done again the same way. */
void
window_purge(struct window *w)
{
	struct window_hdr	*h = w->hdr;
	uint32_t		 gen = h->gen | 1;

	STORE(&h->gen, gen);
	FENCE_REL();
	h->last = 0;
	h->first = 1;
	h->head = h->tail = 0;
	h->purged++;
	memset(w->idx, 0, h->cap * sizeof *w->idx);
	STORE(&h->gen, gen + 1);
}

/* Bytes a record of a body of len takes with the id put in front. */
size_t
window_record_len(uint64_t id, size_t len)
{
	char	prefix[ID_PREFIX_MAX];

	return (size_t)snprintf(prefix, sizeof prefix, "{\"id\":%llu,",
	    (unsigned long long)id) + len - 1;
}

/* Whether appending a record of total bytes would drop an event. */
bool
window_would_evict(const struct window *w, size_t total)
{
	const struct window_hdr	*h = w->hdr;

	return h->first <= h->last && (h->last + 1 - h->first >= h->cap ||
	    h->head + total - h->tail > h->size);
}

/*
 * Fills the empty window dst with the newest events of src that fit, ids
 * and stamps kept (a room moving to another size class). The caller holds
 * the lock; dst has no reader yet.
 */
void
window_copy(struct window *dst, const struct window *src)
{
	const struct window_hdr	*s = src->hdr;
	struct window_hdr	*d = dst->hdr;
	uint64_t		 from = s->last + 1, bytes = 0;

	while (from > s->first && s->last + 1 - (from - 1) <= d->cap &&
	    bytes + src->idx[(from - 1) % s->cap].len <= d->size)
		bytes += src->idx[--from % s->cap].len;
	d->purged = s->purged;
	d->first = from;
	d->last = from - 1;
	for (uint64_t id = from; id <= s->last; id++) {
		const struct window_idx	*e = &src->idx[id % s->cap];
		uint64_t		 off = e->pos % s->size;
		size_t			 n = e->len;

		if (off + n > s->size)
			n = (size_t)(s->size - off);
		dst->at = e->at;
		window_put(dst, id, e->type, src->ring + off, n, src->ring,
		    e->len - n);
	}
	if (d->first > d->last)
		d->first = d->last + 1;
}

/*
 * After a writer died holding the lock: make the header agree with the
 * index again. Events fully stored before the crash are kept. Returns 1 if
 * something was mended, 0 if the room was consistent.
 */
int
window_repair(struct window *w)
{
	struct window_hdr	*h = w->hdr;
	uint64_t		 id, limit;
	int			 mended = 0;

	STORE(&h->gen, h->gen | 1);
	FENCE_REL();
	if (h->last > ID_MAX || h->head > POS_MAX ||
	    h->head - h->tail > h->size) {
		h->last = h->head = h->tail = 0;	/* nothing to save */
		h->first = 1;
		mended = 1;
	}
	if (h->first == 0 || h->first > h->last + 1 ||
	    h->last - h->first + 1 > h->cap) {
		h->first = h->last >= h->cap ? h->last - h->cap + 1 : 1;
		mended = 1;
	}
	/* Newest first: each event ends where the next begins or before,
	 * all within size of head. The first that does not is where the
	 * room starts again (so no two kept events overlap). */
	for (id = h->last, limit = h->head; id >= h->first && id != 0; id--) {
		struct window_idx *e = &w->idx[id % h->cap];
		if (e->id != id || e->pos > limit || e->len > limit - e->pos ||
		    h->head - e->pos > h->size) {
			h->first = id + 1, mended = 1;
			break;
		}
		limit = e->pos;
	}
	h->tail = h->first <= h->last ? w->idx[h->first % h->cap].pos :
	    h->head;
	STORE(&h->gen, (h->gen | 1) + 1);
	return mended;
}

int
window_out_alloc(struct window_out *out, uint32_t cap, uint64_t size)
{
	memset(out, 0, sizeof *out);
	out->ev = calloc(cap, sizeof *out->ev);
	out->buf = malloc(size);
	if (out->ev == NULL || out->buf == NULL) {
		window_out_free(out);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
window_out_free(struct window_out *out)
{
	free(out->ev);
	free(out->buf);
	out->ev = NULL;
	out->buf = NULL;
}
