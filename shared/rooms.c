/*
 * rooms.c: what the segment holds, room by room: the records, the index
 * that finds them, the arena their windows live in, and reclaim (presence
 * is presence.c).
 *
 * A room is a record at a fixed index while it lives. The index is an
 * open-addressed table of (tag << 32 | record + 1): a lookup probes at most
 * INDEX_PROBE slots and never stops at an empty one, so a deletion just
 * clears its slot and lock-free readers never miss a live room. A record's
 * window is a region of one size class (its `region` word, stored in one
 * atomic store); every record owns one region of class 0, and a room that
 * fills it moves up to a free region of a larger class. Writers hold the
 * lock; readers check rid and region before and after they read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rooms.h"
#include "segment.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RELAXED(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define FENCE_ACQ()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define CLS(w)		((w) >> 28)
#define REG(w)		((w) & 0x0fffffffU)
#define WORD(c, r)	((uint32_t)(c) << 28 | (uint32_t)(r))
#define NONE		UINT32_MAX
#define INDEX_PROBE	64

uint64_t
segment_hash64(const char *s, uint64_t seed)
{
	uint64_t	h = 14695981039346656037ULL ^ seed;	/* FNV-1a */

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

uint32_t
segment_hash(const char *s)
{
	return (uint32_t)segment_hash64(s, 0);
}

static uint32_t *
class_owners(const struct segment *sg, uint32_t k)
{
	return (uint32_t *)((char *)sg->hdr + sg->hdr->cls[k].owners_off);
}

static uint32_t *
class_free(const struct segment *sg, uint32_t k)
{
	return (uint32_t *)((char *)sg->hdr + sg->hdr->cls[k].free_off);
}

/* The window of region word; a word out of range (a broken segment) is
 * read as the record's own class-0 region. */
void
region_bind(const struct segment *sg, int ri, uint32_t word, struct window *w)
{
	const struct segment_hdr	*h = sg->hdr;
	const struct segment_class	*c;

	if (CLS(word) >= h->nclasses || REG(word) >= h->cls[CLS(word)].count)
		word = WORD(0, ri);
	c = &h->cls[CLS(word)];
	w->hdr = (struct window_hdr *)((char *)h + c->off +
	    (uint64_t)REG(word) * c->stride);
	w->idx = (struct window_idx *)(w->hdr + 1);
	w->ring = (char *)(w->idx + c->cap);
	w->at = 0;
}

void
segment_window(const struct segment *sg, int ri, struct window *w)
{
	region_bind(sg, ri, LOAD(&sg->rooms[ri].region), w);
}

/* At creation, on zeroed memory: every region formatted, all free. */
void
rooms_init(struct segment *sg)
{
	struct segment_hdr	*h = sg->hdr;

	for (uint32_t k = 0; k < h->nclasses; k++) {
		struct segment_class	*c = &h->cls[k];
		uint32_t		*own = class_owners(sg, k);
		uint32_t		*fr = class_free(sg, k);

		for (uint32_t r = 0; r < c->count; r++) {
			struct window w;
			window_init(&w, (char *)h + c->off + r * c->stride,
			    c->cap, c->ring);
			own[r] = k == 0 ? r : NONE;
			if (k > 0)
				fr[c->count - 1 - r] = r;
		}
		c->nfree = k == 0 ? 0 : c->count;
	}
	for (uint32_t ri = 0; ri < h->nrooms; ri++) {
		sg->rooms[ri].region = WORD(0, ri);
		sg->free_rooms[h->nrooms - 1 - ri] = ri;
	}
	h->nfree_rooms = h->nrooms;
}

static int
index_lookup(const struct segment *sg, const char *name, uint64_t *ridp)
{
	uint64_t	hv = segment_hash64(name, 0);
	uint32_t	mask = sg->hdr->index_size - 1, tag = (uint32_t)(hv >> 32);

	for (uint32_t k = 0; k < INDEX_PROBE && k <= mask; k++) {
		uint64_t			 v = LOAD(&sg->index[(hv + k) & mask]);
		uint32_t			 ri = (uint32_t)v - 1;
		const struct segment_room	*r;
		uint64_t			 rid;

		if (v == 0 || (uint32_t)(v >> 32) != tag ||
		    ri >= sg->hdr->nrooms)
			continue;
		r = &sg->rooms[ri];
		if ((rid = LOAD(&r->rid)) == 0 ||
		    strncmp(r->name, name, sizeof r->name) != 0)
			continue;
		FENCE_ACQ();
		if (RELAXED(&r->rid) != rid)
			continue;
		if (ridp != NULL)
			*ridp = rid;
		return (int)ri;
	}
	return -1;
}

/* Under the lock. */
static int
index_add(struct segment *sg, const char *name, uint32_t ri)
{
	uint64_t	hv = segment_hash64(name, 0);
	uint32_t	mask = sg->hdr->index_size - 1;

	for (uint32_t k = 0; k < INDEX_PROBE && k <= mask; k++) {
		uint64_t *slot = &sg->index[(hv + k) & mask];
		if (*slot == 0) {
			STORE(slot, (hv >> 32) << 32 | (uint64_t)(ri + 1));
			return 0;
		}
	}
	return -1;
}

static void
index_del(struct segment *sg, const char *name, uint32_t ri)
{
	uint64_t	hv = segment_hash64(name, 0);
	uint64_t	v = (hv >> 32) << 32 | (uint64_t)(ri + 1);
	uint32_t	mask = sg->hdr->index_size - 1;

	for (uint32_t k = 0; k < INDEX_PROBE && k <= mask; k++)
		if (sg->index[(hv + k) & mask] == v)
			STORE(&sg->index[(hv + k) & mask], 0);
}

/* Lock-free: the room's record index, or -1. */
int
segment_room_find(const struct segment *sg, const char *room)
{
	return index_lookup(sg, room, NULL);
}

uint64_t
segment_room_rid(const struct segment *sg, int ri)
{
	return LOAD(&sg->rooms[ri].rid);
}

bool
segment_room_live(const struct segment *sg, int ri)
{
	return segment_room_rid(sg, ri) != 0;
}

/* A request for the room: it was used now (for least-recently-used). */
void
segment_room_touch(struct segment *sg, int ri)
{
	int64_t	now = event_now_ms();

	if (RELAXED(&sg->rooms[ri].touched) + 1000 < now)
		__atomic_store_n(&sg->rooms[ri].touched, now, __ATOMIC_RELAXED);
}

static void
region_free(struct segment *sg, uint32_t word)
{
	struct segment_class	*c = &sg->hdr->cls[CLS(word)];
	struct window		 w;

	if (CLS(word) == 0)
		return;
	region_bind(sg, 0, word, &w);
	window_purge(&w);		/* a reader still on it notices */
	class_owners(sg, CLS(word))[REG(word)] = NONE;
	class_free(sg, CLS(word))[c->nfree++] = REG(word);
}

static uint32_t
region_alloc(struct segment *sg, uint32_t k, uint32_t ri)
{
	struct segment_class	*c = &sg->hdr->cls[k];
	struct window		 w;
	uint32_t		 r;

	if (c->nfree == 0)
		return NONE;
	r = class_free(sg, k)[--c->nfree];
	class_owners(sg, k)[r] = ri;
	region_bind(sg, (int)ri, WORD(k, r), &w);
	window_purge(&w);
	return WORD(k, r);
}

/* Room ri's events go to region word (allocated, empty); the old one is
 * given back. Readers see the new word after the copy is whole. */
static void
room_move(struct segment *sg, int ri, uint32_t word, struct window *w)
{
	struct segment_room	*r = &sg->rooms[ri];
	uint32_t		 old = r->region;
	struct window		 nw;

	region_bind(sg, ri, word, &nw);
	window_copy(&nw, w);
	STORE(&r->region, word);
	region_free(sg, old);
	*w = nw;
	sg->hdr->c.moves++;
}

/* Frees a region of class k from the room that used it least recently
 * (no listeners, not ri): its newest events go back to its class 0. */
static bool
region_steal(struct segment *sg, uint32_t k, int ri)
{
	const struct segment_class	*c = &sg->hdr->cls[k];
	uint32_t			*own = class_owners(sg, k);
	uint32_t			 best = NONE;
	int64_t				 oldest = INT64_MAX;

	for (uint32_t i = 0; i < c->count; i++) {
		const struct segment_room *v;
		if (own[i] == NONE || own[i] == (uint32_t)ri)
			continue;
		v = &sg->rooms[own[i]];
		if (v->listeners == 0 && v->touched < oldest)
			oldest = v->touched, best = i;
	}
	if (best == NONE)
		return false;
	struct window	 w, c0;
	uint32_t	 vri = own[best];

	sg->hdr->owner_room = (int32_t)vri;
	region_bind(sg, (int)vri, WORD(k, best), &w);
	region_bind(sg, (int)vri, WORD(0, vri), &c0);
	window_purge(&c0);
	window_copy(&c0, &w);
	STORE(&sg->rooms[vri].region, WORD(0, vri));
	region_free(sg, WORD(k, best));
	sg->hdr->owner_room = ri;
	sg->hdr->c.steals++;
	return true;
}

/*
 * Before a record of total bytes goes in: a room that would drop an event
 * moves to the next class with a free region; one whose record does not
 * fit at all takes a region back from an idle room if none is free.
 */
void
room_grow(struct segment *sg, int ri, struct window *w, size_t total)
{
	const struct segment_hdr	*h = sg->hdr;
	uint32_t			 k = CLS(sg->rooms[ri].region), word;
	bool				 fits = total <= w->hdr->size;

	if (fits && !window_would_evict(w, total))
		return;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t j = k + 1; j < h->nclasses; j++) {
			if (h->cls[j].ring < total)
				continue;
			if (pass == 1 && (fits || !region_steal(sg, j, ri)))
				continue;
			if ((word = region_alloc(sg, j, (uint32_t)ri)) != NONE) {
				room_move(sg, ri, word, w);
				return;
			}
		}
}

/* Under the lock: frees record ri, whatever it holds. */
static void
room_free(struct segment *sg, uint32_t ri)
{
	struct segment_room	*r = &sg->rooms[ri];
	struct window		 w;

	sg->hdr->owner_room = (int32_t)ri;
	index_del(sg, r->name, ri);
	STORE(&r->rid, 0);
	region_free(sg, r->region);
	STORE(&r->region, WORD(0, ri));
	region_bind(sg, (int)ri, WORD(0, ri), &w);
	window_purge(&w);
	for (uint32_t s = r->nicks; s != 0; s = sg->pool[s - 1].next) {
		sg->pool[s - 1].nick[0] = '\0';
		STORE(&sg->pool[s - 1].room, 0);
	}
	r->nicks = r->present = 0;
	sg->free_rooms[sg->hdr->nfree_rooms++] = ri;
	sg->hdr->rooms_used--;
	sg->hdr->c.reclaims++;
	sg->hdr->owner_room = -1;
}

static bool
room_idle(const struct segment_room *r, int64_t now, int64_t ttl)
{
	if (LOAD(&r->rid) == 0 || RELAXED(&r->listeners) != 0 ||
	    RELAXED(&r->present) != 0)
		return false;
	if (r->messages == 0)
		return RELAXED(&r->touched) + SEGMENT_SOFT_TTL_MS <= now;
	return ttl > 0 && (r->last_event > r->created ? r->last_event :
	    r->created) + ttl <= now;
}

/* The index is full: free the least recently used room nobody listens
 * to, one that never held a message first. */
static int
room_evict(struct segment *sg)
{
	uint32_t	best = NONE;
	bool		best_soft = false;
	int64_t		oldest = INT64_MAX;

	for (uint32_t ri = 0; ri < sg->hdr->nrooms; ri++) {
		const struct segment_room *r = &sg->rooms[ri];
		bool soft = r->messages == 0;
		if (r->rid == 0 || r->listeners != 0 || r->present != 0)
			continue;
		if ((soft && !best_soft) || (soft == best_soft &&
		    r->touched < oldest))
			best = ri, best_soft = soft, oldest = r->touched;
	}
	if (best == NONE)
		return -1;
	room_free(sg, best);
	return 0;
}

/* Under the lock: the room's index, created if new; ENOSPC if full. */
int
room_get_locked(struct segment *sg, const char *room)
{
	struct segment_hdr	*h = sg->hdr;
	struct segment_room	*r;
	struct window		 w;
	uint32_t		 ri;
	int			 found;

	if ((found = index_lookup(sg, room, NULL)) != -1)
		return found;
	if (h->nfree_rooms == 0 && room_evict(sg) == -1)
		goto full;
	ri = sg->free_rooms[--h->nfree_rooms];
	r = &sg->rooms[ri];
	/* A writer that died freeing this record may have left events in
	 * its window: a new room starts empty, at id 1. */
	STORE(&r->region, WORD(0, ri));
	region_bind(sg, (int)ri, r->region, &w);
	window_purge(&w);
	snprintf(r->name, sizeof r->name, "%s", room);
	r->created = r->touched = event_now_ms();
	r->last_event = 0;
	r->messages = r->taken = 0;
	r->inflight = 0;
	r->nicks = r->present = 0;
	STORE(&r->rid, ++h->serial);
	if (index_add(sg, room, ri) == -1) {
		STORE(&r->rid, 0);
		sg->free_rooms[h->nfree_rooms++] = ri;
		goto full;
	}
	h->rooms_used++;
	return (int)ri;
full:
	h->c.room_full++;
	errno = ENOSPC;
	return -1;
}

int
segment_room_get(struct segment *sg, const char *room)
{
	int	ri;

	if ((ri = segment_room_find(sg, room)) != -1)
		return ri;
	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	ri = room_get_locked(sg, room);
	segment_unlock(sg);
	return ri;
}

/* fcometctl rm: the room goes, listeners or not (they get reset). */
int
segment_room_remove(struct segment *sg, const char *room)
{
	int	ri;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	if ((ri = index_lookup(sg, room, NULL)) != -1) {
		room_free(sg, (uint32_t)ri);
		sg->hdr->c.reclaims--;	/* removed, not reclaimed */
	}
	segment_unlock(sg);
	if (ri == -1)
		return errno = ENOENT, -1;
	segment_notify(sg);
	return 0;
}

/*
 * Gives back the idle rooms among the next max records: no listener, no
 * nick, and no event for ttl ms (never a message: SEGMENT_SOFT_TTL_MS
 * unused). Returns how many.
 */
int
segment_sweep(struct segment *sg, int64_t now, int64_t ttl, int max)
{
	uint32_t	n = sg->hdr->nrooms, from;
	int		freed = 0;
	bool		locked = false;

	from = __atomic_fetch_add(&sg->hdr->sweep, (uint32_t)max,
	    __ATOMIC_RELAXED) % n;
	for (int i = 0; i < max && (uint32_t)i < n; i++) {
		uint32_t ri = (from + (uint32_t)i) % n;
		if (!room_idle(&sg->rooms[ri], now, ttl))
			continue;
		if (!locked && segment_lock(sg, SEGMENT_WAIT_MS) == -1)
			break;
		locked = true;
		if (room_idle(&sg->rooms[ri], now, ttl)) {
			room_free(sg, ri);
			freed++;
		}
	}
	if (locked)
		segment_unlock(sg);
	return freed;
}

/*
 * After a writer died holding the lock (its room's window is repaired
 * already): everything else is derived again from the records, so a
 * half-done create, move or reclaim leaves nothing dangling.
 */
void
rooms_rebuild(struct segment *sg)
{
	struct segment_hdr	*h = sg->hdr;

	for (uint32_t k = 1; k < h->nclasses; k++)
		for (uint32_t r = 0; r < h->cls[k].count; r++)
			class_owners(sg, k)[r] = NONE;
	memset(sg->index, 0, (size_t)h->index_size * sizeof *sg->index);
	h->rooms_used = h->nfree_rooms = 0;
	for (uint32_t ri = 0; ri < h->nrooms; ri++) {
		struct segment_room	*r = &sg->rooms[ri];
		uint32_t		 w = r->region, k = CLS(w);
		uint32_t		 listeners = 0;

		for (int s = 0; s < SEGMENT_SLOTS; s++)
			listeners += sg->listeners[(size_t)s * h->nrooms + ri];
		r->listeners = listeners;
		r->name[EVENT_ROOM_MAX] = '\0';
		r->nicks = r->present = 0;
		if (r->rid == 0) {	/* free, or died freeing: no region */
			r->region = WORD(0, ri);
			continue;
		}
		if (k >= h->nclasses || REG(w) >= h->cls[k].count ||
		    (k == 0 && REG(w) != ri) ||
		    (k > 0 && class_owners(sg, k)[REG(w)] != NONE)) {
			struct window c0;	/* what it held is lost */
			r->region = WORD(0, ri);
			region_bind(sg, (int)ri, r->region, &c0);
			window_purge(&c0);
		} else if (k > 0)
			class_owners(sg, k)[REG(w)] = ri;
		if (index_lookup(sg, r->name, NULL) == -1 &&
		    index_add(sg, r->name, ri) == 0)
			h->rooms_used++;
		else {				/* a twin, or no slot */
			r->rid = 0;
			if (CLS(r->region) > 0)
				class_owners(sg, CLS(r->region))[REG(r->region)]
				    = NONE;
			r->region = WORD(0, ri);
		}
	}
	for (uint32_t ri = h->nrooms; ri-- > 0;)
		if (sg->rooms[ri].rid == 0)
			sg->free_rooms[h->nfree_rooms++] = ri;
	for (uint32_t k = 1; k < h->nclasses; k++) {
		h->cls[k].nfree = 0;
		for (uint32_t r = h->cls[k].count; r-- > 0;)
			if (class_owners(sg, k)[r] == NONE)
				class_free(sg, k)[h->cls[k].nfree++] = r;
	}
	for (uint32_t s = 0; s < h->pool_size; s++) {
		struct segment_presence	*p = &sg->pool[s];
		struct segment_room	*r;

		if (p->room == 0)
			continue;
		r = p->room <= h->nrooms ? &sg->rooms[p->room - 1] : NULL;
		if (r == NULL || r->rid == 0 || r->present >= SEGMENT_PRESENCE) {
			p->room = 0;
			continue;
		}
		p->nick[EVENT_NICK_BYTES] = '\0';
		p->next = r->nicks;
		r->nicks = s + 1;
		r->present++;
	}
}
