/*
 * inspect.c: fcometctl's commands that read the segment as it is, lock-free:
 * stat (with --prometheus), rooms, dump and tail.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ctl.h"
#include "event.h"
#include "metrics.h"

#define CTL_WAIT_MS	1000	/* tail: futex wait, then look at the flag */

static volatile sig_atomic_t	 ctl_stop;

static void
ctl_stop_set(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

/* Counters of the header, as JSON members of o. */
static void
stat_counters(struct json_object *o, const struct segment_counters *c)
{
	for (size_t i = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *m = &metrics_counters[i];
		if (m->in & METRICS_CTL)
			json_object_object_add(o, m->name,
			    json_object_new_uint64(metrics_value(c, m)));
	}
}

/* The arena, class by class: events a window, regions, regions in use. */
static struct json_object *
stat_arena(void)
{
	const struct segment_hdr	*h = ctl.sg.hdr;
	struct json_object		*a = json_object_new_array();

	for (uint32_t k = 0; k < h->nclasses; k++) {
		const struct segment_class *c = &h->cls[k];
		struct json_object *o = json_object_new_object();
		uint32_t used = k == 0 ? h->rooms_used : c->count - c->nfree;
		json_object_object_add(o, "window", json_object_new_int64(c->cap));
		json_object_object_add(o, "ring", json_object_new_uint64(c->ring));
		json_object_object_add(o, "regions",
		    json_object_new_int64(c->count));
		json_object_object_add(o, "used", json_object_new_int64(used));
		json_object_array_add(a, o);
	}
	return a;
}

/* Events held in all rooms, and the rooms that hold some. */
static uint64_t
stat_events(uint32_t *nonempty)
{
	uint64_t	total = 0, first, last, held;
	uint32_t	r;

	*nonempty = 0;
	for (r = 0; r < ctl.sg.hdr->nrooms; r++) {
		if (!segment_room_live(&ctl.sg, (int)r))
			continue;
		ctl_room_ids((int)r, &first, &last, &held);
		total += held;
		*nonempty += held > 0;
	}
	return total;
}

static void
stat_json(const struct segment_hdr *h, uint64_t events, pid_t owner,
    bool alive)
{
	struct json_object	*o, *c;

	o = json_object_new_object();
	json_object_object_add(o, "segment",
	    json_object_new_string(ctl.sg.name));
	json_object_object_add(o, "size", json_object_new_uint64(h->size));
	json_object_object_add(o, "version",
	    json_object_new_int64(h->version));
	json_object_object_add(o, "epoch", json_object_new_int64(h->epoch));
	json_object_object_add(o, "rooms_used",
	    json_object_new_int64(h->rooms_used));
	json_object_object_add(o, "rooms", json_object_new_int64(h->nrooms));
	json_object_object_add(o, "window", json_object_new_int64(h->cap));
	json_object_object_add(o, "ring", json_object_new_uint64(h->ring));
	json_object_object_add(o, "max_text",
	    json_object_new_int64(h->max_text));
	json_object_object_add(o, "events", json_object_new_uint64(events));
	json_object_object_add(o, "lock_owner", json_object_new_int64(owner));
	json_object_object_add(o, "lock_owner_alive",
	    json_object_new_boolean(alive));
	json_object_object_add(o, "change",
	    json_object_new_int64(segment_change(&ctl.sg)));
	json_object_object_add(o, "sleepers", json_object_new_int64(
	    __atomic_load_n(&h->sleepers, __ATOMIC_RELAXED)));
	json_object_object_add(o, "index_slots",
	    json_object_new_int64(h->index_size));
	json_object_object_add(o, "arena", stat_arena());
	c = json_object_new_object();
	stat_counters(c, &h->c);
	json_object_object_add(o, "counters", c);
	ctl_json(o);
}

static void
stat_text(const struct segment_hdr *h, uint64_t events, uint32_t nonempty,
    pid_t owner, bool alive)
{
	const struct segment_counters	*c = &h->c;
	char				 when[40];

	ctl_time(h->epoch, when, sizeof when);
	printf("segment     %s\n", ctl.sg.name);
	printf("size        %" PRIu64 " bytes (%.1f MiB)\n", h->size,
	    (double)h->size / (1 << 20));
	printf("layout      version %u\n", h->version);
	printf("epoch       %s (%" PRId64 ")\n", when, h->epoch);
	printf("rooms       %u used of %u (index of %u slots), %u holding "
	    "events\n", h->rooms_used, h->nrooms, h->index_size, nonempty);
	printf("window      %u events a room at most, text up to %u bytes\n",
	    h->cap, h->max_text);
	for (uint32_t k = 0; k < h->nclasses; k++) {
		const struct segment_class *a = &h->cls[k];
		printf("%s%5u events, ring %7" PRIu64 " bytes: %u of %u "
		    "regions used\n", k ? "            " : "arena       ",
		    a->cap, a->ring, k == 0 ? h->rooms_used : a->count -
		    a->nfree, a->count);
	}
	printf("events      %" PRIu64 " stored\n", events);
	if (owner == 0)
		printf("lock        free\n");
	else
		printf("lock        held by pid %ld (%s)\n", (long)owner,
		    alive ? "alive" : "dead: the next writer takes it over");
	printf("change      %u, %u waiting on it\n", segment_change(&ctl.sg),
	    __atomic_load_n(&h->sleepers, __ATOMIC_RELAXED));
	printf("counters   ");
	for (size_t i = 0, n = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *m = &metrics_counters[i];
		if (!(m->in & METRICS_CTL))
			continue;
		printf("%s %s %" PRIu64, n == 0 ? "" : n % 4 == 0 ?
		    ",\n           " : ",", m->name, metrics_value(c, m));
		n++;
	}
	printf("\n");
}

/* stat: what the segment is and what it holds. */
void
cmd_stat(char **argv)
{
	const struct segment_hdr	*h;
	uint64_t			 events;
	uint32_t			 nonempty;
	pid_t				 owner;
	bool				 alive;

	(void)argv;
	ctl_open(false);
	h = ctl.sg.hdr;
	if (ctl.prometheus) {	/* what GET /metrics answers, from here */
		size_t	 len;
		char	*text = metrics_text(&ctl.sg, ctl.memcached ?
			    "memcached" : "shm", -1, &len);
		if (text == NULL)
			err(1, "metrics");
		fwrite(text, 1, len, stdout);
		free(text);
		return;
	}
	events = stat_events(&nonempty);
	owner = __atomic_load_n(&h->owner, __ATOMIC_RELAXED);
	alive = owner > 0 && (kill(owner, 0) == 0 || errno == EPERM);
	if (ctl.json)
		stat_json(h, events, owner, alive);
	else
		stat_text(h, events, nonempty, owner, alive);
}

struct ctl_row {			/* one room, as rooms lists it */
	int		r;
	uint64_t	first, last, held;
	uint32_t	listeners;
	int64_t		idle_s;		/* since the last event (or creation) */
};

/* By name; with --top, most events (listeners) first; with --idle,
 * longest idle first. */
static int
rows_cmp(const void *a, const void *b)
{
	const struct ctl_row	*x = a, *y = b;

	if (ctl.top && ctl.by_listeners && x->listeners != y->listeners)
		return x->listeners > y->listeners ? -1 : 1;
	if (ctl.top && !ctl.by_listeners && x->held != y->held)
		return x->held > y->held ? -1 : 1;
	if (ctl.idle && x->idle_s != y->idle_s)
		return x->idle_s > y->idle_s ? -1 : 1;
	return strcmp(ctl.sg.rooms[x->r].name, ctl.sg.rooms[y->r].name);
}

/* rooms: the rooms of the segment, sorted and filtered as asked. */
void
cmd_rooms(char **argv)
{
	struct json_object	*o;
	struct ctl_row		*rows;
	int64_t			 now = event_now_ms();
	size_t			 n = 0;

	(void)argv;
	ctl_open(false);
	if ((rows = calloc(ctl.sg.hdr->nrooms, sizeof *rows)) == NULL)
		err(1, "calloc");
	for (uint32_t r = 0; r < ctl.sg.hdr->nrooms; r++) {
		const struct segment_room *sr = &ctl.sg.rooms[r];
		struct ctl_row *w = &rows[n];
		int64_t since = sr->last_event ? sr->last_event : sr->created;
		if (!segment_room_live(&ctl.sg, (int)r))
			continue;
		w->r = (int)r;
		w->listeners = segment_listeners(&ctl.sg, (int)r);
		if (ctl.idle && w->listeners > 0)
			continue;
		ctl_room_ids((int)r, &w->first, &w->last, &w->held);
		w->idle_s = now > since ? (now - since) / 1000 : 0;
		n++;
	}
	qsort(rows, n, sizeof *rows, rows_cmp);
	if (ctl.top && n > ctl.top)
		n = ctl.top;
	if (!ctl.json)
		printf("%-32s %10s %10s %6s %9s %8s\n", "ROOM", "FIRST", "LAST",
		    "HELD", "LISTENERS", "IDLE_S");
	for (size_t i = 0; i < n; i++) {
		const struct ctl_row *w = &rows[i];
		const char *name = ctl.sg.rooms[w->r].name;
		if (!ctl.json) {
			printf("%-32s %10" PRIu64 " %10" PRIu64 " %6" PRIu64
			    " %9u %8" PRId64 "\n", name, w->first, w->last,
			    w->held, w->listeners, w->idle_s);
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "room", json_object_new_string(name));
		json_object_object_add(o, "first",
		    json_object_new_uint64(w->first));
		json_object_object_add(o, "last", json_object_new_uint64(w->last));
		json_object_object_add(o, "held", json_object_new_uint64(w->held));
		json_object_object_add(o, "listeners",
		    json_object_new_int64(w->listeners));
		json_object_object_add(o, "idle_s",
		    json_object_new_int64(w->idle_s));
		ctl_json(o);
	}
	free(rows);
}

/* Takes rooms' --idle, --top N and --by KEY out of the words after it. */
void
rooms_args(int *argc, char **argv)
{
	int	i, n = 1;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--idle") == 0)
			ctl.idle = true;
		else if (strcmp(argv[i], "--top") == 0 && i + 1 < *argc)
			ctl.top = ctl_number(argv[++i], "--top", 1,
			    SEGMENT_ROOMS_LIMIT);
		else if (strcmp(argv[i], "--by") == 0 && i + 1 < *argc) {
			i++;
			if (strcmp(argv[i], "listeners") == 0)
				ctl.by_listeners = true;
			else if (strcmp(argv[i], "events") != 0) {
				fprintf(stderr, "fcometctl: --by events or "
				    "listeners\n");
				ctl_usage(2);
			}
		} else
			argv[n++] = argv[i];
	}
	*argc = n;
}

/* dump ROOM [--since N]: the events the room holds, oldest first. */
void
cmd_dump(char **argv)
{
	size_t	i;
	int	r;

	ctl_open(false);
	r = ctl_room(argv[0]);
	ctl_out();
	if (segment_read(&ctl.sg, r, ctl.since, &ctl.out) == -1)
		err(1, "read %s", argv[0]);
	if (ctl.out.gap && ctl.since_set)
		warnx("events after %" PRIu64 " are gone from the window",
		    ctl.since);
	for (i = 0; i < ctl.out.n; i++)
		ctl_event(ctl.out.buf + ctl.out.ev[i].off, ctl.out.ev[i].len);
}

/*
 * Prints what the room holds after cursor; returns the next cursor. After
 * a purge (the room's purged count moved) it starts again from id 0, even
 * if the new ids already passed the cursor; a read that a purge overlapped
 * is done again.
 */
static uint64_t
tail_read(int r, uint64_t cursor, uint64_t *purged)
{
	struct window_out	*out = &ctl.out;
	struct window		 w;
	uint64_t		 p;
	size_t			 i;

	segment_window(&ctl.sg, r, &w);
	do {
		p = __atomic_load_n(&w.hdr->purged, __ATOMIC_ACQUIRE);
		if (segment_read(&ctl.sg, r, p != *purged ? 0 : cursor,
		    out) == -1)
			err(1, "read %s", ctl.sg.rooms[r].name);
	} while (__atomic_load_n(&w.hdr->purged, __ATOMIC_ACQUIRE) != p);
	if (p != *purged)
		warnx("room %s was purged: ids start again", ctl.sg.rooms[r].name);
	else if (out->gap)
		warnx("missed events: the window moved past %" PRIu64, cursor);
	*purged = p;
	for (i = 0; i < out->n; i++)
		ctl_event(out->buf + out->ev[i].off, out->ev[i].len);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	if (out->n > 0)
		return out->ev[out->n - 1].id;
	return out->reset ? out->last : out->cursor;
}

/*
 * tail ROOM: every event stored from now on, as it comes. Sleeps on the
 * segment's futex word; a signal ends the wait at once or, if it came just
 * before it, after CTL_WAIT_MS.
 */
void
cmd_tail(char **argv)
{
	struct sigaction	 sa;
	struct window		 w;
	uint64_t		 cursor = 0, purged = 0, first, held;
	uint32_t		 seen;
	int			 r;

	ctl_room_check(argv[0]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_stop_set;	/* no SA_RESTART: futex gets EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ctl_open(false);
	ctl_out();
	if ((r = segment_room_find(&ctl.sg, argv[0])) != -1) {
		segment_window(&ctl.sg, r, &w);
		purged = __atomic_load_n(&w.hdr->purged, __ATOMIC_ACQUIRE);
		ctl_room_ids(r, &first, &cursor, &held);
	}
	while (!ctl_stop) {
		seen = segment_change(&ctl.sg);
		if (r == -1)
			r = segment_room_find(&ctl.sg, argv[0]);
		if (r != -1)
			cursor = tail_read(r, cursor, &purged);
		if (ctl_stop)
			break;
		if (segment_wait(&ctl.sg, seen, CTL_WAIT_MS) == -1 &&
		    errno != ETIMEDOUT && errno != EINTR)
			err(1, "wait on %s", ctl.sg.name);
	}
}

/* Takes dump's --since N (or --since=N) out of the words after the verb. */
void
since_args(int *argc, char **argv)
{
	const char	*v;
	int		 i, n = 1;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--since") == 0) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "fcometctl: --since needs N\n");
				ctl_usage(2);
			}
			v = argv[++i];
		} else if (strncmp(argv[i], "--since=", 8) == 0)
			v = argv[i] + 8;
		else {
			argv[n++] = argv[i];
			continue;
		}
		ctl.since = ctl_number(v, "--since", 0, EVENT_ID_MAX);
		ctl.since_set = true;
	}
	*argc = n;
}
