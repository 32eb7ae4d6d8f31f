/*
 * test_window.c: the window of one room on a plain malloc'ed buffer:
 * append and read, wrap-around of the byte ring, gap, reset, the biggest
 * event, an empty room, purge and the cap limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "event.h"
#include "window.h"

struct tw {			/* a window over malloc'ed memory */
	void			*region;
	struct window		 w;
	struct window_out	 out;
	uint32_t		 cap;
	uint64_t		 size;
};

static int	tw_open(struct tw *, uint32_t, uint64_t);
static void	tw_close(struct tw *);
static size_t	body_for(uint64_t, char *, size_t);
static size_t	record_for(uint64_t, char *, size_t);
static int64_t	append_id(struct tw *, uint64_t);
static int	out_is(const struct window_out *, uint64_t, uint64_t);

/* A window of cap events over size ring bytes, plus a read buffer. */
static int
tw_open(struct tw *t, uint32_t cap, uint64_t size)
{
	size_t	rsize = window_region_size(cap, size);

	memset(t, 0, sizeof(*t));
	if (rsize < size || (t->region = malloc(rsize)) == NULL)
		return -1;
	memset(t->region, 0xa5, rsize);	/* no help from zeroed memory */
	window_init(&t->w, t->region, cap, size);
	if (window_out_alloc(&t->out, cap, size) == -1) {
		free(t->region);
		return -1;
	}
	t->cap = cap;
	t->size = size;
	return 0;
}

static void
tw_close(struct tw *t)
{
	window_out_free(&t->out);
	free(t->region);
}

/* The body appended as event `id`: its length varies with the id. */
static size_t
body_for(uint64_t id, char *buf, size_t len)
{
	char	fill[256];
	size_t	n = (id * 37) % 200;

	memset(fill, 'a' + id % 26, n);
	fill[n] = '\0';
	return (size_t)snprintf(buf, len,
	    "{\"ts\":%llu,\"room\":\"r\",\"type\":\"message\",\"nick\":\"n\","
	    "\"text\":\"%llu %s\"}", (unsigned long long)id,
	    (unsigned long long)id, fill);
}

/* What the window must hand back for event `id`. */
static size_t
record_for(uint64_t id, char *buf, size_t len)
{
	char	body[512];
	int	n;

	body_for(id, body, sizeof(body));
	n = snprintf(buf, len, "{\"id\":%llu,%s", (unsigned long long)id,
	    body + 1);
	return (size_t)n;
}

static int64_t
append_id(struct tw *t, uint64_t id)
{
	char	body[512];
	size_t	n = body_for(id, body, sizeof(body));

	return window_append(&t->w, EVENT_MESSAGE, body, n);
}

/*
 * The read returned exactly the events from..to, oldest first, each
 * byte-identical to record_for(id), in bounds of the buffer.
 */
static int
out_is(const struct window_out *o, uint64_t from, uint64_t to)
{
	char		want[512];
	size_t		i, n;

	if (to < from)
		return o->n == 0 ? 0 : -1;
	if (o->n != to - from + 1)
		return -1;
	for (i = 0; i < o->n; i++) {
		const struct window_ev *ev = &o->ev[i];

		if (ev->id != from + i || ev->type != EVENT_MESSAGE)
			return -1;
		if ((size_t)ev->off + ev->len > o->bytes)
			return -1;
		n = record_for(ev->id, want, sizeof(want));
		if (ev->len != n || memcmp(o->buf + ev->off, want, n) != 0)
			return -1;
	}
	return 0;
}

static int
window_appends_and_reads_in_order(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 16, 65536) == 0);
	for (id = 1; id <= 3; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_first(&t.w) == 1);
	CHECK(window_last(&t.w) == 3);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(out_is(&t.out, 1, 3) == 0);
	CHECK(t.out.last == 3);
	CHECK(t.out.cursor == 0);
	CHECK(!t.out.gap && !t.out.reset);
	tw_close(&t);
	return 0;
}

static int
window_read_since_returns_only_newer(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 16, 65536) == 0);
	for (id = 1; id <= 5; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_read(&t.w, 2, &t.out) == 0);
	CHECK(out_is(&t.out, 3, 5) == 0);
	CHECK(t.out.last == 5 && t.out.cursor == 2);
	CHECK(!t.out.gap && !t.out.reset);
	CHECK(window_read(&t.w, 4, &t.out) == 0);
	CHECK(out_is(&t.out, 5, 5) == 0);
	CHECK(!t.out.gap && !t.out.reset);
	tw_close(&t);
	return 0;
}

static int
window_read_at_last_returns_nothing(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 16, 65536) == 0);
	for (id = 1; id <= 3; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_read(&t.w, 3, &t.out) == 0);
	CHECK(t.out.n == 0);
	CHECK(t.out.last == 3);
	CHECK(!t.out.gap && !t.out.reset);
	tw_close(&t);
	return 0;
}

static int
window_empty_room_reads_nothing(void)
{
	struct tw	t;

	CHECK(tw_open(&t, 16, 65536) == 0);
	CHECK(window_last(&t.w) == 0);
	CHECK(window_first(&t.w) == 1);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(t.out.n == 0);
	CHECK(t.out.last == 0);
	CHECK(!t.out.gap && !t.out.reset);
	tw_close(&t);
	return 0;
}

static int
window_empty_room_resets_cursor_beyond_zero(void)
{
	struct tw	t;

	CHECK(tw_open(&t, 16, 65536) == 0);
	CHECK(window_read(&t.w, 5, &t.out) == 0);
	CHECK(t.out.reset);
	CHECK(!t.out.gap);
	CHECK(t.out.n == 0);
	CHECK(t.out.last == 0);
	tw_close(&t);
	return 0;
}

static int
window_resets_cursor_beyond_last(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 16, 65536) == 0);
	for (id = 1; id <= 5; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_read(&t.w, 9, &t.out) == 0);
	CHECK(t.out.reset);
	CHECK(!t.out.gap);
	CHECK(out_is(&t.out, 1, 5) == 0);	/* the whole window */
	CHECK(t.out.last == 5);
	CHECK(window_read(&t.w, EVENT_ID_MAX, &t.out) == 0);
	CHECK(t.out.reset && out_is(&t.out, 1, 5) == 0);
	tw_close(&t);
	return 0;
}

static int
window_keeps_newest_cap_events(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 8, 1 << 20) == 0);
	for (id = 1; id <= 100; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_first(&t.w) == 93);
	CHECK(window_last(&t.w) == 100);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(out_is(&t.out, 93, 100) == 0);
	CHECK(t.out.gap && !t.out.reset);
	CHECK(t.out.last == 100);
	tw_close(&t);
	return 0;
}

static int
window_reports_gap_for_lost_cursor(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 8, 1 << 20) == 0);
	for (id = 1; id <= 20; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	/* held: 13..20 */
	CHECK(window_read(&t.w, 11, &t.out) == 0);
	CHECK(t.out.gap && !t.out.reset);
	CHECK(out_is(&t.out, 13, 20) == 0);
	CHECK(t.out.cursor == 11 && t.out.last == 20);
	/* 13 is the oldest held: nothing lost after cursor 12 */
	CHECK(window_read(&t.w, 12, &t.out) == 0);
	CHECK(!t.out.gap && !t.out.reset);
	CHECK(out_is(&t.out, 13, 20) == 0);
	CHECK(window_read(&t.w, 17, &t.out) == 0);
	CHECK(!t.out.gap && out_is(&t.out, 18, 20) == 0);
	/* a caught-up cursor has lost nothing, however old the window */
	CHECK(window_read(&t.w, 20, &t.out) == 0);
	CHECK(!t.out.gap && !t.out.reset && t.out.n == 0);
	tw_close(&t);
	return 0;
}

/*
 * Many appends of records of varying length through a small ring: the
 * bytes wrap around the end many times, ids stay contiguous, every event
 * held reads back byte-identical, the ring keeps the newest that fit.
 */
static int
window_wraps_and_keeps_ids(void)
{
	struct tw	t;
	uint64_t	id, maxrec = 0;
	char		rec[512];

	CHECK(tw_open(&t, 64, 4096) == 0);
	for (id = 1; id <= 10000; id++) {
		size_t		i, held = 0, more;

		CHECK(append_id(&t, id) == (int64_t)id);
		if (record_for(id, rec, sizeof(rec)) > maxrec)
			maxrec = record_for(id, rec, sizeof(rec));
		CHECK(window_last(&t.w) == id);
		CHECK(window_read(&t.w, 0, &t.out) == 0);
		CHECK(t.out.n >= 1 && t.out.n <= t.cap);
		CHECK(window_first(&t.w) == id - t.out.n + 1);
		CHECK(out_is(&t.out, id - t.out.n + 1, id) == 0);
		CHECK(t.out.last == id);
		CHECK(t.out.gap == (t.out.n < id));
		for (i = 0; i < t.out.n; i++)
			held += t.out.ev[i].len;
		CHECK(held <= t.size);
		/*
		 * The newest that fit are kept: one more record would not
		 * have fit (allowing 16 bytes per record and one record of
		 * slack for the ring's own bookkeeping).
		 */
		if (t.out.n < t.cap && t.out.n < id) {
			more = record_for(id - t.out.n, rec, sizeof(rec));
			CHECK(held + more + 16 * (t.out.n + 1) + maxrec >
			    t.size);
		}
		/* and an incremental reader one behind sees just the new */
		CHECK(window_read(&t.w, id - 1, &t.out) == 0);
		CHECK(!t.out.gap && out_is(&t.out, id, id) == 0);
	}
	/* the free-running offsets went round the ring many times */
	CHECK(t.w.hdr->head > 100 * t.size);
	CHECK(t.w.hdr->head - t.w.hdr->tail <= t.size);
	tw_close(&t);
	return 0;
}

/* The largest event of max_text 2000 (everything escaped) fits. */
static int
window_holds_biggest_event(void)
{
	struct tw		 t;
	struct event		 ev;
	struct json_object	*o, *v;
	char			*text, *body;
	const size_t		 max = EVENT_JSON_MAX(EVENT_TEXT_DEFAULT);
	char			 room[EVENT_ROOM_MAX + 1];
	char			 nick[EVENT_NICK_MAX * 2 + 1];
	const char		*fills = "\"\n\\";
	ssize_t			 n;
	int64_t			 id;
	int			 k;

	CHECK((text = malloc(EVENT_TEXT_DEFAULT + 1)) != NULL);
	CHECK((body = malloc(max)) != NULL);
	memset(room, 'r', EVENT_ROOM_MAX);
	room[EVENT_ROOM_MAX] = '\0';
	memset(nick, '"', EVENT_NICK_MAX);	/* 32 code points, escaped */
	nick[EVENT_NICK_MAX] = '\0';
	CHECK(tw_open(&t, 4, max) == 0);	/* one biggest event's worth */
	for (k = 0; fills[k] != '\0'; k++) {
		memset(text, fills[k], EVENT_TEXT_DEFAULT);
		text[EVENT_TEXT_DEFAULT] = '\0';
		memset(&ev, 0, sizeof(ev));
		ev.type = EVENT_MESSAGE;
		ev.ts = 9007199254740991LL;	/* the longest ts we print */
		ev.room = room;
		ev.nick = nick;
		ev.text = text;
		ev.textlen = EVENT_TEXT_DEFAULT;
		n = event_encode(&ev, body, max);
		CHECK(n > 2 * EVENT_TEXT_DEFAULT && (size_t)n < max);
		id = window_append(&t.w, EVENT_MESSAGE, body, (size_t)n);
		CHECK(id == k + 1);
		CHECK(window_read(&t.w, (uint64_t)id - 1, &t.out) == 0);
		CHECK(t.out.n == 1 && t.out.ev[0].id == (uint64_t)id);
		o = parse_len(t.out.buf + t.out.ev[0].off, t.out.ev[0].len);
		CHECK(o != NULL);
		CHECK(json_object_object_get_ex(o, "id", &v));
		CHECK(json_object_get_int64(v) == id);
		CHECK(json_object_object_get_ex(o, "text", &v));
		CHECK(json_object_get_string_len(v) == EVENT_TEXT_DEFAULT);
		CHECK(memcmp(json_object_get_string(v), text,
		    EVENT_TEXT_DEFAULT) == 0);
		CHECK(json_object_object_get_ex(o, "nick", &v));
		CHECK(strcmp(json_object_get_string(v), nick) == 0);
		json_object_put(o);
	}
	tw_close(&t);
	free(body);
	free(text);
	return 0;
}

/* An event bigger than the whole ring is refused and changes nothing. */
static int
window_refuses_event_bigger_than_ring(void)
{
	struct tw	t;
	char		*big;
	size_t		 n = 8192;

	CHECK(tw_open(&t, 8, 4096) == 0);
	CHECK(append_id(&t, 1) == 1);
	CHECK((big = malloc(n)) != NULL);
	memset(big, 'x', n);
	memcpy(big, "{\"text\":\"", 9);
	memcpy(big + n - 2, "\"}", 2);
	errno = 0;
	CHECK(window_append(&t.w, EVENT_MESSAGE, big, n) == -1);
	CHECK(errno == EMSGSIZE);
	free(big);
	CHECK(window_last(&t.w) == 1);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(out_is(&t.out, 1, 1) == 0 && !t.out.gap);
	CHECK(append_id(&t, 2) == 2);
	tw_close(&t);
	return 0;
}

static int
window_purge_resets_old_cursors_and_restarts_ids(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 8, 65536) == 0);
	for (id = 1; id <= 5; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	window_purge(&t.w);
	CHECK(window_last(&t.w) == 0);
	CHECK(t.w.hdr->gen % 2 == 0);
	CHECK(t.w.hdr->purged == 1);
	/* an empty room: a caught-up old cursor is now beyond last */
	CHECK(window_read(&t.w, 5, &t.out) == 0);
	CHECK(t.out.reset && !t.out.gap);
	CHECK(t.out.n == 0 && t.out.last == 0);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(!t.out.reset && t.out.n == 0);
	/* ids start again at 1, and old cursors still get reset */
	CHECK(append_id(&t, 1) == 1);
	CHECK(append_id(&t, 2) == 2);
	CHECK(window_first(&t.w) == 1 && window_last(&t.w) == 2);
	CHECK(window_read(&t.w, 5, &t.out) == 0);
	CHECK(t.out.reset && out_is(&t.out, 1, 2) == 0);
	CHECK(t.out.last == 2);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(!t.out.reset && !t.out.gap && out_is(&t.out, 1, 2) == 0);
	tw_close(&t);
	return 0;
}

/* A window attached again (another process's view) sees the same events. */
static int
window_attach_sees_existing_events(void)
{
	struct tw	t;
	struct window	w2;
	uint64_t	id;

	CHECK(tw_open(&t, 8, 65536) == 0);
	for (id = 1; id <= 3; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_attach(&w2, t.region, 8, 65536) == 0);
	CHECK(window_last(&w2) == 3);
	CHECK(window_read(&w2, 0, &t.out) == 0);
	CHECK(out_is(&t.out, 1, 3) == 0);
	CHECK(window_append(&w2, EVENT_MESSAGE, "{\"a\":1}", 7) == 4);
	CHECK(window_last(&t.w) == 4);
	tw_close(&t);
	return 0;
}

/* A repair on a sound window changes nothing and appends carry on. */
static int
window_repair_keeps_a_sound_window(void)
{
	struct tw	t;
	uint64_t	id;

	CHECK(tw_open(&t, 8, 4096) == 0);
	for (id = 1; id <= 50; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	id = t.out.ev[0].id;
	CHECK(window_repair(&t.w) == 0);
	CHECK(t.w.hdr->gen % 2 == 0);
	CHECK(window_last(&t.w) == 50);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(out_is(&t.out, id, 50) == 0);
	CHECK(append_id(&t, 51) == 51);
	CHECK(window_read(&t.w, 50, &t.out) == 0);
	CHECK(out_is(&t.out, 51, 51) == 0);
	tw_close(&t);
	return 0;
}

/*
 * A writer that died in the middle of an append, as window.h orders it:
 * it published the new first (evicting the oldest), scribbled part of
 * its record over the ring at head and half-filled its index entry, but
 * never published last. Repair keeps every whole event byte-identical
 * and the next append takes the id that died.
 */
static int
window_repair_drops_half_written_event(void)
{
	struct tw		 t;
	struct window_hdr	*h;
	struct window_idx	*e;
	uint64_t		 id, first, k;

	CHECK(tw_open(&t, 8, 4096) == 0);
	h = t.w.hdr;
	for (id = 1; id <= 30; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	first = window_first(&t.w);
	CHECK(first == 23);
	/* the dying append of 31 */
	h->first = first + 1;
	h->tail = t.w.idx[(first + 1) % t.cap].pos;
	for (k = 0; k < 300; k++)
		t.w.ring[(h->head + k) % t.size] = '#';
	e = &t.w.idx[31 % t.cap];
	e->id = 31;
	e->pos = h->head;
	e->len = 100000;
	CHECK(window_repair(&t.w) >= 0);
	CHECK(h->gen % 2 == 0);
	CHECK(window_last(&t.w) == 30);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(t.out.gap && !t.out.reset);
	CHECK(out_is(&t.out, first + 1, 30) == 0);
	CHECK(append_id(&t, 31) == 31);
	CHECK(append_id(&t, 32) == 32);
	CHECK(window_read(&t.w, 29, &t.out) == 0);
	CHECK(!t.out.gap && out_is(&t.out, 30, 32) == 0);
	tw_close(&t);
	return 0;
}

/* A purge that died half-way (gen left odd): readers back off, repair
 * finishes it. */
static int
window_repair_finishes_interrupted_purge(void)
{
	struct tw	t;
	uint64_t	id;
	int		rc;

	CHECK(tw_open(&t, 8, 4096) == 0);
	for (id = 1; id <= 5; id++)
		CHECK(append_id(&t, id) == (int64_t)id);
	window_purge(&t.w);
	t.w.hdr->gen++;			/* as if it died before the end */
	errno = 0;
	rc = window_read(&t.w, 0, &t.out);
	CHECK(rc == -1 && errno == EAGAIN);
	CHECK(window_repair(&t.w) >= 0);
	CHECK(t.w.hdr->gen % 2 == 0);
	CHECK(window_read(&t.w, 5, &t.out) == 0);
	CHECK(t.out.reset && t.out.n == 0 && t.out.last == 0);
	CHECK(append_id(&t, 1) == 1);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(out_is(&t.out, 1, 1) == 0);
	tw_close(&t);
	return 0;
}

/* An event numbered elsewhere (memcached relay) at a given id. */
static int64_t
append_at_id(struct tw *t, uint64_t id)
{
	char	body[512];
	size_t	n = body_for(id, body, sizeof(body));

	return window_append_at(&t->w, id, EVENT_MESSAGE, body, n);
}

/*
 * Ids that never came are skipped by readers: a gap when the first one
 * returned is not the next after the cursor; an id already held is
 * ignored; local appends carry on after the highest id.
 */
static int
window_append_at_skips_ids_that_never_came(void)
{
	struct tw	t;

	CHECK(tw_open(&t, 8, 65536) == 0);
	CHECK(append_id(&t, 1) == 1);
	CHECK(append_id(&t, 2) == 2);
	CHECK(append_at_id(&t, 5) == 5);	/* 3 and 4 never came */
	CHECK(window_last(&t.w) == 5);
	CHECK(window_read(&t.w, 2, &t.out) == 0);
	CHECK(t.out.gap && !t.out.reset);
	CHECK(out_is(&t.out, 5, 5) == 0);
	CHECK(t.out.last == 5);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(!t.out.gap && t.out.n == 3);
	CHECK(t.out.ev[0].id == 1 && t.out.ev[1].id == 2 &&
	    t.out.ev[2].id == 5);
	CHECK(window_read(&t.w, 3, &t.out) == 0);
	CHECK(t.out.gap && out_is(&t.out, 5, 5) == 0);
	CHECK(window_read(&t.w, 4, &t.out) == 0);
	CHECK(!t.out.gap && out_is(&t.out, 5, 5) == 0);
	/* an id already held, or older than last: ignored */
	CHECK(append_at_id(&t, 5) == 0);
	CHECK(append_at_id(&t, 3) == 0);
	CHECK(window_last(&t.w) == 5);
	CHECK(append_id(&t, 6) == 6);
	CHECK(window_read(&t.w, 5, &t.out) == 0);
	CHECK(!t.out.gap && out_is(&t.out, 6, 6) == 0);
	/* 0 and ids past 2^53 - 1 are not ids */
	CHECK(append_at_id(&t, 0) == -1);
	CHECK(append_at_id(&t, EVENT_ID_MAX + 1) == -1);
	tw_close(&t);
	return 0;
}

/*
 * A hole wider than the window (a host that joins a room at id 10^8)
 * costs no more than the window: it must not walk every missing id
 * under the lock. The window then holds the new event alone.
 */
static int
window_append_at_skips_hole_wider_than_window(void)
{
	struct tw	t;
	struct timespec	a, b;
	uint64_t	far = 200000000;
	double		took;

	CHECK(tw_open(&t, 8, 65536) == 0);
	CHECK(append_id(&t, 1) == 1);
	CHECK(append_id(&t, 2) == 2);
	CHECK(append_at_id(&t, 11) == 11);	/* hole of 8 = cap */
	CHECK(window_first(&t.w) == 11);
	CHECK(window_read(&t.w, 2, &t.out) == 0);
	CHECK(t.out.gap && out_is(&t.out, 11, 11) == 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(append_at_id(&t, far) == (int64_t)far);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (took >= 0.1)
		fprintf(stderr, "a hole of %llu ids took %.3f s\n",
		    (unsigned long long)far, took);
	CHECK(took < 0.1);
	CHECK(window_first(&t.w) == far && window_last(&t.w) == far);
	CHECK(window_read(&t.w, 11, &t.out) == 0);
	CHECK(t.out.gap && out_is(&t.out, far, far) == 0);
	CHECK(append_at_id(&t, EVENT_ID_MAX) == (int64_t)EVENT_ID_MAX);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(t.out.gap && out_is(&t.out, EVENT_ID_MAX, EVENT_ID_MAX) == 0);
	CHECK(append_id(&t, EVENT_ID_MAX + 1) == -1);	/* ids end there */
	tw_close(&t);
	return 0;
}

/* Ids skipped for good read as a gap, and appends carry on after them;
 * a skip far ahead costs no more than the window. */
static int
window_skip_turns_missing_ids_into_a_gap(void)
{
	struct tw	t;
	struct timespec	a, b;
	double		took;

	CHECK(tw_open(&t, 8, 65536) == 0);
	CHECK(append_id(&t, 1) == 1);
	CHECK(append_id(&t, 2) == 2);
	window_skip(&t.w, 4);
	CHECK(window_last(&t.w) == 4);
	CHECK(window_read(&t.w, 2, &t.out) == 0);
	CHECK(t.out.gap && !t.out.reset && t.out.n == 0 && t.out.last == 4);
	CHECK(window_read(&t.w, 4, &t.out) == 0);
	CHECK(!t.out.gap && !t.out.reset && t.out.n == 0);
	CHECK(append_id(&t, 5) == 5);
	CHECK(window_read(&t.w, 2, &t.out) == 0);
	CHECK(t.out.gap && out_is(&t.out, 5, 5) == 0);
	CHECK(window_read(&t.w, 0, &t.out) == 0);
	CHECK(t.out.n == 3 && t.out.ev[2].id == 5);
	clock_gettime(CLOCK_MONOTONIC, &a);
	window_skip(&t.w, 200000000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK(took < 0.1);
	CHECK(window_last(&t.w) == 200000000);
	CHECK(append_id(&t, 200000001) == 200000001);
	CHECK(window_read(&t.w, 5, &t.out) == 0);
	CHECK(t.out.gap && out_is(&t.out, 200000001, 200000001) == 0);
	tw_close(&t);
	return 0;
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "window_appends_and_reads_in_order",
		    window_appends_and_reads_in_order },
		{ "window_read_since_returns_only_newer",
		    window_read_since_returns_only_newer },
		{ "window_read_at_last_returns_nothing",
		    window_read_at_last_returns_nothing },
		{ "window_empty_room_reads_nothing",
		    window_empty_room_reads_nothing },
		{ "window_empty_room_resets_cursor_beyond_zero",
		    window_empty_room_resets_cursor_beyond_zero },
		{ "window_resets_cursor_beyond_last",
		    window_resets_cursor_beyond_last },
		{ "window_keeps_newest_cap_events",
		    window_keeps_newest_cap_events },
		{ "window_reports_gap_for_lost_cursor",
		    window_reports_gap_for_lost_cursor },
		{ "window_wraps_and_keeps_ids", window_wraps_and_keeps_ids },
		{ "window_holds_biggest_event", window_holds_biggest_event },
		{ "window_refuses_event_bigger_than_ring",
		    window_refuses_event_bigger_than_ring },
		{ "window_purge_resets_old_cursors_and_restarts_ids",
		    window_purge_resets_old_cursors_and_restarts_ids },
		{ "window_attach_sees_existing_events",
		    window_attach_sees_existing_events },
		{ "window_repair_keeps_a_sound_window",
		    window_repair_keeps_a_sound_window },
		{ "window_repair_drops_half_written_event",
		    window_repair_drops_half_written_event },
		{ "window_repair_finishes_interrupted_purge",
		    window_repair_finishes_interrupted_purge },
		{ "window_append_at_skips_ids_that_never_came",
		    window_append_at_skips_ids_that_never_came },
		{ "window_append_at_skips_hole_wider_than_window",
		    window_append_at_skips_hole_wider_than_window },
		{ "window_skip_turns_missing_ids_into_a_gap",
		    window_skip_turns_missing_ids_into_a_gap },
		{ NULL, NULL }
	};

	alarm(300);	/* a hang is a failure, not a stuck make check */
	return check_run(cases);
}
