/*
 * presence.c: who is in a room. Nicks live in one pool of the segment,
 * open-addressed by (room, nick) over POOL_PROBE slots; each has the time
 * it was last seen, and a sweep lets go of those past the grace period.
 * Under the lock, like every write to the segment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RELAXED(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define POOL_PROBE	16

static uint32_t
pool_slot(const struct segment *sg, int ri, const char *nick, uint32_t k)
{
	return (uint32_t)(segment_hash64(nick, (uint64_t)ri * 0x9e3779b97f4a7c15ULL)
	    + k) & (sg->hdr->pool_size - 1);
}

static struct segment_presence *
presence_find(const struct segment *sg, int ri, const char *nick)
{
	for (uint32_t k = 0; k < POOL_PROBE && k < sg->hdr->pool_size; k++) {
		struct segment_presence *p = &sg->pool[pool_slot(sg, ri, nick,
		    k)];
		if (LOAD(&p->room) == (uint32_t)ri + 1 &&
		    strncmp(p->nick, nick, sizeof p->nick) == 0)
			return p;
	}
	return NULL;
}

/*
 * A listener holds nick in room ri at now. Returns 1 if that made the nick
 * present (the caller stores the join), 0 if it already was, -1 on error
 * (ENOSPC: SEGMENT_PRESENCE nicks already there, or the pool full).
 * Usually takes no lock.
 */
int
segment_presence_enter(struct segment *sg, int ri, const char *nick,
    int64_t now, int wait_ms)
{
	struct segment_room	*r = &sg->rooms[ri];
	struct segment_presence	*p;
	int			 rc = 0;

	if ((p = presence_find(sg, ri, nick)) != NULL) {
		__atomic_store_n(&p->seen, now, __ATOMIC_RELAXED);
		return 0;
	}
	if (segment_lock(sg, wait_ms) == -1)
		return -1;
	if ((p = presence_find(sg, ri, nick)) == NULL &&
	    r->rid != 0 && r->present < SEGMENT_PRESENCE) {
		for (uint32_t k = 0; k < POOL_PROBE && p == NULL; k++) {
			uint32_t s = pool_slot(sg, ri, nick, k);
			if (sg->pool[s].room != 0)
				continue;
			p = &sg->pool[s];
			snprintf(p->nick, sizeof p->nick, "%s", nick);
			p->next = r->nicks;
			r->nicks = s + 1;
			r->present++;
			STORE(&p->room, (uint32_t)ri + 1);
			rc = 1;
		}
	}
	if (p != NULL)
		p->seen = now;
	else
		rc = -1, errno = ENOSPC;
	segment_unlock(sg);
	return rc;
}

/* Under the lock: takes the nicks of room ri not held for grace ms. */
static int
presence_expire_room(struct segment *sg, uint32_t ri, int64_t now,
    int64_t grace, struct segment_gone *gone, int max)
{
	struct segment_room	*r = &sg->rooms[ri];
	uint32_t		*link = &r->nicks;
	int			 n = 0;

	while (*link != 0 && n < max) {
		struct segment_presence *p = &sg->pool[*link - 1];
		if (p->seen + grace >= now) {
			link = &p->next;
			continue;
		}
		memcpy(gone[n].room, r->name, sizeof gone[n].room);
		memcpy(gone[n++].nick, p->nick, sizeof p->nick);
		*link = p->next;
		p->nick[0] = '\0';
		STORE(&p->room, 0);
		r->present--;
	}
	return n;
}

/*
 * Removes the nicks not held for grace ms and hands them back (the caller
 * stores the leaves); returns how many, at most max.
 */
int
segment_presence_expire(struct segment *sg, int64_t now, int64_t grace,
    struct segment_gone *gone, int max, int wait_ms)
{
	int	n = 0;

	for (uint32_t s = 0; s < sg->hdr->pool_size && n < max; s++) {
		struct segment_presence	*p = &sg->pool[s];
		uint32_t		 room = LOAD(&p->room);

		if (room == 0 || room > sg->hdr->nrooms || RELAXED(&p->seen) +
		    grace >= now || segment_lock(sg, wait_ms) == -1)
			continue;
		n += presence_expire_room(sg, room - 1, now, grace, gone + n,
		    max - n);
		segment_unlock(sg);
	}
	return n;
}

static int
nick_cmp(const void *a, const void *b)
{
	return strcmp(a, b);	/* bytes of UTF-8: code point order */
}

/* The nicks present in room ri, sorted; at most max. */
int
segment_who(struct segment *sg, int ri, char (*nicks)[EVENT_NICK_BYTES + 1],
    int max)
{
	int	n = 0;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	for (uint32_t s = sg->rooms[ri].nicks; s != 0 && n < max;
	    s = sg->pool[s - 1].next)
		memcpy(nicks[n++], sg->pool[s - 1].nick, sizeof nicks[0]);
	segment_unlock(sg);
	qsort(nicks, (size_t)n, sizeof nicks[0], nick_cmp);
	return n;
}
