/*
 * counts.c: what the segment counts for the limits and the reports: each
 * address's token bucket (under the lock), listeners per room and per
 * worker slot and per address (lock-free, atomic adds), the busy map of
 * rooms someone listens to, and the totals /status and /metrics show.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "segment.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define RELAXED(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define ADDR_PROBE	16	/* entries an address may take */
#define RATE_PROBE	8

/*
 * Token bucket of addr: rate tokens a second, burst at most. 0 if a token
 * was taken, 1 if limited (*retry gets the seconds to wait), -1 on error.
 */
int
segment_rate_take(struct segment *sg, const char *addr, double rate,
    double burst, int64_t now, int *retry)
{
	struct segment_rate	*b = NULL, *oldest = NULL;
	uint32_t		 i = segment_hash(addr) % SEGMENT_RATE;
	int			 rc = 0;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	for (int k = 0; k < RATE_PROBE && b == NULL; k++) {
		struct segment_rate *s = &sg->hdr->rate[(i + k) % SEGMENT_RATE];
		if (strcmp(s->addr, addr) == 0)
			b = s;
		else if (oldest == NULL || s->at < oldest->at)
			oldest = s;
	}
	if (b == NULL) {	/* a bucket idle longest is as good as full */
		b = oldest;
		snprintf(b->addr, sizeof b->addr, "%s", addr);
		b->tokens = burst;
		b->at = now;
	}
	b->tokens += (double)(now - b->at) * rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at = now;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else {
		*retry = (int)ceil((1.0 - b->tokens) / rate);
		if (*retry < 1)
			*retry = 1;
		sg->hdr->c.rate_limited++;
		rc = 1;
	}
	segment_unlock(sg);
	return rc;
}

/* The room's bit in the busy map follows whether anyone listens. */
static void
busy_set(struct segment *sg, int ri, bool on)
{
	uint64_t	*word = &sg->busy[ri / 64], bit = 1ULL << (ri % 64);

	if (on)
		__atomic_or_fetch(word, bit, __ATOMIC_RELEASE);
	else
		__atomic_and_fetch(word, ~bit, __ATOMIC_RELEASE);
}

static void
listeners_total(struct segment *sg, int ri, int delta)
{
	uint32_t	*total = &sg->rooms[ri].listeners;
	uint32_t	 n = ADD(total, (uint32_t)delta);

	if (delta > 0 && n == (uint32_t)delta)
		busy_set(sg, ri, true);
	else if (delta < 0 && n == 0) {
		busy_set(sg, ri, false);
		if (LOAD(total) > 0)	/* one came meanwhile */
			busy_set(sg, ri, true);
	}
}

void
segment_listeners_add(struct segment *sg, int slot, int ri, int delta)
{
	ADD(&sg->listeners[(size_t)slot * sg->hdr->nrooms + ri], delta);
	listeners_total(sg, ri, delta);
}

/* This host's listeners of room ri, over every worker slot. */
uint32_t
segment_listeners(const struct segment *sg, int ri)
{
	return LOAD(&sg->rooms[ri].listeners);
}

/* Over every live room: rooms holding events, events held, listeners
 * (/status, /metrics). */
void
segment_totals(const struct segment *sg, uint64_t *rooms, uint64_t *events,
    uint64_t *listeners)
{
	*rooms = *events = *listeners = 0;
	for (uint32_t i = 0; i < sg->hdr->nrooms; i++) {
		struct window	w;
		uint64_t	last, first;

		if (!segment_room_live(sg, (int)i))
			continue;
		segment_window(sg, (int)i, &w);
		last = window_last(&w);
		first = window_first(&w);
		if (last > 0)
			(*rooms)++;
		if (last >= first && last > 0)
			*events += last - first + 1;
		*listeners += segment_listeners(sg, (int)i);
	}
}

/*
 * Counts one more parked listener of addr in worker slot's count: the
 * entry to give back to segment_addr_leave, -1 with EBUSY if addr holds
 * max already (over every worker; workers racing may each get one more),
 * or -1 with ENOSPC if every entry it may use is held by other addresses
 * (then it is not counted). Lock-free: counts change by atomic adds,
 * an entry is taken or reused (all its counts 0) by compare-and-swap.
 */
static uint32_t
addr_sum(const struct segment_addr *e)
{
	uint32_t	sum = 0;

	for (int s = 0; s < SEGMENT_SLOTS; s++)
		sum += RELAXED(&e->n[s]);
	return sum;
}

int
segment_addr_enter(struct segment *sg, int slot, const char *addr,
    uint32_t max)
{
	uint64_t	tag = segment_hash64(addr, (uint64_t)sg->hdr->epoch) | 1;
	uint64_t	mix = (tag ^ tag >> 30) * 0xbf58476d1ce4e5b9ULL;
	uint32_t	at = (uint32_t)((mix ^ mix >> 27) % SEGMENT_ADDRS);

	/* First addr's own entry; failing that, a free one. Another worker
	 * may take an entry for addr meanwhile: then that one, so that an
	 * address never has two. */
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < ADDR_PROBE; k++) {
			int i = (int)((at + (uint32_t)k) % SEGMENT_ADDRS);
			struct segment_addr *e = &sg->addrs[i];
			uint64_t t = LOAD(&e->tag);
			uint32_t sum = addr_sum(e);

			if (t != tag) {
				if (pass == 0 || (t != 0 && sum != 0))
					continue;
				if (__atomic_compare_exchange_n(&e->tag, &t,
				    tag, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
					ADD(&e->n[slot], 1);	/* ours now */
					return i;
				}
				if (t != tag)
					continue;
			}
			if (sum >= max)
				return errno = EBUSY, -1;
			ADD(&e->n[slot], 1);
			return i;
		}
	return errno = ENOSPC, -1;
}

void
segment_addr_leave(struct segment *sg, int slot, int entry)
{
	if (entry >= 0 && entry < SEGMENT_ADDRS &&
	    RELAXED(&sg->addrs[entry].n[slot]) > 0)
		ADD(&sg->addrs[entry].n[slot], (uint32_t)-1);
}

/* A worker died: its parked requests are gone with it. */
void
segment_listeners_clear(struct segment *sg, int slot)
{
	for (int i = 0; i < SEGMENT_ADDRS; i++)
		if (RELAXED(&sg->addrs[i].n[slot]) != 0)
			__atomic_store_n(&sg->addrs[i].n[slot], 0,
			    __ATOMIC_RELEASE);
	for (uint32_t ri = 0; ri < sg->hdr->nrooms; ri++) {
		uint32_t *n = &sg->listeners[(size_t)slot * sg->hdr->nrooms +
		    ri];
		uint32_t v = RELAXED(n) ? __atomic_exchange_n(n, 0,
		    __ATOMIC_ACQ_REL) : 0;
		if (v != 0)
			listeners_total(sg, (int)ri, -(int)v);
	}
}

/* The first room at or after ri that has listeners here, or -1. */
int
segment_busy_next(const struct segment *sg, int ri)
{
	uint32_t	n = sg->hdr->nrooms;

	for (uint32_t i = (uint32_t)ri; i < n; i = (i | 63) + 1) {
		uint64_t w = LOAD(&sg->busy[i / 64]) >> (i % 64);
		if (w != 0) {
			i += (uint32_t)__builtin_ctzll(w);
			return i < n ? (int)i : -1;
		}
	}
	return -1;
}
