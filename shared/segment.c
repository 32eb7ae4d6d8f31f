/*
 * segment.c: the shared-memory segment's layout, and opening it: created
 * fresh, or checked and taken as it is (a restart loses nothing). What
 * lives in it is in the other files of segment.h: rooms.c (room table,
 * windows, presence), lock.c (semaphore, futex), counts.c (rate buckets,
 * listener counts). segment_* take the semaphore around window_* calls;
 * readers never do.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "segment.h"

#define ALIGN(n)	(((n) + 63) & ~(uint64_t)63)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

static int	segment_name(char *, size_t, const char *, const char *,
		    char *, size_t);
static int	segment_create(struct segment *, int, const struct segment_opts *,
		    char *, size_t);
static int	segment_check(struct segment *, int, const struct segment_opts *,
		    char *, size_t);
static void	segment_bind(struct segment *);

static uint32_t
pow2_at_least(uint64_t n)
{
	uint32_t	p = 64;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Where everything goes, into h (sizes set, the rest computed). Classes
 * of windows: 4, 32, 256 events (those below --window), then --window.
 * Every record has a class-0 region; of each larger class there is one
 * region for 16, 128, 1024 rooms (at least 64 while rooms allow).
 */
static void
segment_layout(struct segment_hdr *h)
{
	static const uint32_t	caps[] = { 4, 32, 256 }, div[] = { 1, 16, 128,
				    1024 };
	uint32_t		n = h->nrooms, k = 0;
	uint64_t		off, floor = n < 64 ? n : 64;

	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
		if (caps[i] < h->cap)
			h->cls[k++].cap = caps[i];
	h->cls[k++].cap = h->cap;
	h->nclasses = k;
	h->index_size = pow2_at_least(2ULL * n);
	h->pool_size = pow2_at_least(n / 2);
	off = ALIGN(sizeof *h);
	h->rooms_off = off;
	off += ALIGN((uint64_t)n * sizeof(struct segment_room));
	h->index_off = off;
	off += ALIGN((uint64_t)h->index_size * sizeof(uint64_t));
	h->pool_off = off;
	off += ALIGN((uint64_t)h->pool_size * sizeof(struct segment_presence));
	h->listeners_off = off;
	off += ALIGN((uint64_t)SEGMENT_SLOTS * n * sizeof(uint32_t));
	h->busy_off = off;
	off += ALIGN(((uint64_t)n + 63) / 64 * sizeof(uint64_t));
	h->free_rooms_off = off;
	off += ALIGN((uint64_t)n * sizeof(uint32_t));
	h->addrs_off = off;
	off += ALIGN((uint64_t)SEGMENT_ADDRS * sizeof(struct segment_addr));
	for (uint32_t i = 0; i < k; i++) {
		struct segment_class	*c = &h->cls[i];
		uint64_t		 ring = (uint64_t)c->cap * 192;

		if (i == k - 1 && ring < 2 * EVENT_JSON_MAX(h->max_text))
			ring = 2 * EVENT_JSON_MAX(h->max_text);
		c->ring = ALIGN(ring);
		c->stride = ALIGN(window_region_size(c->cap, c->ring));
		c->count = i == 0 ? n : (uint32_t)((n + div[i] - 1) / div[i]);
		if (c->count < floor)
			c->count = (uint32_t)floor;
		c->owners_off = off;
		off += ALIGN((uint64_t)c->count * sizeof(uint32_t));
		c->free_off = off;
		off += ALIGN((uint64_t)c->count * sizeof(uint32_t));
	}
	for (uint32_t i = 0; i < k; i++) {
		h->cls[i].off = off;
		off += (uint64_t)h->cls[i].count * h->cls[i].stride;
	}
	h->ring = h->cls[k - 1].ring;
	h->size = off;
}

/* Sizes a segment may have, each bounded. */
static bool
segment_sizes_ok(uint32_t rooms, uint32_t cap, uint32_t max_text)
{
	return rooms >= 1 && rooms <= SEGMENT_ROOMS_LIMIT && cap >= 1 &&
	    cap <= 1048576 && max_text >= 1 && max_text <= EVENT_TEXT_LIMIT;
}

/* Bytes of the segment these sizes make (0: sizes out of bounds). */
uint64_t
segment_size_for(uint32_t rooms, uint32_t cap, uint32_t max_text)
{
	struct segment_hdr	h = { .nrooms = rooms, .cap = cap,
				    .max_text = max_text };

	if (!segment_sizes_ok(rooms, cap, max_text))
		return 0;
	segment_layout(&h);
	return h.size;
}

static int
segment_name(char *buf, size_t len, const char *name, const char *suffix,
    char *err, size_t errlen)
{
	size_t	n = strlen(name);

	if (n < 1 || n > 40 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
		snprintf(err, errlen, "bad segment name \"%s\": 1 to 40 of "
		    "A-Z a-z 0-9 _ . -", name);
		errno = EINVAL;
		return -1;
	}
	snprintf(buf, len, "/fcomet-%s%s", name, suffix);
	return 0;
}

static void
segment_bind(struct segment *sg)
{
	struct segment_hdr	*h = sg->hdr;
	char			*base = (char *)h;

	sg->size = h->size;
	sg->rooms = (struct segment_room *)(base + h->rooms_off);
	sg->index = (uint64_t *)(base + h->index_off);
	sg->pool = (struct segment_presence *)(base + h->pool_off);
	sg->listeners = (uint32_t *)(base + h->listeners_off);
	sg->busy = (uint64_t *)(base + h->busy_off);
	sg->free_rooms = (uint32_t *)(base + h->free_rooms_off);
	sg->addrs = (struct segment_addr *)(base + h->addrs_off);
}

/* Opens the lock; a new segment gets a new lock. */
static int
segment_lock_open(struct segment *sg, bool fresh, const struct segment_opts *o)
{
	char	name[96], path[128];

	snprintf(name, sizeof name, "%s.lock", sg->name);
	if (fresh)
		sem_unlink(name);
	sg->lock = sem_open(name, O_CREAT, o->group_set ? 0660 : 0600, 1);
	if (sg->lock == SEM_FAILED)
		return -1;
	snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
	if (o->user_set || o->group_set) {
		if (chown(path, o->user_set ? o->uid : (uid_t)-1,
		    o->group_set ? o->gid : (gid_t)-1) == -1 ||
		    chmod(path, o->group_set ? 0660 : 0600) == -1)
			return -1;
	}
	return 0;
}

/* The owner and group asked for (a root master that drops privileges). */
static int
segment_own(int fd, const struct segment_opts *o)
{
	if (!o->user_set && !o->group_set)
		return 0;
	if (fchown(fd, o->user_set ? o->uid : (uid_t)-1,
	    o->group_set ? o->gid : (gid_t)-1) == -1)
		return -1;
	return fchmod(fd, o->group_set ? 0660 : 0600);
}

static int
segment_create(struct segment *sg, int fd, const struct segment_opts *o,
    char *err, size_t errlen)
{
	struct segment_hdr	 l = { 0 }, *h;
	uint64_t		 max = o->max_size ? o->max_size :
			    SEGMENT_MAX_DEFAULT;

	l.nrooms = o->rooms ? o->rooms : SEGMENT_ROOMS_DEFAULT;
	l.cap = o->window ? o->window : SEGMENT_WINDOW_DEFAULT;
	l.max_text = o->max_text ? o->max_text : EVENT_TEXT_DEFAULT;
	if (!segment_sizes_ok(l.nrooms, l.cap, l.max_text)) {
		snprintf(err, errlen, "%s: --rooms 1..%u, --window 1..1048576,"
		    " --max-text 1..%d", sg->name, SEGMENT_ROOMS_LIMIT,
		    EVENT_TEXT_LIMIT);
		errno = EINVAL;
		return -1;
	}
	segment_layout(&l);
	if (l.size > max) {
		snprintf(err, errlen, "%s: --rooms %u --window %u --max-text %u "
		    "make a segment of %llu MiB, more than --segment-max %llu "
		    "MiB: lower --rooms or --window, or raise --segment-max",
		    sg->name, l.nrooms, l.cap, l.max_text,
		    (unsigned long long)((l.size + (1 << 20) - 1) >> 20),
		    (unsigned long long)(max >> 20));
		errno = EFBIG;
		return -1;
	}
	if (segment_own(fd, o) == -1) {
		snprintf(err, errlen, "%s: owner: %s", sg->name, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)l.size) == -1) {
		snprintf(err, errlen, "%s: %llu bytes: %s", sg->name,
		    (unsigned long long)l.size, strerror(errno));
		return -1;
	}
	h = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", sg->name, strerror(errno));
		return -1;
	}
	memcpy(h, &l, sizeof l);
	sg->hdr = h;
	segment_bind(sg);
	h->version = SEGMENT_VERSION;
	h->epoch = event_now_ms();
	h->owner_room = -1;
	rooms_init(sg);
	if (segment_lock_open(sg, true, o) == -1) {
		snprintf(err, errlen, "%s.lock: %s", sg->name, strerror(errno));
		munmap(h, l.size);
		return -1;
	}
	STORE(&h->magic, SEGMENT_MAGIC);	/* last: attachers wait for it */
	return 0;
}

/* The header's layout is the one its sizes make, and what the free stacks
 * and regions say is in bounds: nothing in the file is trusted. Binds sg
 * to the parts once their offsets are known to be right. */
static bool
segment_layout_ok(struct segment *sg)
{
	const struct segment_hdr	*h = sg->hdr;
	struct segment_hdr		 l = { .nrooms = h->nrooms, .cap = h->cap,
					    .max_text = h->max_text };

	segment_layout(&l);
	if (l.size != h->size || l.ring != h->ring ||
	    l.nclasses != h->nclasses || l.index_size != h->index_size ||
	    l.pool_size != h->pool_size || l.rooms_off != h->rooms_off ||
	    l.index_off != h->index_off || l.pool_off != h->pool_off ||
	    l.listeners_off != h->listeners_off || l.busy_off != h->busy_off ||
	    l.free_rooms_off != h->free_rooms_off ||
	    l.addrs_off != h->addrs_off ||
	    h->nfree_rooms > h->nrooms)
		return false;
	segment_bind(sg);	/* the offsets are the layout's: in the file */
	for (uint32_t i = 0; i < h->nrooms && i < h->nfree_rooms; i++)
		if (sg->free_rooms[i] >= h->nrooms)
			return false;
	for (uint32_t k = 0; k < l.nclasses; k++) {
		const struct segment_class *a = &l.cls[k], *b = &h->cls[k];
		const uint32_t *fr = (const uint32_t *)((const char *)h +
		    a->free_off);
		if (a->cap != b->cap || a->count != b->count ||
		    a->ring != b->ring || a->stride != b->stride ||
		    a->off != b->off || a->owners_off != b->owners_off ||
		    a->free_off != b->free_off || b->nfree > b->count)
			return false;
		for (uint32_t i = 0; i < b->nfree; i++)
			if (fr[i] >= b->count)
				return false;
		for (uint32_t r = 0; r < a->count; r++) {
			struct window w;
			if (window_attach(&w, (char *)h + a->off + r * a->stride,
			    a->cap, a->ring) == -1)
				return false;
		}
	}
	return true;
}

/* Attaches to an existing segment after checking every size in it. */
static int
segment_check(struct segment *sg, int fd, const struct segment_opts *o,
    char *err, size_t errlen)
{
	struct segment_hdr	 h;
	struct stat		 st;
	const char		*short_name = sg->name + 8;	/* "/fcomet-" */
	int			 tries;

	for (tries = 0; tries < 100; tries++) {	/* a creator may be busy */
		if (fstat(fd, &st) == -1) {
			snprintf(err, errlen, "%s: %s", sg->name, strerror(errno));
			return -1;
		}
		if ((size_t)st.st_size >= sizeof h &&
		    pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
		    h.magic == SEGMENT_MAGIC)
			break;
		usleep(10000);
	}
	if (tries == 100 || h.version != SEGMENT_VERSION ||
	    !segment_sizes_ok(h.nrooms, h.cap, h.max_text) ||
	    segment_size_for(h.nrooms, h.cap, h.max_text) != h.size ||
	    (uint64_t)st.st_size != h.size)
		goto mismatch;
	if ((o->rooms && o->rooms != h.nrooms) ||
	    (o->window && o->window != h.cap) ||
	    (o->max_text && o->max_text != h.max_text)) {
		snprintf(err, errlen, "segment %s has --rooms %u --window %u "
		    "--max-text %u, not the sizes asked for; to start afresh "
		    "(losing its events) run: fcometctl --name %s unlink",
		    sg->name, h.nrooms, h.cap, h.max_text, short_name);
		errno = EINVAL;
		return -1;
	}
	sg->hdr = mmap(NULL, h.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sg->hdr == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", sg->name, strerror(errno));
		return -1;
	}
	sg->size = h.size;
	if (segment_own(fd, o) == -1) {
		snprintf(err, errlen, "%s: owner: %s", sg->name, strerror(errno));
		munmap(sg->hdr, h.size);
		return -1;
	}
	if (!segment_layout_ok(sg)) {
		munmap(sg->hdr, h.size);
		goto mismatch;
	}
	if (segment_lock_open(sg, false, o) == -1) {
		snprintf(err, errlen, "%s.lock: %s", sg->name, strerror(errno));
		munmap(sg->hdr, h.size);
		return -1;
	}
	return 0;

mismatch:
	snprintf(err, errlen, "%s is not a segment of this fcomet (layout "
	    "version %u); remove it with: fcometctl --name %s unlink",
	    sg->name, SEGMENT_VERSION, short_name);
	errno = EPROTO;
	return -1;
}

/*
 * Creates /fcomet-NAME (mode 0600, or 0660 with a group) or attaches to the
 * one there. A person reads err.
 */
int
segment_open(struct segment *sg, const struct segment_opts *o, char *err,
    size_t errlen)
{
	const char	*name = o->name ? o->name : "default";
	int		 fd, rc;
	bool		 fresh = false;

	memset(sg, 0, sizeof *sg);
	if (segment_name(sg->name, sizeof sg->name, name, "", err, errlen) == -1)
		return -1;
	fd = shm_open(sg->name, O_RDWR | (o->create ? O_CREAT | O_EXCL : 0),
	    0600);
	if (fd == -1 && errno == EEXIST)
		fd = shm_open(sg->name, O_RDWR, 0);
	else if (fd != -1 && o->create)
		fresh = true;
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", sg->name, strerror(errno));
		return -1;
	}
	if (fresh && (rc = segment_create(sg, fd, o, err, errlen)) == -1)
		shm_unlink(sg->name);
	else if (!fresh)
		rc = segment_check(sg, fd, o, err, errlen);
	close(fd);
	return rc;
}

void
segment_close(struct segment *sg)
{
	if (sg->lock != NULL && sg->lock != SEM_FAILED)
		sem_close(sg->lock);
	if (sg->hdr != NULL && sg->hdr != MAP_FAILED)
		munmap(sg->hdr, sg->size);
	sg->hdr = NULL;
	sg->lock = NULL;
}

int
segment_unlink(const char *name, char *err, size_t errlen)
{
	char	shm[80], lock[96];

	if (segment_name(shm, sizeof shm, name, "", err, errlen) == -1)
		return -1;
	snprintf(lock, sizeof lock, "%s.lock", shm);
	sem_unlink(lock);
	if (shm_unlink(shm) == -1) {
		snprintf(err, errlen, "%s: %s", shm, strerror(errno));
		return -1;
	}
	return 0;
}
