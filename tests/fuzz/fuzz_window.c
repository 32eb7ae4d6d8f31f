/*
 * fuzz_window.c: the ring of shared/window.c, two ways, picked by the top
 * bit of the first byte.
 *
 * Ops (bit clear): a small window (1 to 8 events, 32 to 528 bytes) takes
 * a random sequence of append, append_at, skip, read and purge, checked
 * against a model of what was stored: a read returns ascending ids above
 * the cursor (whole window on reset), every event still held and nothing
 * else, each one's bytes exactly {"id":N,...} as stored and JSON that
 * json-c reads back with that id; an event lost after the cursor is a gap.
 *
 * Random region (bit set): the rest of the input is the region of a room
 * (header, index, ring) as a crashed writer or a stray write may leave it.
 * window_attach with the sizes it claims, window_read, window_repair,
 * window_read again and an append must not crash nor hang, and after the
 * repair the window must be consistent and usable again.
 */
#include <errno.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "event.h"
#include "window.h"

#define MODEL		64	/* ids remembered, more than any cap here */
#define BODY_MAX	640

struct rec {
	uint64_t	id;
	bool		real;	/* false: a placeholder (never came) */
	uint32_t	type;
	size_t		len;
	char		body[BODY_MAX];
};

struct model {
	uint64_t	last;
	struct rec	r[MODEL];
};

static struct model	m;

/* Is id a real event we stored? Ids not remembered are placeholders;
 * -1 if id is too old to know. */
static int
model_real(uint64_t id)
{
	const struct rec	*r = &m.r[id % MODEL];

	if (id == 0 || id > m.last)
		return 0;
	if (r->id == id)
		return r->real;
	return m.last - id < MODEL ? 0 : -1;
}

static void
model_put(uint64_t id, bool real, uint32_t type, const char *body,
    size_t len)
{
	struct rec	*r = &m.r[id % MODEL];

	r->id = id;
	r->real = real;
	r->type = type;
	r->len = len;
	if (real)
		memcpy(r->body, body, len);
	m.last = id;
}

/* The bytes the window holds for the stored record r. */
static size_t
expected_bytes(const struct rec *r, char *out)
{
	int	n = sprintf(out, "{\"id\":%llu%s", (unsigned long long)r->id,
	    r->body[1] == '}' ? "" : ",");

	memcpy(out + n, r->body + 1, r->len - 1);
	out[(size_t)n + r->len - 1] = '\0';
	return (size_t)n + r->len - 1;
}

static size_t
make_body(struct fuzz_in *in, char *body)
{
	uint8_t	b = fuzz_u8(in);
	size_t	k, n;

	if (b == 0)
		return memcpy(body, "{}", 2), 2;
	k = b < 240 ? b % 48 : (size_t)(b - 240) * 40;	/* some too big */
	n = (size_t)sprintf(body, "{\"x\":\"");
	for (size_t i = 0; i < k; i++)
		body[n++] = (char)('a' + (i + b) % 26);
	body[n++] = '"';
	body[n++] = '}';
	return n;
}

static void
check_header(const struct window *w)
{
	const struct window_hdr	*h = w->hdr;

	FUZZ_CHECK((h->gen & 1) == 0, "gen %u odd at rest", h->gen);
	FUZZ_CHECK(h->first <= h->last + 1, "first %llu, last %llu",
	    (unsigned long long)h->first, (unsigned long long)h->last);
	FUZZ_CHECK(h->first > h->last || h->last - h->first < h->cap,
	    "holds %llu ids, cap %u",
	    (unsigned long long)(h->last - h->first + 1), h->cap);
	FUZZ_CHECK(h->head - h->tail <= h->size, "head-tail %llu > size %llu",
	    (unsigned long long)(h->head - h->tail),
	    (unsigned long long)h->size);
}

/* Generic checks of a read result, for any window. */
static void
check_out_shape(const struct window *w, const struct window_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		FUZZ_CHECK(i == 0 || o->ev[i].id > o->ev[i - 1].id,
		    "ids not ascending at %zu", i);
		FUZZ_CHECK((uint64_t)o->ev[i].off + o->ev[i].len <= o->bytes,
		    "event %zu outside the bytes", i);
		FUZZ_CHECK(o->ev[i].len > 0, "empty event returned");
	}
	FUZZ_CHECK(o->n <= w->hdr->cap, "%zu events, cap %u", o->n,
	    w->hdr->cap);
	FUZZ_CHECK(o->bytes <= w->hdr->size, "%zu bytes, ring %llu", o->bytes,
	    (unsigned long long)w->hdr->size);
}

static void
check_read(const struct window *w, struct window_out *o, uint64_t cursor,
    bool json)
{
	uint64_t	first, lo, from;
	char		want[BODY_MAX + 64];
	size_t		i, k;

	FUZZ_CHECK(window_read(w, cursor, o) == 0, "read failed: %s",
	    strerror(errno));
	first = window_first(w);
	check_out_shape(w, o);
	FUZZ_CHECK(o->last == m.last, "last %llu, model %llu",
	    (unsigned long long)o->last, (unsigned long long)m.last);
	FUZZ_CHECK(o->reset == (cursor > m.last), "reset %d, cursor %llu",
	    o->reset, (unsigned long long)cursor);
	lo = o->reset ? 1 : cursor + 1;
	from = lo > first ? lo : first;
	for (i = 0, k = 0; i < o->n; i++) {
		const struct window_ev	*ev = &o->ev[i];
		const struct rec	*r = &m.r[ev->id % MODEL];
		struct json_object	*j, *id;

		FUZZ_CHECK(ev->id >= from && ev->id <= m.last,
		    "id %llu outside [%llu, %llu]", (unsigned long long)ev->id,
		    (unsigned long long)from, (unsigned long long)m.last);
		FUZZ_CHECK(model_real(ev->id) == 1, "id %llu never stored",
		    (unsigned long long)ev->id);
		for (; from < ev->id; from++)	/* nothing held skipped */
			FUZZ_CHECK(model_real(from) != 1, "held id %llu missing "
			    "from the read", (unsigned long long)from);
		from = ev->id + 1;
		k = expected_bytes(r, want);
		FUZZ_CHECK(ev->len == k && memcmp(o->buf + ev->off, want, k) == 0,
		    "id %llu bytes %.*s", (unsigned long long)ev->id,
		    (int)ev->len, o->buf + ev->off);
		FUZZ_CHECK(ev->type == r->type, "type differs");
		if (!json)
			continue;
		j = json_tokener_parse(want);
		FUZZ_CHECK(j != NULL && json_object_object_get_ex(j, "id", &id) &&
		    (uint64_t)json_object_get_int64(id) == ev->id,
		    "not JSON with its id: %s", want);
		json_object_put(j);
	}
	for (; from <= m.last && from != 0; from++)
		FUZZ_CHECK(model_real(from) != 1, "held id %llu missing from "
		    "the read", (unsigned long long)from);
	if (!o->reset && m.last > cursor) {
		for (uint64_t id = cursor + 1; id < first && id <= m.last &&
		    id - cursor <= MODEL; id++)
			FUZZ_CHECK(model_real(id) != 1 || o->gap,
			    "id %llu lost without a gap", (unsigned long long)id);
		FUZZ_CHECK(o->gap || (o->n > 0 && o->ev[0].id == cursor + 1),
		    "no gap, but the read does not resume at the cursor");
	}
	if (model_real(m.last) == 1)
		FUZZ_CHECK(first <= m.last, "the newest event is not held");
}

static int64_t
expect_append(uint64_t id, const char *body, size_t len, uint64_t size)
{
	char	prefix[40];
	int	plen = sprintf(prefix, "{\"id\":%llu%s",
	    (unsigned long long)id, body[1] == '}' ? "" : ",");

	if (id == 0 || id > EVENT_ID_MAX)
		return -EINVAL;
	if (id <= m.last)
		return 0;
	if ((size_t)plen + len - 1 > size)
		return -EMSGSIZE;
	return (int64_t)id;
}

static void
do_append(struct window *w, uint64_t id, bool at, uint32_t type,
    const char *body, size_t len)
{
	int64_t	want = expect_append(id, body, len, w->hdr->size), got;

	errno = 0;
	got = at ? window_append_at(w, id, type, body, len) :
	    window_append(w, type, body, len);
	FUZZ_CHECK(got == (want < 0 ? -1 : want) && (want >= 0 ||
	    errno == -want), "append id %llu: %lld errno %d, model %lld",
	    (unsigned long long)id, (long long)got, errno, (long long)want);
	if (want <= 0)
		return;
	for (uint64_t i = id - m.last > MODEL ? id - MODEL + 1 : m.last + 1;
	    i < id; i++)
		model_put(i, false, 0, NULL, 0);
	model_put(id, true, type, body, len);
}

static uint64_t
pick_cursor(struct fuzz_in *in, const struct window *w)
{
	uint8_t		b = fuzz_u8(in), k = fuzz_u8(in);
	uint64_t	first = window_first(w);

	switch (b % 6) {
	case 0:
		return 0;
	case 1:
		return m.last;
	case 2:
		return m.last > k % 16 ? m.last - k % 16 : 0;
	case 3:
		return m.last + 1 + k % 4;
	case 4:
		return first > 1u + k % 3 ? first - 1 - k % 3 : 0;
	default:
		return fuzz_u64(in) & EVENT_ID_MAX;
	}
}

static void
run_ops(struct fuzz_in *in)
{
	uint32_t		cap = 1 + fuzz_u8(in) % 8;
	uint64_t		size = 32 + (uint64_t)(fuzz_u8(in) % 32) * 16;
	void			*region = malloc(window_region_size(cap, size));
	struct window		w;
	struct window_out	o;
	char			body[BODY_MAX];
	size_t			len;
	uint64_t		id;
	uint8_t			b;

	memset(&m, 0, sizeof m);
	window_init(&w, region, cap, size);
	window_out_alloc(&o, cap, size);
	for (int ops = 0; in->left > 0 && ops < 2000; ops++) {
		switch (fuzz_u8(in) % 6) {
		case 0:
			b = fuzz_u8(in);
			len = make_body(in, body);
			do_append(&w, m.last + 1, false, b % 3 == 0 ?
			    EVENT_MESSAGE : b % 3 == 1 ? EVENT_JOIN :
			    EVENT_LEAVE, body, len);
			break;
		case 1:
			id = m.last + 1 + fuzz_u8(in) % 24;
			len = make_body(in, body);
			do_append(&w, id, true, EVENT_MESSAGE, body, len);
			break;
		case 2:
			b = fuzz_u8(in);
			id = fuzz_u64(in);
			if (b & 1)
				id &= EVENT_ID_MAX;
			if (b & 2)
				id = EVENT_ID_MAX - (id & 31);
			len = make_body(in, body);
			do_append(&w, id, true, EVENT_JOIN, body, len);
			break;
		case 3:
			b = fuzz_u8(in);
			id = b < 240 ? m.last + b % 24 : fuzz_u64(in) &
			    EVENT_ID_MAX;
			if (id > EVENT_ID_MAX)	/* ids never pass 2^53-1 */
				id = EVENT_ID_MAX;
			window_skip(&w, id);
			for (uint64_t i = id - m.last > MODEL ? id - MODEL + 1 :
			    m.last + 1; id > m.last && i <= id; i++)
				model_put(i, false, 0, NULL, 0);
			break;
		case 4:
			check_read(&w, &o, pick_cursor(in, &w), true);
			break;
		default:
			window_purge(&w);
			memset(&m, 0, sizeof m);
			break;
		}
		check_header(&w);
		check_read(&w, &o, m.last > 3 ? m.last - 3 : 0, false);
	}
	window_out_free(&o);
	free(region);
}

static void
run_region(struct fuzz_in *in)
{
	uint32_t		cap = 1 + fuzz_u8(in) % 8;
	uint64_t		size = 16 + (uint64_t)fuzz_u8(in) * 4;
	uint64_t		cursor = fuzz_u64(in) & EVENT_ID_MAX, last;
	size_t			rsize = window_region_size(cap, size);
	uint8_t			*region = calloc(1, rsize);
	struct window		w;
	struct window_out	o;
	int64_t			id;

	memcpy(region, in->p, in->left < rsize ? in->left : rsize);
#ifdef FUZZ_EXPLORE	/* past the known findings (README), to find others */
	((struct window_hdr *)region)->first |= 1;
	((struct window_hdr *)region)->first &= EVENT_ID_MAX;
	((struct window_hdr *)region)->last &= EVENT_ID_MAX;
#endif
	((struct window_hdr *)region)->cap = cap;	/* as segment_check */
	((struct window_hdr *)region)->size = size;	/* found them */
	FUZZ_CHECK(window_attach(&w, region, cap, size) == 0, "attach");
	window_out_alloc(&o, cap, size);
	if (window_read(&w, cursor, &o) == 0)	/* a reader, no repair */
		check_out_shape(&w, &o);
	FUZZ_CHECK(window_repair(&w) >= 0, "repair");
	check_header(&w);
	FUZZ_CHECK(window_repair(&w) == 0, "a second repair mended again");
	FUZZ_CHECK(window_read(&w, cursor, &o) == 0, "read after repair: %s "
	    "(cap %u size %llu first %llu last %llu head %llu tail %llu)",
	    strerror(errno), cap, (unsigned long long)size,
	    (unsigned long long)w.hdr->first, (unsigned long long)w.hdr->last,
	    (unsigned long long)w.hdr->head, (unsigned long long)w.hdr->tail);
	check_out_shape(&w, &o);
	last = window_last(&w);
	id = window_append(&w, EVENT_MESSAGE, "{\"x\":1}", 7);
	if (last < EVENT_ID_MAX && size >= 40) {
		FUZZ_CHECK(id == (int64_t)last + 1, "append after repair: %lld",
		    (long long)id);
		check_header(&w);
		FUZZ_CHECK(window_read(&w, last, &o) == 0 && o.n == 1 &&
		    o.ev[0].id == last + 1 && !o.gap && !o.reset,
		    "the event appended after the repair is not read back");
		FUZZ_CHECK(o.ev[0].len > 7 && memcmp(o.buf + o.ev[0].off,
		    "{\"id\":", 6) == 0, "appended bytes differ");
	}
	window_out_free(&o);
	free(region);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	in = { data, size };

	if (fuzz_u8(&in) & 0x80)
		run_region(&in);
	else
		run_ops(&in);
	return 0;
}
