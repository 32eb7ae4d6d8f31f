/*
 * segment.c: the shared-memory segment, its named semaphore and what lives
 * in it: room table, windows, presence, rate buckets, listener counts.
 * segment_* take the semaphore around window_* calls; readers never do.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "log.h"
#include "segment.h"

#define ADDR_PROBE	16	/* entries an address may take */
#define ALIGN(n)	(((n) + 63) & ~(uint64_t)63)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define RELAXED(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define LOCK_ROUND_MS	250	/* a dead owner is noticed within 2 rounds */
#define RATE_PROBE	8

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

static void
deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* A zombie is dead too: kill(pid, 0) alone says it is alive. */
static bool
pid_alive(pid_t pid)
{
	char	path[64], buf[256], *p;
	FILE	*f;
	bool	 zombie = false;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return false;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	if (fgets(buf, sizeof buf, f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		zombie = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return !zombie;
}

/* The owner died holding the lock: take it over and mend its room. */
static void
segment_recover(struct segment *sg, int32_t dead)
{
	int32_t	 ri = sg->hdr->owner_room;

	if (ri >= 0 && (uint32_t)ri < sg->hdr->nrooms) {
		struct window w;
		segment_window(sg, ri, &w);
		window_repair(&w);
	}
	rooms_rebuild(sg);
	sg->hdr->owner_room = -1;
	sg->hdr->c.recoveries++;
	log_warn("%s: lock owner %d died holding the lock; recovered room %d",
	    sg->name, (int)dead, (int)ri);
}

static int32_t		segment_pid;	/* getpid() is a syscall: 1.7 us here */
static pthread_once_t	segment_pid_once = PTHREAD_ONCE_INIT;

static void
segment_pid_forget(void)
{
	segment_pid = 0;
}

static void
segment_pid_init(void)
{
	pthread_atfork(NULL, NULL, segment_pid_forget);
}

static int32_t
segment_me(void)
{
	if (segment_pid == 0) {
		pthread_once(&segment_pid_once, segment_pid_init);
		segment_pid = (int32_t)getpid();
	}
	return segment_pid;
}

/*
 * Takes the lock, waiting at most timeout_ms. A dead owner is noticed
 * within two rounds and its lock taken over. -1 with ETIMEDOUT if a live
 * owner keeps it; with timeout_ms 0, -1 with EBUSY at once if it is taken.
 */
int
segment_lock(struct segment *sg, int timeout_ms)
{
	struct segment_hdr	*h = sg->hdr;
	struct timespec		 ts;
	int32_t			 me = segment_me(), seen, zero_rounds = 0;
	int			 waited = 0;

	if (sem_trywait(sg->lock) == 0) {	/* uncontended: no clock read */
		seen = 0;
		if (__atomic_compare_exchange_n(&h->owner, &seen, me, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
	if (timeout_ms <= 0) {		/* a caller that must not wait */
		errno = EBUSY;
		return -1;
	}
	for (;;) {
		deadline_in(&ts, timeout_ms < LOCK_ROUND_MS ? timeout_ms :
		    LOCK_ROUND_MS);
		if (sem_timedwait(sg->lock, &ts) == 0) {
			seen = 0;
			if (__atomic_compare_exchange_n(&h->owner, &seen, me, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return 0;
			continue;	/* taken over meanwhile: wait again */
		}
		if (errno == EINTR)
			continue;
		if (errno != ETIMEDOUT)
			return -1;
		waited += timeout_ms < LOCK_ROUND_MS ? timeout_ms :
		    LOCK_ROUND_MS;
		seen = LOAD(&h->owner);
		if ((seen == 0 && ++zero_rounds >= 2) ||
		    (seen != 0 && !pid_alive(seen))) {
			if (__atomic_compare_exchange_n(&h->owner, &seen, me, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				segment_recover(sg, seen);
				return 0;
			}
		}
		if (waited >= timeout_ms) {
			ADD(&h->c.lock_timeouts, 1);
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

void
segment_unlock(struct segment *sg)
{
	sg->hdr->owner_room = -1;
	STORE(&sg->hdr->owner, 0);
	sem_post(sg->lock);
}

static long
futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

/* Bumps the change counter; a syscall only if somebody waits. */
void
segment_notify(struct segment *sg)
{
	ADD(&sg->hdr->change, 1);
	if (__atomic_load_n(&sg->hdr->sleepers, __ATOMIC_SEQ_CST) > 0)
		futex(&sg->hdr->change, FUTEX_WAKE, INT_MAX, NULL);
}

uint32_t
segment_change(const struct segment *sg)
{
	return __atomic_load_n(&sg->hdr->change, __ATOMIC_SEQ_CST);
}

/* Sleeps until the counter differs from seen: 0, or -1 with ETIMEDOUT. */
int
segment_wait(struct segment *sg, uint32_t seen, int timeout_ms)
{
	struct timespec	ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	long		rc = 0;

	ADD(&sg->hdr->sleepers, 1);
	if (segment_change(sg) == seen)
		rc = futex(&sg->hdr->change, FUTEX_WAIT, seen,
		    timeout_ms < 0 ? NULL : &ts);
	ADD(&sg->hdr->sleepers, -1);
	if (rc == -1 && errno == EAGAIN)
		rc = 0;
	if (rc == 0 && segment_change(sg) == seen) {
		errno = EINTR;
		return -1;
	}
	return rc == 0 ? 0 : -1;
}

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
