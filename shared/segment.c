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

#define ALIGN(n)	(((n) + 63) & ~(size_t)63)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define SEGMENT_MAX_SIZE ((size_t)1 << 32)	/* 4 GiB: sizes are bounded */
#define LOCK_ROUND_MS	250	/* a dead owner is noticed within 2 rounds */
#define RATE_PROBE	8

struct segment_layout {
	uint64_t	ring;
	size_t		rooms_off, listeners_off, windows_off, wstride, size;
};

static int	segment_name(char *, size_t, const char *, const char *,
		    char *, size_t);
static int	segment_create(struct segment *, int, const struct segment_opts *,
		    char *, size_t);
static int	segment_check(struct segment *, int, const struct segment_opts *,
		    char *, size_t);
static void	segment_bind(struct segment *, const struct segment_layout *);

/* The ring of a room: room for the window's typical chat line, and always
 * for two of the largest events. */
static void
segment_layout(struct segment_layout *l, uint32_t rooms, uint32_t cap,
    uint32_t max_text)
{
	uint64_t	ring = (uint64_t)cap * 192;

	if (ring < 2 * EVENT_JSON_MAX(max_text))
		ring = 2 * EVENT_JSON_MAX(max_text);
	l->ring = ALIGN(ring);
	l->wstride = ALIGN(window_region_size(cap, l->ring));
	l->rooms_off = ALIGN(sizeof(struct segment_hdr));
	l->listeners_off = l->rooms_off +
	    ALIGN((size_t)rooms * sizeof(struct segment_room));
	l->windows_off = l->listeners_off +
	    ALIGN((size_t)SEGMENT_SLOTS * rooms * sizeof(uint32_t));
	l->size = l->windows_off + (size_t)rooms * l->wstride;
}

/* Sizes a segment may have: each bounded, and the whole at most 4 GiB. */
static bool
segment_sizes_ok(uint32_t rooms, uint32_t cap, uint32_t max_text)
{
	struct segment_layout	l;

	if (rooms < 1 || rooms > 65536 || cap < 1 || cap > 1048576 ||
	    max_text < 1 || max_text > EVENT_TEXT_LIMIT)
		return false;
	segment_layout(&l, rooms, cap, max_text);
	return l.size <= SEGMENT_MAX_SIZE;
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
segment_bind(struct segment *sg, const struct segment_layout *l)
{
	char	*base = (char *)sg->hdr;

	sg->size = l->size;
	sg->rooms = (struct segment_room *)(base + l->rooms_off);
	sg->listeners = (uint32_t *)(base + l->listeners_off);
	sg->windows = base + l->windows_off;
	sg->wstride = l->wstride;
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
	struct segment_layout	 l;
	struct segment_hdr	*h;
	uint32_t		 rooms = o->rooms ? o->rooms : SEGMENT_ROOMS_DEFAULT;
	uint32_t		 cap = o->window ? o->window : SEGMENT_WINDOW_DEFAULT;
	uint32_t		 max_text = o->max_text ? o->max_text :
			    EVENT_TEXT_DEFAULT;

	if (!segment_sizes_ok(rooms, cap, max_text)) {
		snprintf(err, errlen, "%s: --rooms 1..65536, --window 1..1048576,"
		    " --max-text 1..%d, 4 GiB in all", sg->name,
		    EVENT_TEXT_LIMIT);
		errno = EINVAL;
		return -1;
	}
	segment_layout(&l, rooms, cap, max_text);
	if (segment_own(fd, o) == -1) {
		snprintf(err, errlen, "%s: owner: %s", sg->name, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)l.size) == -1) {
		snprintf(err, errlen, "%s: %zu bytes: %s", sg->name, l.size,
		    strerror(errno));
		return -1;
	}
	h = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", sg->name, strerror(errno));
		return -1;
	}
	sg->hdr = h;
	segment_bind(sg, &l);
	h->version = SEGMENT_VERSION;
	h->nrooms = rooms;
	h->cap = cap;
	h->max_text = max_text;
	h->ring = l.ring;
	h->size = l.size;
	h->epoch = event_now_ms();
	h->owner_room = -1;
	for (uint32_t i = 0; i < rooms; i++) {
		struct window w;
		window_init(&w, sg->windows + i * sg->wstride, cap, l.ring);
	}
	if (segment_lock_open(sg, true, o) == -1) {
		snprintf(err, errlen, "%s.lock: %s", sg->name, strerror(errno));
		munmap(h, l.size);
		return -1;
	}
	STORE(&h->magic, SEGMENT_MAGIC);	/* last: attachers wait for it */
	return 0;
}

/* Attaches to an existing segment after checking every size in it. */
static int
segment_check(struct segment *sg, int fd, const struct segment_opts *o,
    char *err, size_t errlen)
{
	struct segment_layout	 l;
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
	    !segment_sizes_ok(h.nrooms, h.cap, h.max_text))
		goto mismatch;
	segment_layout(&l, h.nrooms, h.cap, h.max_text);
	if (l.size != h.size || l.ring != h.ring ||
	    (size_t)st.st_size != l.size)
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
	sg->hdr = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sg->hdr == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", sg->name, strerror(errno));
		return -1;
	}
	if (segment_own(fd, o) == -1) {
		snprintf(err, errlen, "%s: owner: %s", sg->name, strerror(errno));
		munmap(sg->hdr, l.size);
		return -1;
	}
	segment_bind(sg, &l);
	for (uint32_t i = 0; i < h.nrooms; i++) {
		struct window w;
		if (window_attach(&w, sg->windows + i * sg->wstride, h.cap,
		    h.ring) == -1) {
			munmap(sg->hdr, l.size);
			goto mismatch;
		}
	}
	if (segment_lock_open(sg, false, o) == -1) {
		snprintf(err, errlen, "%s.lock: %s", sg->name, strerror(errno));
		munmap(sg->hdr, l.size);
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

void
segment_window(const struct segment *sg, int ri, struct window *w)
{
	w->hdr = (struct window_hdr *)(sg->windows + (size_t)ri * sg->wstride);
	w->idx = (struct window_idx *)(w->hdr + 1);
	w->ring = (char *)(w->idx + sg->hdr->cap);
}

static uint32_t
segment_hash(const char *s)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Lock-free: rooms are only ever added, each name before its used flag. */
int
segment_room_find(const struct segment *sg, const char *room)
{
	uint32_t	n = sg->hdr->nrooms, i = segment_hash(room) % n;

	for (uint32_t k = 0; k < n; k++, i = (i + 1) % n) {
		const struct segment_room *r = &sg->rooms[i];
		if (!LOAD(&r->used))
			return -1;
		if (strcmp(r->name, room) == 0)
			return (int)i;
	}
	return -1;
}

/* Under the lock: the room's index, created if new; ENOSPC if full. */
static int
segment_room_get_locked(struct segment *sg, const char *room)
{
	uint32_t	n = sg->hdr->nrooms, i = segment_hash(room) % n;

	for (uint32_t k = 0; k < n; k++, i = (i + 1) % n) {
		struct segment_room *r = &sg->rooms[i];
		if (!r->used) {
			snprintf(r->name, sizeof r->name, "%s", room);
			STORE(&r->used, 1);
			sg->hdr->rooms_used++;
			return (int)i;
		}
		if (strcmp(r->name, room) == 0)
			return (int)i;
	}
	sg->hdr->c.room_full++;
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
	ri = segment_room_get_locked(sg, room);
	segment_unlock(sg);
	return ri;
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

/* Under the lock: store ev (already encoded as body) in room ri. */
static int64_t
segment_store(struct segment *sg, int ri, uint32_t type, const char *body,
    size_t len)
{
	struct window	w;
	int64_t		id;

	segment_window(sg, ri, &w);
	sg->hdr->owner_room = ri;
	id = window_append(&w, type, body, len);
	sg->hdr->owner_room = -1;
	if (id == -1)
		return -1;
	switch (type) {
	case EVENT_JOIN:
		sg->hdr->c.joins++;
		break;
	case EVENT_LEAVE:
		sg->hdr->c.leaves++;
		break;
	default:
		sg->hdr->c.sends++;
	}
	return id;
}

/*
 * Stores a checked event: encoded outside the lock, the lock held only to
 * find the room and copy the bytes in. Returns the id; *ts gets the time.
 */
int64_t
segment_publish(struct segment *sg, const struct event *ev, int64_t *ts)
{
	return segment_publish_wait(sg, ev, ts, SEGMENT_WAIT_MS);
}

/* The same, waiting at most wait_ms for the lock (0: not at all). */
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
	if ((ri = segment_room_get_locked(sg, ev.room)) != -1)
		id = segment_store(sg, ri, ev.type, body, (size_t)len);
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

int
segment_read(const struct segment *sg, int ri, uint64_t cursor,
    struct window_out *out)
{
	struct window	w;

	segment_window(sg, ri, &w);
	return window_read(&w, cursor, out);
}

int
segment_purge(struct segment *sg, int ri)
{
	struct window	w;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	segment_window(sg, ri, &w);
	sg->hdr->owner_room = ri;
	window_purge(&w);
	memset(sg->rooms[ri].presence, 0, sizeof sg->rooms[ri].presence);
	segment_unlock(sg);
	segment_notify(sg);
	return 0;
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

static struct segment_presence *
presence_find(struct segment_room *r, const char *nick)
{
	for (int i = 0; i < SEGMENT_PRESENCE; i++)
		if (r->presence[i].nick[0] != '\0' &&
		    strcmp(r->presence[i].nick, nick) == 0)
			return &r->presence[i];
	return NULL;
}

/*
 * A listener holds nick in room ri at now. Returns 1 if that made the nick
 * present (the caller stores the join), 0 if it already was, -1 on error
 * (ENOSPC: SEGMENT_PRESENCE nicks already there). Usually takes no lock.
 */
int
segment_presence_enter(struct segment *sg, int ri, const char *nick,
    int64_t now, int wait_ms)
{
	struct segment_room	*r = &sg->rooms[ri];
	struct segment_presence	*p;
	int			 rc = 0;

	if ((p = presence_find(r, nick)) != NULL) {
		__atomic_store_n(&p->seen, now, __ATOMIC_RELAXED);
		return 0;
	}
	if (segment_lock(sg, wait_ms) == -1)
		return -1;
	if ((p = presence_find(r, nick)) == NULL) {
		for (int i = 0; i < SEGMENT_PRESENCE && p == NULL; i++)
			if (r->presence[i].nick[0] == '\0')
				p = &r->presence[i];
		if (p == NULL)
			rc = -1, errno = ENOSPC;
		else {
			snprintf(p->nick, sizeof p->nick, "%s", nick);
			rc = 1;
		}
	}
	if (p != NULL)
		p->seen = now;
	segment_unlock(sg);
	return rc;
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

	for (uint32_t ri = 0; ri < sg->hdr->nrooms && n < max; ri++) {
		struct segment_room *r = &sg->rooms[ri];
		bool expired = false;

		if (!LOAD(&r->used))
			continue;
		for (int i = 0; i < SEGMENT_PRESENCE && !expired; i++)
			expired = r->presence[i].nick[0] != '\0' &&
			    __atomic_load_n(&r->presence[i].seen,
			    __ATOMIC_RELAXED) + grace < now;
		if (!expired || segment_lock(sg, wait_ms) == -1)
			continue;
		for (int i = 0; i < SEGMENT_PRESENCE && n < max; i++) {
			struct segment_presence *p = &r->presence[i];
			if (p->nick[0] == '\0' || p->seen + grace >= now)
				continue;
			gone[n].room = (int)ri;
			memcpy(gone[n++].nick, p->nick, sizeof p->nick);
			p->nick[0] = '\0';
		}
		segment_unlock(sg);
	}
	return n;
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
	sg->hdr->owner_room = ri;
	if (body == NULL) {
		window_skip(&w, id);
		rc = (int64_t)id;
	}
	else if (holes || id == w.hdr->last + 1)
		rc = window_append_at(&w, id, type, body, len);
	sg->hdr->owner_room = -1;
	segment_unlock(sg);
	if (rc > 0)
		segment_notify(sg);
	return rc;
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
	struct segment_room	*r = &sg->rooms[ri];
	int			 n = 0;

	if (segment_lock(sg, SEGMENT_WAIT_MS) == -1)
		return -1;
	for (int i = 0; i < SEGMENT_PRESENCE && n < max; i++)
		if (r->presence[i].nick[0] != '\0')
			memcpy(nicks[n++], r->presence[i].nick,
			    sizeof nicks[0]);
	segment_unlock(sg);
	qsort(nicks, (size_t)n, sizeof nicks[0], nick_cmp);
	return n;
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

void
segment_listeners_add(struct segment *sg, int slot, int ri, int delta)
{
	ADD(&sg->listeners[(size_t)slot * sg->hdr->nrooms + ri], delta);
}

/* This host's listeners of room ri, over every worker slot. */
uint32_t
segment_listeners(const struct segment *sg, int ri)
{
	uint32_t	n = 0;

	for (int s = 0; s < SEGMENT_SLOTS; s++)
		n += LOAD(&sg->listeners[(size_t)s * sg->hdr->nrooms + ri]);
	return n;
}

/* A worker died: its parked requests are gone with it. */
void
segment_listeners_clear(struct segment *sg, int slot)
{
	for (uint32_t ri = 0; ri < sg->hdr->nrooms; ri++)
		STORE(&sg->listeners[(size_t)slot * sg->hdr->nrooms + ri], 0);
}
