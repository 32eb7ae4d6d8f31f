/*
 * fuzz_rooms.c: the rooms of a real segment (layout version 2) under a
 * sequence of operations the input chooses, against a model, with writers
 * that die mid-operation.
 *
 * Bytes 0-2: rooms (2 to 9 records), window (4 to 67: two or three size
 * classes), a seed for texts. Then one operation a byte, its arguments
 * after it: publish to one of 12 names (a text of 1 to 40 bytes), open a
 * room for reading (a soft room), remove one, sweep (a clock the input
 * moves on), or a crash: a writer died holding the lock, in the middle of
 * a create, a move, a steal or a reclaim. What such a writer may leave
 * torn is what the repair rebuilds from the records: the index, the free
 * stacks, the region owners, the counts, and the room it was writing (its
 * window bytes, its region word back at its class-0 region). The harness
 * tears those with input bytes and runs the repair a lock takeover runs
 * (window_repair of the owner's room, rooms_rebuild).
 *
 * Names 0 and 1 have a listener, so nothing reclaims them. What must hold:
 * - after every operation: each record is free or found by its name, and
 *   the free stacks and counts agree with the records;
 * - a room with a listener reads as a contiguous run of ids ending at the
 *   last id the model gave it, with the texts the model sent;
 * - a room whose rid did not change takes the next id on a publish;
 * - a crash changes nothing a room other than the one being written holds:
 *   after the repair, each room with a listener reads byte for byte what
 *   it read before.
 */
#include <errno.h>
#include <unistd.h>

#include "fuzz.h"
#include "segment.h"

#define NAMES	12
#define KEPT	2	/* names with a listener */

static char	name[40];

struct model {
	char		room[8];
	int		ri;		/* its record when last seen, -1 */
	uint64_t	rid;		/* that record's rid then */
	uint64_t	last;		/* the last id published */
	bool		known;		/* ri, rid and last hold */
	bool		torn;		/* a crash was in it: may hold none */
	char		text[16][48];	/* the texts of ids last-15 .. last */
};

struct snap {
	size_t		n, bytes;
	uint64_t	first, last;
	char		buf[8192];
};

static void
cleanup(void)
{
	char	err[256];

	segment_unlink(name, err, sizeof err);
}

static int
consistent(struct segment *sg)
{
	const struct segment_hdr	*h = sg->hdr;
	uint32_t			 live = 0;

	for (uint32_t ri = 0; ri < h->nrooms; ri++) {
		if (!segment_room_live(sg, (int)ri))
			continue;
		live++;
		FUZZ_CHECK(segment_room_find(sg, sg->rooms[ri].name) ==
		    (int)ri, "room %u (%s) not found by its name", ri,
		    sg->rooms[ri].name);
	}
	FUZZ_CHECK(live == h->rooms_used, "%u live, rooms_used %u", live,
	    h->rooms_used);
	FUZZ_CHECK(live + h->nfree_rooms == h->nrooms, "%u live + %u free "
	    "!= %u records", live, h->nfree_rooms, h->nrooms);
	for (uint32_t k = 1; k < h->nclasses; k++) {
		uint32_t used = 0;
		for (uint32_t ri = 0; ri < h->nrooms; ri++)
			used += segment_room_live(sg, (int)ri) &&
			    sg->rooms[ri].region >> 28 == k;
		FUZZ_CHECK(used + h->cls[k].nfree == h->cls[k].count,
		    "class %u: %u used + %u free != %u", k, used,
		    h->cls[k].nfree, h->cls[k].count);
	}
	return 0;
}

/* A kept room reads as the model says: contiguous, ending at its last. */
static void
check_kept(struct segment *sg, struct model *m, struct window_out *o,
    struct snap *s)
{
	int	ri = segment_room_find(sg, m->room);

	FUZZ_CHECK(ri == m->ri, "kept room %s moved from %d to %d", m->room,
	    m->ri, ri);
	FUZZ_CHECK(segment_read(sg, ri, 0, o) == 0, "read %s: %s", m->room,
	    strerror(errno));
	FUZZ_CHECK(o->last == m->last, "%s: last %llu, model %llu", m->room,
	    (unsigned long long)o->last, (unsigned long long)m->last);
	FUZZ_CHECK(m->last == 0 || m->torn || o->n > 0, "%s: no event of %llu", m->room,
	    (unsigned long long)m->last);
	for (size_t j = 0; j < o->n; j++) {
		const struct window_ev *e = &o->ev[j];
		uint64_t back = m->last - e->id;
		FUZZ_CHECK(e->id == m->last - (o->n - 1 - j), "%s: id %llu at "
		    "%zu of %zu, last %llu", m->room, (unsigned long long)e->id,
		    j, o->n, (unsigned long long)m->last);
		if (back < 16)
			FUZZ_CHECK(memmem(o->buf + e->off, e->len,
			    m->text[e->id % 16], strlen(m->text[e->id % 16]))
			    != NULL, "%s: id %llu lost its text", m->room,
			    (unsigned long long)e->id);
	}
	if (s != NULL) {
		s->n = o->n;
		s->bytes = o->bytes < sizeof s->buf ? o->bytes : sizeof s->buf;
		s->first = o->n ? o->ev[0].id : 0;
		s->last = o->last;
		memcpy(s->buf, o->buf, s->bytes);
	}
}

static void
publish(struct segment *sg, struct model *m, struct fuzz_in *in,
    unsigned seed)
{
	char		text[48];
	size_t		len = 1 + fuzz_u8(in) % 40;
	struct event	ev = { EVENT_MESSAGE, 0, m->room, "fz", text, len };
	int64_t		ts = 0, id;
	int		ri;
	uint64_t	rid;

	for (size_t i = 0; i < len; i++)
		text[i] = (char)('a' + (seed + i * 7 + m->last) % 26);
	text[len] = '\0';
	id = segment_publish(sg, &ev, &ts);
	FUZZ_CHECK(id > 0 || (id == -1 && errno == ENOSPC), "publish %s: "
	    "%lld (%s)", m->room, (long long)id, strerror(errno));
	if (id == -1)
		return;
	ri = segment_room_find(sg, m->room);
	FUZZ_CHECK(ri >= 0, "%s not found after its publish", m->room);
	rid = segment_room_rid(sg, ri);
	if (!m->known)
		;
	else if (ri == m->ri && rid == m->rid)
		FUZZ_CHECK((uint64_t)id == m->last + 1, "%s: id %lld after "
		    "%llu in the same room", m->room, (long long)id,
		    (unsigned long long)m->last);
	else
		FUZZ_CHECK(id == 1, "%s: a new room starts at %lld", m->room,
		    (long long)id);
	m->ri = ri, m->rid = rid, m->last = (uint64_t)id;
	m->known = true, m->torn = false;
	snprintf(m->text[id % 16], sizeof m->text[0], "%s", text);
}

static void
tear(struct fuzz_in *in, void *p, size_t size)
{
	size_t	n = fuzz_u8(in) % 8;

	while (n-- > 0 && size > 0) {
		size_t off = ((size_t)fuzz_u8(in) << 8 | fuzz_u8(in)) % size;
		((uint8_t *)p)[off] = fuzz_u8(in);
	}
}

/*
 * A writer died in the middle of an append to w: it may have moved first
 * on (the events it evicts), written bytes where the ring is free and the
 * index entry of the next id, and moved head; it had not yet published
 * last. (The bytes of events up to last are whole: no writer rewrites
 * them before first has moved past them.)
 */
static void
tear_append(struct fuzz_in *in, struct window *w)
{
	struct window_hdr	*h = w->hdr;
	uint64_t		 used = h->head - h->tail, room = h->size - used;
	size_t			 n = fuzz_u8(in) % 16;

	if (h->last >= h->first && (fuzz_u8(in) & 1)) {
		uint64_t drop = fuzz_u8(in) % (h->last - h->first + 2);
		h->first += drop;
		if (h->first <= h->last)
			h->tail = w->idx[h->first % h->cap].pos;
		else
			h->tail = h->head;
		room = h->size - (h->head - h->tail);
	}
	while (n-- > 0 && room > 0) {
		uint64_t at = h->head + fuzz_u8(in) % room;
		w->ring[at % h->size] = (char)fuzz_u8(in);
	}
	if (h->last + 1 - h->first < h->cap)	/* not the slot of first */
		tear(in, &w->idx[(h->last + 1) % h->cap], sizeof *w->idx);
	if (fuzz_u8(in) & 1)
		h->head += fuzz_u8(in) % (room + 1);
}

/* A writer died holding the lock while writing room ri (-1: none). */
static void
crash(struct segment *sg, struct model *ms, struct fuzz_in *in,
    struct window_out *o)
{
	struct segment_hdr	*h = sg->hdr;
	static struct snap	 before[KEPT];
	int			 ri = (int)(fuzz_u8(in) % (h->nrooms + 1)) - 1;
	uint8_t			 what = fuzz_u8(in);
	struct window		 w;

	for (int k = 0; k < KEPT; k++)
		check_kept(sg, &ms[k], o, &before[k]);
	if (what & 1)
		tear(in, sg->index, (size_t)h->index_size * sizeof *sg->index);
	if (what & 2)
		tear(in, sg->free_rooms, h->nrooms * sizeof *sg->free_rooms);
	for (uint32_t k = 1; (what & 4) && k < h->nclasses; k++) {
		tear(in, (char *)h + h->cls[k].owners_off,
		    h->cls[k].count * sizeof(uint32_t));
		tear(in, (char *)h + h->cls[k].free_off,
		    h->cls[k].count * sizeof(uint32_t));
		h->cls[k].nfree = fuzz_u8(in) % (h->cls[k].count + 1);
	}
	if (what & 8) {
		h->rooms_used = fuzz_u8(in);
		h->nfree_rooms = fuzz_u8(in) % (h->nrooms + 1);
	}
	if (ri >= 0) {
		segment_window(sg, ri, &w);
		if (what & 16)
			tear_append(in, &w);
		if ((what & 32) && sg->rooms[ri].region >> 28 != 0) {
			/* a steal copied the window back to its class-0
			 * region and stored the word, and died before it
			 * freed the region it left */
			struct window c0;
			sg->rooms[ri].region = (uint32_t)ri;
			segment_window(sg, ri, &c0);
			window_purge(&c0);
			window_copy(&c0, &w);
		}
	}
	if ((what & 64) && ri >= 0 && sg->rooms[ri].rid != 0) {
		/* room_free died after it let go of the record */
		for (int k = 0; k < NAMES; k++)
			if (ms[k].ri == ri && k >= KEPT)
				ms[k].ri = -1, ms[k].known = true;
		if (ri != ms[0].ri && ri != ms[1].ri)
			sg->rooms[ri].rid = 0;
	}
	/* What segment_lock runs when it takes the lock of a dead owner. */
	h->owner_room = ri;
	if (ri >= 0) {
		segment_window(sg, ri, &w);
		window_repair(&w);
	}
	rooms_rebuild(sg);
	h->owner_room = -1;
	consistent(sg);
	for (int k = KEPT; k < NAMES; k++)
		if (ms[k].ri == ri && ri >= 0)	/* being written: may lose */
			ms[k].known = false;
	for (int k = 0; k < KEPT; k++) {
		struct snap *b = &before[k];
		if (ms[k].ri == ri) {	/* the room being written: may lose */
			ms[k].torn = true;
			for (int t = 0; t < 16; t++)
				ms[k].text[t][0] = '\0';
			FUZZ_CHECK(segment_read(sg, ri, 0, o) == 0, "read the "
			    "repaired room: %s", strerror(errno));
			ms[k].last = o->last;
			ms[k].rid = segment_room_rid(sg, ri);
			for (size_t j = 1; j < o->n; j++)
				FUZZ_CHECK(o->ev[j].id == o->ev[j - 1].id + 1,
				    "repaired room: ids not contiguous");
			continue;
		}
		FUZZ_CHECK(segment_read(sg, ms[k].ri, 0, o) == 0, "read %s",
		    ms[k].room);
		FUZZ_CHECK(o->n == b->n && o->last == b->last &&
		    (o->n == 0 || o->ev[0].id == b->first) &&
		    memcmp(o->buf, b->buf, b->bytes) == 0, "%s: a crash in "
		    "room %d changed it: %zu events to %llu, was %zu to %llu",
		    ms[k].room, ri, o->n, (unsigned long long)o->last, b->n,
		    (unsigned long long)b->last);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		in = { data, size };
	struct segment_opts	o = { 0 };
	struct segment		sg;
	struct window_out	out;
	struct model		ms[NAMES];
	char			err[256];
	unsigned		seed;
	int64_t			now = 0;

	if (name[0] == '\0') {
		snprintf(name, sizeof name, "fuzz-%d", (int)getpid());
		atexit(cleanup);
	}
	cleanup();
	o.name = name;
	o.create = true;
	o.rooms = 2 + fuzz_u8(&in) % 8;
	o.window = 4 + fuzz_u8(&in) % 64;
	o.max_text = 64;
	seed = fuzz_u8(&in);
	FUZZ_CHECK(segment_open(&sg, &o, err, sizeof err) == 0, "create: %s",
	    err);
	FUZZ_CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0,
	    "out alloc");
	memset(ms, 0, sizeof ms);
	for (int k = 0; k < NAMES; k++) {
		snprintf(ms[k].room, sizeof ms[k].room, "r%d", k);
		ms[k].ri = -1;
		ms[k].known = true;
	}
	for (int k = 0; k < KEPT; k++) {
		ms[k].ri = segment_room_get(&sg, ms[k].room);
		FUZZ_CHECK(ms[k].ri >= 0, "open %s", ms[k].room);
		ms[k].rid = segment_room_rid(&sg, ms[k].ri);
		ms[k].known = true;
		segment_listeners_add(&sg, k, ms[k].ri, 1);
	}
	while (in.left > 0) {
		uint8_t	op = fuzz_u8(&in);
		struct model *m = &ms[(op >> 3) % NAMES];

		switch (op & 7) {
		case 0: case 1: case 2:
			publish(&sg, m, &in, seed++);
			break;
		case 3:		/* a GET of a room: a soft room, or ENOSPC */
			FUZZ_CHECK(segment_room_get(&sg, m->room) >= 0 ||
			    errno == ENOSPC, "open %s: %s", m->room,
			    strerror(errno));
			break;
		case 4:
			if (m - ms >= KEPT)
				segment_room_remove(&sg, m->room);
			break;
		case 5:
			now += (int64_t)fuzz_u8(&in) * 1000;
			segment_sweep(&sg, event_now_ms() + now, 30000,
			    1 + fuzz_u8(&in) % 16);
			break;
		default:
			crash(&sg, ms, &in, &out);
			break;
		}
		consistent(&sg);
		for (int k = 0; k < KEPT; k++)
			check_kept(&sg, &ms[k], &out, NULL);
	}
	window_out_free(&out);
	segment_close(&sg);
	cleanup();
	return 0;
}
