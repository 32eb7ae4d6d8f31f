/*
 * park.c: the dispatcher thread of a worker. It owns every parked request:
 * it answers long-polls and feeds streams when the waker says the segment
 * changed, encoding each batch of events once per cursor and writing the
 * same bytes to every listener of the room, framed with its request id.
 * Writes never block: what a socket does not take waits in a small backlog;
 * a stream whose backlog overflows is dropped, so one slow reader never
 * delays the others. What it writes to them is deliver.c's.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "fcomet.h"
#include "log.h"
#include "metrics.h"
#include "park.h"
#include "reply.h"
#include "route.h"

#define BACKLOG_MIN	(256 * 1024)	/* bytes a stream may fall behind: */
#define BACKLOG_MAX	(1024 * 1024)	/* a room's ring, within these */
#define TICK_MS		1000		/* presence heartbeat and sweep, */
					/* at least twice a grace period */
#define EPOLL_BATCH	256
#define SWEEP_ROOMS	4096		/* records looked at a tick */
#define STOP_FLUSH_MS	800
#define EV_HELD		(EPOLLIN | EPOLLRDHUP)


static int	park_take(struct park *, struct parked *);

int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline heap: parked requests in order of their next timer. */
static void
heap_swap(struct park *pk, uint32_t a, uint32_t b)
{
	struct parked	*t = pk->heap[a];

	pk->heap[a] = pk->heap[b];
	pk->heap[b] = t;
	pk->heap[a]->heapi = a;
	pk->heap[b]->heapi = b;
}

void
heap_fix(struct park *pk, uint32_t i)
{
	while (i > 0 && pk->heap[(i - 1) / 2]->due > pk->heap[i]->due) {
		heap_swap(pk, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < pk->nheap && pk->heap[l]->due < pk->heap[m]->due)
			m = l;
		if (r < pk->nheap && pk->heap[r]->due < pk->heap[m]->due)
			m = r;
		if (m == i)
			break;
		heap_swap(pk, i, m);
		i = m;
	}
}

static int
heap_push(struct park *pk, struct parked *p)
{
	if (pk->nheap == pk->capheap) {
		uint32_t cap = pk->capheap ? pk->capheap * 2 : 1024;
		struct parked **h = realloc(pk->heap, cap * sizeof *h);
		if (h == NULL)
			return -1;
		pk->heap = h;
		pk->capheap = cap;
	}
	p->heapi = pk->nheap;
	pk->heap[pk->nheap++] = p;
	heap_fix(pk, p->heapi);
	return 0;
}

static void
heap_remove(struct park *pk, struct parked *p)
{
	uint32_t	i = p->heapi;

	if (i >= pk->nheap || pk->heap[i] != p)
		return;
	heap_swap(pk, i, --pk->nheap);
	if (i < pk->nheap)
		heap_fix(pk, i);
	p->heapi = UINT32_MAX;
}

struct park *
park_new(struct segment *sg, struct store *st, int slot)
{
	struct park	*pk;

	if ((pk = calloc(1, sizeof *pk)) == NULL)
		return NULL;
	pk->sg = sg;
	pk->st = st;
	/* a catch-up of a whole (default) window fits, and never more
	 * than BACKLOG_MAX waits for a reader that stopped */
	pk->backlog_max = sg->hdr->ring + 65536;
	if (pk->backlog_max < BACKLOG_MIN)
		pk->backlog_max = BACKLOG_MIN;
	if (pk->backlog_max > BACKLOG_MAX)
		pk->backlog_max = BACKLOG_MAX;
	pk->slot = slot;
	if (reply_listen_head(&pk->lp) == 0)
		pk->lp_head = pk->lp.len;
	pk->lp.len = 0;
	pk->ctx.sg = sg;
	pk->ctx.st = st;
	pk->ctx.pk = pk;
	pk->ctx.slot = slot;
	pthread_mutex_init(&pk->mu, NULL);
	pthread_cond_init(&pk->busy, NULL);
	pk->rooms = calloc(sg->hdr->nrooms, sizeof *pk->rooms);
	pk->seen = calloc(sg->hdr->nrooms, sizeof *pk->seen);
	pk->seen_purged = calloc(sg->hdr->nrooms, sizeof *pk->seen_purged);
	pk->seen_rid = calloc(sg->hdr->nrooms, sizeof *pk->seen_rid);
	pk->active = calloc(sg->hdr->nrooms, sizeof *pk->active);
	pk->active_at = calloc(sg->hdr->nrooms, sizeof *pk->active_at);
	pk->ep = epoll_create1(EPOLL_CLOEXEC);
	pk->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pk->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pk->rooms == NULL || pk->seen == NULL || pk->seen_purged == NULL ||
	    pk->seen_rid == NULL || pk->active == NULL ||
	    pk->active_at == NULL || pk->ep == -1 || pk->efd == -1 || pk->wfd == -1 ||
	    window_out_alloc(&pk->out, sg->hdr->cap, sg->hdr->ring) == -1 ||
	    window_out_alloc(&pk->ctx.out, sg->hdr->cap, sg->hdr->ring) == -1) {
		park_free(pk);
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(pk->ep, EPOLL_CTL_ADD, pk->efd, &ev);
	ev.data.ptr = pk;	/* the segment changed */
	epoll_ctl(pk->ep, EPOLL_CTL_ADD, pk->wfd, &ev);
	return pk;
}

void
park_free(struct park *pk)
{
	if (pk == NULL)
		return;
	if (pk->ep != -1)
		close(pk->ep);
	if (pk->efd != -1)
		close(pk->efd);
	if (pk->wfd != -1)
		close(pk->wfd);
	free(pk->seen);
	free(pk->seen_purged);
	free(pk->seen_rid);
	free(pk->active);
	free(pk->active_at);
	window_out_free(&pk->out);
	window_out_free(&pk->ctx.out);
	buf_free(&pk->lp);
	buf_free(&pk->sse);
	free(pk->rooms);
	free(pk->heap);
	pthread_mutex_destroy(&pk->mu);
	pthread_cond_destroy(&pk->busy);
	free(pk);
}

static void
signal_fd(int fd)
{
	uint64_t	one = 1;

	if (write(fd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
}

static void
drain_fd(int fd)
{
	uint64_t	n;

	if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
}

/* From the waker: the segment changed. */
/* Requests this worker holds (read racily: for a log line). */
int
park_count(struct park *pk)
{
	return (int)__atomic_load_n(&pk->nparked, __ATOMIC_RELAXED);
}

void
park_wake(struct park *pk)
{
	signal_fd(pk->wfd);
}

/*
 * From the waker: true at once if this worker holds a request, else once
 * it takes one; false when it stops or after a second. A waker with
 * nobody to wake does not sleep on the segment's futex, so a send while
 * a worker holds no listener costs it no wake-up (and the sender no futex
 * call if no worker listens).
 */
bool
park_wait_busy(struct park *pk)
{
	struct timespec	ts;
	bool		busy;

	pthread_mutex_lock(&pk->mu);
	if (__atomic_load_n(&pk->nparked, __ATOMIC_ACQUIRE) == 0 && !pk->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&pk->busy, &pk->mu, &ts);
	}
	busy = __atomic_load_n(&pk->nparked, __ATOMIC_ACQUIRE) > 0 && !pk->stop;
	pthread_mutex_unlock(&pk->mu);
	return busy;
}

/*
 * From an accept thread: hand a request over to the dispatcher. Only the
 * request that finds the list empty signals: the dispatcher drains the
 * eventfd before it takes the list, so a later one is taken with it.
 * From the dispatcher (a request it read on a connection it holds):
 * taken at once.
 */
void
park_add(struct park *pk, struct parked *p)
{
	bool	first;

	if (p->held) {
		if (park_take(pk, p) == 0)	/* events may have come since */
			park_deliver(pk, p->room, p);
		return;
	}

	pthread_mutex_lock(&pk->mu);
	first = pk->incoming == NULL;
	p->next = pk->incoming;
	pk->incoming = p;
	pthread_mutex_unlock(&pk->mu);
	if (first)
		signal_fd(pk->efd);
}

void
park_stop(struct park *pk)
{
	pthread_mutex_lock(&pk->mu);
	pk->stop = true;
	pthread_cond_broadcast(&pk->busy);
	pthread_mutex_unlock(&pk->mu);
	signal_fd(pk->efd);
}

static void
room_unlink(struct park *pk, struct parked *p)
{
	if (p->room < 0)
		return;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else if ((pk->rooms[p->room] = p->next) == NULL) {
		uint32_t at = pk->active_at[p->room];	/* off the active list */
		pk->active[at] = pk->active[--pk->nactive];
		pk->active_at[pk->active[at]] = at;
	}
	if (p->next != NULL)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
	segment_listeners_add(pk->sg, pk->slot, p->room, -1);
	if (p->kind == PARK_STREAM)
		__atomic_sub_fetch(&pk->sg->hdr->c.streams, 1, __ATOMIC_RELAXED);
	p->room = -1;
}

/* p is no longer one of its room's listeners, and its nick's grace counts
 * from now: counted out first, as the join may wait for the lock. */
void
room_leave(struct park *pk, struct parked *p)
{
	int	room = p->room;

	room_unlink(pk, p);
	if (p->nick != NULL && room >= 0)
		store_presence_touch(pk->st, room, p->nick, event_now_ms());
}

/* Asks epoll for what p needs: hang-ups (and with held, the next
 * request), and with out, room to write. */
int
park_watch(struct park *pk, struct parked *p, bool out)
{
	uint32_t		want = (p->held ? EV_HELD : EPOLLRDHUP) |
				    (out ? EPOLLOUT : 0);
	struct epoll_event	ev = { .events = want, .data.ptr = p };

	if (p->ev == want)
		return 0;
	p->ev = want;
	return epoll_ctl(pk->ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* Freed after this pass (the epoll batch may still name it); its fd is
 * closed already, or handed on. */
void
park_forget(struct park *pk, struct parked *p)
{
	p->dead = true;
	p->next = pk->dead;
	pk->dead = p;
}

/* Lets p go: its connection is closed, or with keep held for the web
 * server's next request. */
static void
park_release(struct park *pk, struct parked *p, int keep)
{
	if (p->dead)
		return;
	room_leave(pk, p);
	segment_addr_leave(pk->sg, pk->slot, p->addr_entry);
	p->addr_entry = -1;
	heap_remove(pk, p);
	__atomic_store_n(&pk->nparked, pk->nparked - 1, __ATOMIC_RELEASE);
	if (keep != CONN_CLOSE && park_idle(pk, p) == 0)
		return;
	close(p->fd);		/* also leaves the epoll set */
	park_forget(pk, p);
}

/* Dropped: the peer is gone, too slow, or the worker stops. */
void
park_drop(struct park *pk, struct parked *p)
{
	park_release(pk, p, CONN_CLOSE);
}

/* Answered, every byte out. */
void
park_done(struct park *pk, struct parked *p)
{
	park_release(pk, p, pk->draining ? CONN_CLOSE : p->keep);
}

static void
park_reap(struct park *pk)
{
	struct parked	*p;

	while ((p = pk->dead) != NULL) {
		pk->dead = p->next;
		free(p->out);
		free(p->nick);
		free(p);
	}
}

static int
park_take(struct park *pk, struct parked *p)
{
	struct epoll_event	ev = { .events = EPOLLRDHUP, .data.ptr = p };

	/* Every write here is MSG_DONTWAIT: the fd's own mode is left be.
	 * A held connection is in the epoll set already. */
	p->heapi = UINT32_MAX;
	if (!p->held)
		p->ev = ev.events;
	if ((!p->held && epoll_ctl(pk->ep, EPOLL_CTL_ADD, p->fd, &ev) == -1) ||
	    heap_push(pk, p) == -1) {
		p->room = -1;
		close(p->fd);
		park_forget(pk, p);
		return -1;
	}
	__atomic_store_n(&pk->nparked, pk->nparked + 1, __ATOMIC_RELEASE);
	if (pk->nparked == 1) {	/* the waker may be idle: it is needed now */
		pthread_mutex_lock(&pk->mu);
		pthread_cond_signal(&pk->busy);
		pthread_mutex_unlock(&pk->mu);
	}
	p->prev = NULL;
	p->next = pk->rooms[p->room];
	if (p->next != NULL)
		p->next->prev = p;
	else {
		pk->active_at[p->room] = pk->nactive;
		pk->active[pk->nactive++] = (uint32_t)p->room;
	}
	pk->rooms[p->room] = p;
	segment_listeners_add(pk->sg, pk->slot, p->room, 1);
	if (p->kind == PARK_STREAM)
		__atomic_add_fetch(&pk->sg->hdr->c.streams, 1, __ATOMIC_RELAXED);
	parked_schedule(pk, p);
	return 0;
}

/* Takes the incoming requests; true if stopping. */
static bool
park_incoming(struct park *pk)
{
	struct parked	*p, *next;
	bool		 stop;

	drain_fd(pk->efd);
	pthread_mutex_lock(&pk->mu);
	p = pk->incoming;
	pk->incoming = NULL;
	stop = pk->stop;
	pthread_mutex_unlock(&pk->mu);
	for (; p != NULL; p = next) {
		next = p->next;
		if (park_take(pk, p) == 0)	/* events may have come since */
			park_deliver(pk, p->room, p);
	}
	return stop;
}

/* The segment changed: deliver in every room whose window moved. */
static void
park_changed(struct park *pk)
{
	drain_fd(pk->wfd);
	for (uint32_t i = pk->nactive; i-- > 0;) {	/* a room may leave */
		uint32_t	r = pk->active[i];
		struct window	w;
		uint64_t	last, purged, rid;

		segment_window(pk->sg, (int)r, &w);
		last = window_last(&w);
		purged = __atomic_load_n(&w.hdr->purged, __ATOMIC_ACQUIRE);
		rid = segment_room_rid(pk->sg, (int)r);
		if (last == pk->seen[r] && purged == pk->seen_purged[r] &&
		    rid == pk->seen_rid[r])
			continue;
		pk->seen[r] = last;
		pk->seen_purged[r] = purged;
		pk->seen_rid[r] = rid;
		if (park_deliver(pk, (int)r, NULL) > 0)	/* one sample a wake */
			metrics_delivered(pk->sg, 0, __atomic_load_n(
			    &pk->sg->rooms[r].last_event, __ATOMIC_RELAXED));
	}
}

/* Once a second: parked nicks stay present; expired ones leave. */
static void
park_tick(struct park *pk)
{
	int64_t	now = event_now_ms();

	for (uint32_t i = 0; i < pk->nheap; i++) {
		struct parked *p = pk->heap[i];
		if (p->nick != NULL && p->room >= 0 &&
		    p->rid == segment_room_rid(pk->sg, p->room))
			store_presence_touch(pk->st, p->room, p->nick, now);
	}
	store_presence_sweep(pk->st, now, opt.grace * 1000LL);
	segment_sweep(pk->sg, now, opt.room_ttl * 1000, SWEEP_ROOMS);
}

static void
park_event(struct park *pk, struct parked *p, uint32_t events)
{
	if (p->dead)
		return;
	if (p->idle) {
		park_serve(pk, p);
		return;
	}
	if (p->outoff < p->outlen && (events & EPOLLOUT)) {
		int rc = parked_flush(p);
		if (rc == -1) {
			park_drop(pk, p);
			return;
		}
		if (rc == 1) {
			if (p->closing) {
				park_done(pk, p);
				return;
			}
			park_watch(pk, p, false);
		}
	}
	/* The web server's client went away (nginx closes the connection;
	 * it sends nothing else while a request is open). */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		park_drop(pk, p);
}

/* SIGTERM: answer every long-poll, end every stream, flush briefly. */
static void
park_drain(struct park *pk)
{
	struct epoll_event	evs[EPOLL_BATCH];
	int64_t			now = mono_ms(), until = now + STOP_FLUSH_MS;

	pk->draining = true;	/* answered connections are closed now */
	while (pk->idle != NULL) {
		struct parked *p = pk->idle;
		idle_unlink(pk, p);
		close(p->fd);
		park_forget(pk, p);
	}

	struct parked		**all;
	uint32_t		 n = pk->nheap;

	if (n > 0 && (all = malloc(n * sizeof *all)) != NULL) {
		memcpy(all, pk->heap, n * sizeof *all);
		for (uint32_t i = 0; i < n; i++)
			if (!all[i]->closing) {
				all[i]->end = now;
				park_timer(pk, all[i], now);
			}
		free(all);
	}
	park_reap(pk);
	while (pk->nparked > 0 && (now = mono_ms()) < until) {
		int k = epoll_wait(pk->ep, evs, EPOLL_BATCH, (int)(until - now));
		for (int i = 0; i < k; i++)
			if (evs[i].data.ptr != NULL && evs[i].data.ptr != pk)
				park_event(pk, evs[i].data.ptr, evs[i].events);
		park_reap(pk);
	}
	while (pk->nheap > 0)	/* readers too slow even now: let go */
		park_drop(pk, pk->heap[0]);
	park_reap(pk);
}

void *
park_run(void *arg)
{
	struct park		*pk = arg;
	struct epoll_event	 evs[EPOLL_BATCH];
	int64_t			 every = opt.grace * 500LL, now, tick;
	bool			 stop = false;

	if (every > TICK_MS)
		every = TICK_MS;
	if (every < 100)
		every = 100;
	tick = mono_ms() + every;
	while (!stop) {
		int	timeout, n;

		now = mono_ms();
		timeout = (int)(tick - now);
		if (pk->nheap > 0 && pk->heap[0]->due - now < timeout)
			timeout = (int)(pk->heap[0]->due - now);
		n = epoll_wait(pk->ep, evs, EPOLL_BATCH, timeout < 0 ? 0 :
		    timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				stop = park_incoming(pk);
			else if (evs[i].data.ptr == pk)
				park_changed(pk);
			else
				park_event(pk, evs[i].data.ptr, evs[i].events);
		}
		now = mono_ms();
		while (pk->nheap > 0 && pk->heap[0]->due <= now)
			park_timer(pk, pk->heap[0], now);
		if (now >= tick) {
			park_tick(pk);
			tick = now + every;
		}
		park_reap(pk);
	}
	park_drain(pk);
	park_reap(pk);
	return NULL;
}
