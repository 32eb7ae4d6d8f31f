/*
 * window_bench.c: how fast events go into a room's window and come out.
 *
 * From one run: inserts a second with window_append on malloc'ed memory
 * (the baseline), through the shm segment with its semaphore (one writer,
 * segment_publish of a prepared event; the same without the JSON encoding;
 * two writer processes), and reads a second of a lock-free reader taking
 * the newest events while a writer runs. Each figure stops after -n
 * inserts or -t seconds, whichever comes first. Exit 1 if a figure is
 * wrong (ids not contiguous, torn reads), not if it is slow.
 */
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "segment.h"
#include "window.h"

#define BENCH_CHECK	1024	/* inserts between two looks at the clock */
#define BENCH_NEWEST	16	/* events a read takes */
#define BENCH_WRITERS	2

struct bench {
	uint64_t		 count;		/* -n: inserts at most */
	double			 secs;		/* -t: seconds at most */
	uint32_t		 window;	/* -w: events per room */
	char			 name[48];	/* segment NAME */
	struct segment		 sg;
	struct event		 ev;		/* the prepared event */
	char			 body[1024];	/* its JSON without id */
	size_t			 len;
	double			 base;		/* baseline inserts/s */
	int			 bad;		/* wrong results seen */
};

struct bench_shared {		/* MAP_SHARED between parent and children */
	volatile int	stop;
	uint64_t	done[BENCH_WRITERS + 1];
};

static double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_print(struct bench *b, const char *what, double n, double secs,
    const char *unit)
{
	double	rate = n / secs;

	printf("%-46s %12.0f %s/s  %6.3fx baseline  (%.0f in %.3f s)\n", what,
	    rate, unit, rate / b->base, n, secs);
	fflush(stdout);
}

/* The baseline: window_append of prepared bytes, no lock, no shm. */
static void
bench_baseline(struct bench *b)
{
	struct window	 w;
	void		*region;
	uint64_t	 ring = b->sg.hdr->ring, n = 0;
	double		 t0, t, stop = b->secs;

	if ((region = malloc(window_region_size(b->window, ring))) == NULL)
		err(1, "malloc");
	window_init(&w, region, b->window, ring);
	t0 = bench_now();
	for (t = 0; n < b->count; ) {
		if (window_append(&w, EVENT_MESSAGE, b->body, b->len) == -1)
			err(1, "window_append");
		if (++n % BENCH_CHECK == 0 && (t = bench_now() - t0) >= stop)
			break;
	}
	t = bench_now() - t0;
	if (window_last(&w) != n)
		b->bad++, warnx("baseline: last id %" PRIu64 ", not %" PRIu64,
		    window_last(&w), n);
	b->base = (double)n / t;
	bench_print(b, "window_append, malloc'ed buffer (baseline)",
	    (double)n, t, "inserts");
	free(region);
}

/* segment_publish of the prepared event until count or secs or *stop. */
static uint64_t
bench_publish(struct bench *b, uint64_t count, volatile int *stop)
{
	uint64_t	n = 0;
	int64_t		ts;
	double		t0 = bench_now();

	while (n < count && (stop == NULL || !*stop)) {
		if (segment_publish(&b->sg, &b->ev, &ts) == -1)
			err(1, "segment_publish");
		if (++n % BENCH_CHECK == 0 && bench_now() - t0 >= b->secs)
			break;
	}
	return n;
}

/* The last id of a room, which is what it got if it started empty. */
static uint64_t
bench_last(struct bench *b, const char *room)
{
	struct window	w;
	int		r;

	if ((r = segment_room_find(&b->sg, room)) == -1)
		return 0;
	segment_window(&b->sg, r, &w);
	return window_last(&w);
}

/* One writer process (this one) through the segment. */
static void
bench_one(struct bench *b)
{
	uint64_t	n;
	double		t0, t;

	b->ev.room = "one";
	t0 = bench_now();
	n = bench_publish(b, b->count, NULL);
	t = bench_now() - t0;
	if (bench_last(b, "one") != n)
		b->bad++, warnx("one writer: ids not contiguous");
	bench_print(b, "segment_publish, 1 writer", (double)n, t, "inserts");
}

/* The same, with the JSON made once: lock, window_append, unlock, notify. */
static void
bench_prepared(struct bench *b)
{
	struct window	w;
	uint64_t	n = 0;
	double		t0, t;
	int		r;

	if ((r = segment_room_get(&b->sg, "prepared")) == -1)
		err(1, "segment_room_get");
	segment_window(&b->sg, r, &w);
	t0 = bench_now();
	while (n < b->count) {
		if (segment_lock(&b->sg, 1500) == -1)
			err(1, "segment_lock");
		if (window_append(&w, EVENT_MESSAGE, b->body, b->len) == -1)
			err(1, "window_append");
		segment_unlock(&b->sg);
		segment_notify(&b->sg);
		if (++n % BENCH_CHECK == 0 && bench_now() - t0 >= b->secs)
			break;
	}
	t = bench_now() - t0;
	if (window_last(&w) != n)
		b->bad++, warnx("prepared: ids not contiguous");
	bench_print(b, "segment lock+window_append of prepared JSON",
	    (double)n, t, "inserts");
}

/* Where the time of a publish goes: the encoding, the lock round trip. */
static void
bench_parts(struct bench *b)
{
	char		buf[1024];
	uint64_t	n;
	double		t0, t;

	t0 = bench_now();
	for (n = 0; n < b->count; ) {
		if (event_encode(&b->ev, buf, sizeof buf) == -1)
			err(1, "event_encode");
		if (++n % BENCH_CHECK == 0 && bench_now() - t0 >= b->secs)
			break;
	}
	t = bench_now() - t0;
	bench_print(b, "  part: event_encode (json-c) alone", (double)n, t,
	    "encodes");
	t0 = bench_now();
	for (n = 0; n < b->count; ) {
		if (segment_lock(&b->sg, 1500) == -1)
			err(1, "segment_lock");
		segment_unlock(&b->sg);
		segment_notify(&b->sg);
		if (++n % BENCH_CHECK == 0 && bench_now() - t0 >= b->secs)
			break;
	}
	t = bench_now() - t0;
	bench_print(b, "  part: segment_lock+unlock+notify alone", (double)n,
	    t, "rounds ");
}

/*
 * Forks a writer that waits for EOF on gate[0] (if gate is not NULL),
 * publishes and leaves with _exit: no atexit, no flush.
 */
static pid_t
bench_fork(struct bench *b, const int *gate, struct bench_shared *sh,
    int slot, uint64_t count)
{
	pid_t	pid;
	char	c;

	fflush(stdout);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid != 0)
		return pid;
	if (gate != NULL) {
		close(gate[1]);		/* or EOF never comes */
		if (read(gate[0], &c, 1) == -1)
			_exit(1);
	}
	sh->done[slot] = bench_publish(b, count, &sh->stop);
	_exit(0);
}

static void
bench_reap(pid_t pid)
{
	int	status;

	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "writer %ld failed", (long)pid);
}

/* Two writer processes on one room, started at once through a pipe. */
static void
bench_two(struct bench *b, struct bench_shared *sh)
{
	pid_t		pid[BENCH_WRITERS];
	uint64_t	n = 0;
	double		t0, t;
	int		gate[2], i;

	b->ev.room = "two";
	memset(sh, 0, sizeof *sh);
	if (pipe(gate) == -1)
		err(1, "pipe");
	for (i = 0; i < BENCH_WRITERS; i++)
		pid[i] = bench_fork(b, gate, sh, i, b->count / BENCH_WRITERS);
	close(gate[0]);
	t0 = bench_now();
	close(gate[1]);
	for (i = 0; i < BENCH_WRITERS; i++)
		bench_reap(pid[i]);
	t = bench_now() - t0;
	for (i = 0; i < BENCH_WRITERS; i++)
		n += sh->done[i];
	if (bench_last(b, "two") != n)
		b->bad++, warnx("two writers: last id %" PRIu64 ", %" PRIu64
		    " stored", bench_last(b, "two"), n);
	bench_print(b, "segment_publish, 2 writer processes", (double)n, t,
	    "inserts");
}

/* A read must hold contiguous ids, each record the JSON of its id. */
static int
bench_read_check(const struct window_out *out)
{
	char	pre[40];
	size_t	i, plen;

	for (i = 0; i < out->n; i++) {
		const struct window_ev *e = &out->ev[i];

		if (i > 0 && e->id != out->ev[i - 1].id + 1)
			return -1;
		plen = (size_t)snprintf(pre, sizeof pre, "{\"id\":%" PRIu64 ",",
		    e->id);
		if (e->len < plen || memcmp(out->buf + e->off, pre, plen) != 0 ||
		    out->buf[e->off + e->len - 1] != '}')
			return -1;
	}
	return 0;
}

/* Reads the newest events for secs while one writer process publishes. */
static void
bench_reader(struct bench *b, struct bench_shared *sh)
{
	struct window_out	out;
	struct window		w;
	uint64_t		reads = 0, got = 0, last;
	pid_t			pid;
	double			t0, t;
	int			r;

	b->ev.room = "read";
	memset(sh, 0, sizeof *sh);
	if ((r = segment_room_get(&b->sg, "read")) == -1)
		err(1, "segment_room_get");
	segment_window(&b->sg, r, &w);
	if (window_out_alloc(&out, b->sg.hdr->cap, b->sg.hdr->ring) == -1)
		err(1, "window_out_alloc");
	pid = bench_fork(b, NULL, sh, BENCH_WRITERS, UINT64_MAX);
	t0 = bench_now();
	while (window_last(&w) < BENCH_NEWEST) {
		if (bench_now() - t0 > 10)
			errx(1, "reader: the writer stored nothing in 10 s");
		segment_wait(&b->sg, segment_change(&b->sg), 100);
	}
	t0 = bench_now();
	while ((t = bench_now() - t0) < b->secs && reads < b->count) {
		last = window_last(&w);
		if (segment_read(&b->sg, r, last - BENCH_NEWEST, &out) == -1)
			err(1, "segment_read");
		if (bench_read_check(&out) == -1)
			b->bad++, warnx("reader: a read came back torn");
		got += out.n;
		reads++;
	}
	sh->stop = 1;
	bench_reap(pid);
	bench_print(b, "segment_read of the newest 16, 1 writer on",
	    (double)reads, t, "reads  ");
	printf("%-46s %12.1f events a read; writer meanwhile %.0f inserts/s\n",
	    "", (double)got / (double)reads, (double)sh->done[BENCH_WRITERS] / t);
	window_out_free(&out);
}

/* The segment, and the event every writer publishes. */
static void
bench_setup(struct bench *b)
{
	struct segment_opts	o;
	char			why[256];
	ssize_t			len;
	static const char	text[] = "hola, this is a chat line of a "
				    "typical length: 60 bytes";

	memset(&o, 0, sizeof o);
	snprintf(b->name, sizeof b->name, "bench-%ld", (long)getpid());
	o.name = b->name;
	o.window = b->window;
	o.create = true;
	if (segment_open(&b->sg, &o, why, sizeof why) == -1)
		errx(1, "%s", why);
	b->ev.type = EVENT_MESSAGE;
	b->ev.ts = event_now_ms();
	b->ev.room = "baseline";
	b->ev.nick = "ana";
	b->ev.text = text;
	b->ev.textlen = sizeof text - 1;
	if ((len = event_encode(&b->ev, b->body, sizeof b->body)) == -1)
		err(1, "event_encode");
	b->len = (size_t)len;
}

int
main(int argc, char **argv)
{
	struct bench		 b;
	struct bench_shared	*sh;
	char			 why[256];
	int			 ch;

	memset(&b, 0, sizeof b);
	b.count = 1000000;
	b.secs = 3;
	b.window = SEGMENT_WINDOW_DEFAULT;
	while ((ch = getopt(argc, argv, "n:t:w:")) != -1) {
		switch (ch) {
		case 'n':
			b.count = strtoull(optarg, NULL, 10);
			break;
		case 't':
			b.secs = strtod(optarg, NULL);
			break;
		case 'w':
			b.window = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: window_bench [-n inserts] "
			    "[-t seconds] [-w window]\n");
			return 2;
		}
	}
	if (b.count < BENCH_WRITERS || b.secs <= 0 || b.window < BENCH_NEWEST)
		errx(2, "-n at least 2, -t above 0, -w at least 16");
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		err(1, "mmap");
	bench_setup(&b);
	printf("window_bench: at most %" PRIu64 " inserts and %.1f s a figure; "
	    "window %u, ring %" PRIu64 " bytes, event %zu bytes + id\n",
	    b.count, b.secs, b.window, b.sg.hdr->ring, b.len);
	bench_baseline(&b);
	bench_one(&b);
	bench_prepared(&b);
	bench_parts(&b);
	bench_two(&b, sh);
	bench_reader(&b, sh);
	segment_close(&b.sg);
	if (segment_unlink(b.name, why, sizeof why) == -1)
		warnx("%s", why);
	munmap(sh, sizeof *sh);
	if (b.bad > 0)
		errx(1, "%d wrong results", b.bad);
	return 0;
}
