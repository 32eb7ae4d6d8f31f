/*
 * test_segment.c: the shm segment and its lock with real processes:
 * contiguous ids under concurrent writers and a lock-free reader, a writer
 * killed holding the lock, segments of another layout or of garbage, file
 * modes, the room table, purge, the change counter.
 * Each case uses its own segment unit-PID-N; main unlinks them all.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "event.h"
#include "segment.h"
#include "store.h"
#include "window.h"

#define WRITERS		4
#define PER_WRITER	10000
#define TOTAL		(WRITERS * PER_WRITER)
#define MAX_NAMES	64

static char	names[MAX_NAMES][48];	/* every segment made, for cleanup */
static int	nnames;

struct concurrent {		/* shared by the processes of one case */
	int64_t		pub[WRITERS][PER_WRITER];	/* ids publishers got */
	int		pub_errno[WRITERS];
	uint8_t		seen[TOTAL + 1];	/* times the reader saw an id */
	uint64_t	missed;		/* ids the reader lost to a gap */
	uint64_t	reads;
	uint64_t	gaps;
	char		reader_fail[256];
	int		writers_done;	/* set once every writer exited */
	uint64_t	whole_reads;	/* whole-window reads of the hammer */
	uint64_t	whole_events;
	uint64_t	whole_nonempty;	/* reads that returned events */
	char		hammer_fail[256];
};

static const char *new_name(void);
static double	now_s(void);
static int	open_seg(struct segment *, const char *, uint32_t, uint32_t,
		    uint32_t, bool, char *, size_t);
static int64_t	publish_text(struct segment *, const char *, const char *,
		    const char *);
static size_t	writer_text(int, int, char *, size_t);
static int	reader_check_event(const char *, size_t, uint64_t,
		    int *, char *, size_t);
static void	reader_run(const char *, int, struct concurrent *);
static void	writer_run(const char *, int, struct concurrent *);
static void	hammer_run(const char *, int, struct concurrent *);

/* A fresh segment name, remembered so main can unlink it. */
static const char *
new_name(void)
{
	char	*n = names[nnames];

	snprintf(n, sizeof(names[0]), "unit-%d-%d", (int)getpid(), nnames);
	if (nnames < MAX_NAMES - 1)
		nnames++;
	return n;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
open_seg(struct segment *sg, const char *name, uint32_t rooms,
    uint32_t window, uint32_t max_text, bool create, char *err, size_t errlen)
{
	struct segment_opts	o;

	memset(&o, 0, sizeof(o));
	o.name = name;
	o.rooms = rooms;
	o.window = window;
	o.max_text = max_text;
	o.create = create;
	err[0] = '\0';
	return segment_open(sg, &o, err, errlen);
}

static int64_t
publish_text(struct segment *sg, const char *room, const char *nick,
    const char *text)
{
	struct event	ev;
	int64_t		ts = 0;

	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_MESSAGE;
	ev.room = room;
	ev.nick = nick;
	ev.text = text;
	ev.textlen = strlen(text);
	return segment_publish(sg, &ev, &ts);
}

/* The text writer w sends as its i-th message: "w:i:" and filler. */
static size_t
writer_text(int w, int i, char *buf, size_t len)
{
	int	n = snprintf(buf, len, "%d:%d:", w, i);
	int	fill = (i * 7 + w) % 60;

	memset(buf + n, 'a' + (i % 26), (size_t)fill);
	buf[n + fill] = '\0';
	return (size_t)(n + fill);
}

/*
 * One event as the reader got it: whole JSON whose id is the index id,
 * whose text is what its writer sent, in each writer's own order.
 */
static int
reader_check_event(const char *p, size_t len, uint64_t id, int *lasti,
    char *why, size_t whylen)
{
	struct json_object	*o, *v;
	char			 want[128], nick[16];
	int			 w, i, rc = -1;

	if ((o = parse_len(p, len)) == NULL) {
		snprintf(why, whylen, "id %llu: not JSON: %.*s",
		    (unsigned long long)id, (int)(len > 100 ? 100 : len), p);
		return -1;
	}
	if (!json_object_object_get_ex(o, "id", &v) ||
	    (uint64_t)json_object_get_int64(v) != id) {
		snprintf(why, whylen, "id %llu: id field differs",
		    (unsigned long long)id);
		goto out;
	}
	if (!json_object_object_get_ex(o, "text", &v) ||
	    sscanf(json_object_get_string(v), "%d:%d:", &w, &i) != 2 ||
	    w < 0 || w >= WRITERS || i < 0 || i >= PER_WRITER) {
		snprintf(why, whylen, "id %llu: bad text", (unsigned long long)id);
		goto out;
	}
	writer_text(w, i, want, sizeof(want));
	snprintf(nick, sizeof(nick), "w%d", w);
	if (strcmp(json_object_get_string(v), want) != 0 ||
	    !json_object_object_get_ex(o, "nick", &v) ||
	    strcmp(json_object_get_string(v), nick) != 0 ||
	    !json_object_object_get_ex(o, "room", &v) ||
	    strcmp(json_object_get_string(v), "lobby") != 0) {
		snprintf(why, whylen, "id %llu: torn event",
		    (unsigned long long)id);
		goto out;
	}
	if (i <= lasti[w]) {
		snprintf(why, whylen, "id %llu: writer %d out of order",
		    (unsigned long long)id, w);
		goto out;
	}
	lasti[w] = i;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Reads room 'lobby' with its own cursor until it has seen TOTAL. */
static void
reader_run(const char *name, int ri, struct concurrent *c)
{
	struct segment		 sg;
	struct window_out	 out;
	char			 err[256];
	uint64_t		 cursor = 0, want;
	int			 lasti[WRITERS] = { -1, -1, -1, -1 };
	double			 deadline = now_s() + 120;

	if (open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == -1) {
		snprintf(c->reader_fail, sizeof(c->reader_fail), "open: %s",
		    err);
		_exit(1);
	}
	if (window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == -1)
		_exit(1);
	while (cursor < TOTAL) {
		uint32_t	seen = segment_change(&sg);
		size_t		i;

		if (now_s() > deadline) {
			snprintf(c->reader_fail, sizeof(c->reader_fail),
			    "stuck at cursor %llu",
			    (unsigned long long)cursor);
			_exit(1);
		}
		if (segment_read(&sg, ri, cursor, &out) == -1)
			continue;	/* EAGAIN: writers kept rewriting */
		c->reads++;
		if (out.reset || out.last < cursor) {
			snprintf(c->reader_fail, sizeof(c->reader_fail),
			    "reset at cursor %llu, last %llu",
			    (unsigned long long)cursor,
			    (unsigned long long)out.last);
			_exit(1);
		}
		if (out.n == 0) {
			if (!out.gap && out.last == cursor)
				segment_wait(&sg, seen, 100);
			continue;
		}
		want = cursor + 1;
		if (out.gap) {
			c->gaps++;
			if (out.ev[0].id <= want) {
				snprintf(c->reader_fail,
				    sizeof(c->reader_fail),
				    "gap but id %llu follows cursor %llu",
				    (unsigned long long)out.ev[0].id,
				    (unsigned long long)cursor);
				_exit(1);
			}
			c->missed += out.ev[0].id - want;
			want = out.ev[0].id;
		}
		for (i = 0; i < out.n; i++, want++) {
			const struct window_ev *ev = &out.ev[i];

			if (ev->id != want || ev->id > TOTAL) {
				snprintf(c->reader_fail,
				    sizeof(c->reader_fail),
				    "got id %llu, want %llu",
				    (unsigned long long)ev->id,
				    (unsigned long long)want);
				_exit(1);
			}
			if (reader_check_event(out.buf + ev->off, ev->len,
			    ev->id, lasti, c->reader_fail,
			    sizeof(c->reader_fail)) == -1)
				_exit(1);
			c->seen[ev->id]++;
		}
		cursor = out.ev[out.n - 1].id;
		if (out.last < cursor) {
			snprintf(c->reader_fail, sizeof(c->reader_fail),
			    "last %llu below returned %llu",
			    (unsigned long long)out.last,
			    (unsigned long long)cursor);
			_exit(1);
		}
	}
	_exit(0);
}

/*
 * Reads the whole window (cursor 0) again and again while the writers
 * overwrite its oldest bytes: every event handed back must be whole. The
 * check is on bytes, cheap enough to read often: {"id":N, in front and
 * the text its writer sent.
 */
static void
hammer_run(const char *name, int ri, struct concurrent *c)
{
	struct segment		 sg;
	struct window_out	 out;
	char			 err[256], want[160], text[128];
	size_t			 i, tl;

	if (open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == -1 ||
	    window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == -1)
		_exit(1);
	while (!__atomic_load_n(&c->writers_done, __ATOMIC_ACQUIRE)) {
		if (segment_read(&sg, ri, 0, &out) == -1)
			continue;
		c->whole_reads++;
		for (i = 0; i < out.n; i++) {
			const struct window_ev	*ev = &out.ev[i];
			const char		*p = out.buf + ev->off, *t;
			int			 n, w, k;

			n = snprintf(want, sizeof(want), "{\"id\":%llu,",
			    (unsigned long long)ev->id);
			t = memmem(p, ev->len, "\"text\":\"", 8);
			if ((i > 0 && ev->id != out.ev[i - 1].id + 1) ||
			    ev->len < (size_t)n + 2 ||
			    memcmp(p, want, (size_t)n) != 0 ||
			    p[ev->len - 1] != '}' || t == NULL ||
			    sscanf(t + 8, "%d:%d:", &w, &k) != 2 ||
			    w < 0 || w >= WRITERS || k < 0 ||
			    k >= PER_WRITER)
				goto torn;
			tl = writer_text(w, k, text, sizeof(text));
			n = snprintf(want, sizeof(want), "\"text\":\"%s\"}",
			    text);
			if ((size_t)(p + ev->len - t) != (size_t)n ||
			    memcmp(t, want, (size_t)n) != 0 || tl == 0)
				goto torn;
			continue;
torn:
			snprintf(c->hammer_fail, sizeof(c->hammer_fail),
			    "torn event %llu: %.*s", (unsigned long long)ev->id,
			    (int)(ev->len > 120 ? 120 : ev->len), p);
			_exit(1);
		}
		c->whole_events += out.n;
		c->whole_nonempty += out.n > 0;
	}
	_exit(0);
}

static void
writer_run(const char *name, int w, struct concurrent *c)
{
	struct segment	sg;
	struct event	ev;
	char		err[256], text[128], nick[16];
	int		i;

	if (open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == -1)
		_exit(1);
	snprintf(nick, sizeof(nick), "w%d", w);
	for (i = 0; i < PER_WRITER; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = EVENT_MESSAGE;
		ev.room = "lobby";
		ev.nick = nick;
		ev.text = text;
		ev.textlen = writer_text(w, i, text, sizeof(text));
		if ((c->pub[w][i] = segment_publish(&sg, &ev, NULL)) == -1) {
			c->pub_errno[w] = errno;
			_exit(1);
		}
	}
	segment_close(&sg);
	_exit(0);
}

/*
 * 4 processes x 10,000 publishes to one room while a fifth reads it
 * lock-free: ids 1..40,000 each handed out once, each writer's ids
 * increasing; the reader sees every id it did not lose to a gap, in
 * order, each event whole (its JSON id is the index id).
 */
static int
segment_publishes_contiguous_ids_across_processes(void)
{
	struct segment		 sg;
	struct concurrent	*c;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256];
	uint8_t			*got;
	pid_t			 pids[WRITERS + 2];
	int			 ri, w, i, st, ok = 1;
	uint64_t		 seen = 0, id;

	CHECK(open_seg(&sg, name, 16, 0, 0, true, err, sizeof(err)) == 0);
	CHECK(sg.hdr->cap == SEGMENT_WINDOW_DEFAULT);
	CHECK((ri = segment_room_get(&sg, "lobby")) >= 0);
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(c != MAP_FAILED);
	CHECK((pids[WRITERS] = fork()) != -1);
	if (pids[WRITERS] == 0)
		reader_run(name, ri, c);
	CHECK((pids[WRITERS + 1] = fork()) != -1);
	if (pids[WRITERS + 1] == 0)
		hammer_run(name, ri, c);
	for (w = 0; w < WRITERS; w++) {
		CHECK((pids[w] = fork()) != -1);
		if (pids[w] == 0)
			writer_run(name, w, c);
	}
	for (w = 0; w <= WRITERS + 1; w++) {
		if (w == WRITERS)
			__atomic_store_n(&c->writers_done, 1,
			    __ATOMIC_RELEASE);
		CHECK(waitpid(pids[w], &st, 0) == pids[w]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "%s %d: status %d errno %d %s%s\n",
			    w < WRITERS ? "writer" : "reader", w, st,
			    w < WRITERS ? c->pub_errno[w] : 0,
			    w == WRITERS ? c->reader_fail : "",
			    w == WRITERS + 1 ? c->hammer_fail : "");
			ok = 0;
		}
	}
	fprintf(stderr, "whole-window reader: %llu reads, %llu with events, "
	    "%llu events\n", (unsigned long long)c->whole_reads,
	    (unsigned long long)c->whole_nonempty,
	    (unsigned long long)c->whole_events);
	CHECK(c->whole_nonempty > 0);
	CHECK(ok);
	/* publishers: each id once, each writer's own ids increasing */
	CHECK((got = calloc(TOTAL + 1, 1)) != NULL);
	for (w = 0; w < WRITERS; w++)
		for (i = 0; i < PER_WRITER; i++) {
			id = (uint64_t)c->pub[w][i];
			if (id < 1 || id > TOTAL || got[id]++ != 0 ||
			    (i > 0 && c->pub[w][i] <= c->pub[w][i - 1]))
				ok = 0;
		}
	free(got);
	CHECK(ok);
	/* reader: nothing twice, and everything it did not lose by gap */
	for (id = 1; id <= TOTAL; id++) {
		CHECK(c->seen[id] <= 1);
		seen += c->seen[id];
	}
	fprintf(stderr, "reader: %llu seen, %llu missed in %llu gaps, "
	    "%llu reads\n", (unsigned long long)seen,
	    (unsigned long long)c->missed, (unsigned long long)c->gaps,
	    (unsigned long long)c->reads);
	CHECK(seen + c->missed == TOTAL);
	CHECK(c->seen[TOTAL] == 1);
	/* the room now: last 40,000, the newest 1024 (small events) held */
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(segment_read(&sg, ri, 0, &out) == 0);
	CHECK(out.last == TOTAL && out.gap);
	CHECK(out.n == SEGMENT_WINDOW_DEFAULT);
	CHECK(out.ev[0].id == TOTAL - SEGMENT_WINDOW_DEFAULT + 1);
	CHECK(sg.hdr->c.sends == TOTAL);
	CHECK(sg.hdr->owner == 0);
	CHECK(sg.hdr->c.recoveries == 0);	/* nobody died */
	CHECK(sg.hdr->c.lock_timeouts == 0);
	window_out_free(&out);
	munmap(c, sizeof(*c));
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* Forks a child that takes the lock and sleeps holding it. */
static pid_t
fork_lock_holder(const char *name)
{
	struct segment	sg;
	char		err[256], c = 'F';
	int		fds[2];
	pid_t		pid;

	if (pipe(fds) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		if (open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == 0
		    && segment_lock(&sg, 1000) == 0)
			c = 'L';
		if (write(fds[1], &c, 1) != 1 || c != 'L')
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1 || c != 'L') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

/*
 * A writer SIGKILLed while it holds the lock: the next publish takes the
 * lock over within 2 s, and every event stored before is intact.
 */
static int
segment_recovers_lock_of_killed_writer(void)
{
	struct segment		 sg;
	struct window_out	 before, after;
	const char		*name = new_name();
	char			 err[256], text[32];
	pid_t			 pid;
	int64_t			 id;
	double			 t0, took;
	int			 ri, i;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	for (i = 1; i <= 5; i++) {
		snprintf(text, sizeof(text), "before %d", i);
		CHECK(publish_text(&sg, "lobby", "ana", text) == i);
	}
	CHECK((ri = segment_room_find(&sg, "lobby")) >= 0);
	CHECK(window_out_alloc(&before, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(window_out_alloc(&after, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(segment_read(&sg, ri, 0, &before) == 0 && before.n == 5);

	CHECK((pid = fork_lock_holder(name)) > 0);
	CHECK(sg.hdr->owner == pid);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, NULL, 0) == pid);

	t0 = now_s();
	id = publish_text(&sg, "lobby", "bo", "after the crash");
	took = now_s() - t0;
	fprintf(stderr, "publish after the kill took %.3f s\n", took);
	CHECK(id == 6);
	CHECK(took < 2.0);
	CHECK(sg.hdr->c.recoveries == 1);
	CHECK(sg.hdr->owner == 0);
	/* the lock works normally again: no wait, no second recovery */
	t0 = now_s();
	CHECK(publish_text(&sg, "lobby", "bo", "and again") == 7);
	CHECK(now_s() - t0 < 0.2);
	CHECK(sg.hdr->c.recoveries == 1);

	CHECK(segment_read(&sg, ri, 0, &after) == 0);
	CHECK(after.n == 7 && !after.gap && after.last == 7);
	for (i = 0; i < 5; i++) {
		CHECK(after.ev[i].id == before.ev[i].id);
		CHECK(after.ev[i].len == before.ev[i].len);
		CHECK(memcmp(after.buf + after.ev[i].off,
		    before.buf + before.ev[i].off, before.ev[i].len) == 0);
	}
	for (i = 0; i < 7; i++) {
		struct json_object *o = parse_len(after.buf + after.ev[i].off,
		    after.ev[i].len);
		CHECK(o != NULL);
		json_object_put(o);
	}
	window_out_free(&before);
	window_out_free(&after);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* While a live process holds the lock, others give up with ETIMEDOUT. */
static int
segment_lock_times_out_while_live_owner_holds_it(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	pid_t		pid;
	double		t0;
	int		rc, e;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	CHECK(publish_text(&sg, "lobby", "ana", "one") == 1);
	CHECK((pid = fork_lock_holder(name)) > 0);
	t0 = now_s();
	errno = 0;
	rc = segment_lock(&sg, 300);
	e = errno;
	CHECK(rc == -1 && e == ETIMEDOUT);
	CHECK(now_s() - t0 < 2.0);
	errno = 0;
	rc = (int)publish_text(&sg, "lobby", "ana", "two");
	e = errno;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(rc == -1 && e == ETIMEDOUT);
	CHECK(sg.hdr->c.lock_timeouts >= 2);
	CHECK(sg.hdr->c.recoveries == 0);
	/* the owner gone, the lock is taken over and "two" gets id 2 */
	CHECK(publish_text(&sg, "lobby", "ana", "two") == 2);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/*
 * Writers killed at random moments of publishing: each time the room
 * stays consistent (ids contiguous, every event whole JSON) and the next
 * publish succeeds within 2 s with the next id.
 */
static int
segment_survives_writers_killed_mid_publish(void)
{
	struct segment		 sg;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256];
	int			 round, ri;
	size_t			 i;
	unsigned int		 seed = (unsigned int)getpid();
	int			 fds[2];
	char			 c;

	CHECK(open_seg(&sg, name, 4, 64, 0, true, err, sizeof(err)) == 0);
	CHECK((ri = segment_room_get(&sg, "lobby")) >= 0);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	for (round = 0; round < 50; round++) {
		uint64_t	last;
		int64_t		id;
		double		t0;
		pid_t		pid;

		CHECK(pipe(fds) == 0);
		CHECK((pid = fork()) != -1);
		if (pid == 0) {
			struct segment	csg;
			char		text[1600];
			int		k;

			close(fds[0]);
			if (open_seg(&csg, name, 0, 0, 0, false, err,
			    sizeof(err)) == -1)
				_exit(1);
			memset(text, '"', sizeof(text) - 1);	/* long copy */
			text[sizeof(text) - 1] = '\0';
			for (k = 0;; k++) {
				struct event ev = { EVENT_MESSAGE, 1, "lobby",
				    "kid", text, strlen(text) };
				int cri;

				/* odd rounds hold the lock while encoding */
				if (round % 2 == 0)
					publish_text(&csg, "lobby", "kid", text);
				else if ((cri = segment_room_get(&csg,
				    "lobby")) >= 0 &&
				    segment_lock(&csg, 1000) == 0) {
					struct window	w;
					char		body[8192];
					ssize_t		bl;

					csg.hdr->owner_room = cri;
					segment_window(&csg, cri, &w);
					bl = event_encode(&ev, body, sizeof body);
					if (bl > 0)
						window_append(&w, ev.type, body,
						    (size_t)bl);
					csg.hdr->owner_room = -1;
					segment_unlock(&csg);
				}
				if (k == 0 && write(fds[1], "P", 1) != 1)
					_exit(1);
			}
		}
		close(fds[1]);
		CHECK(read(fds[0], &c, 1) == 1);	/* it is publishing */
		close(fds[0]);
		usleep(rand_r(&seed) % 3000);
		CHECK(kill(pid, SIGKILL) == 0);
		CHECK(waitpid(pid, NULL, 0) == pid);
		CHECK(segment_read(&sg, ri, 0, &out) == 0);
		last = out.last;
		t0 = now_s();
		id = publish_text(&sg, "lobby", "parent", "still here");
		CHECK(now_s() - t0 < 2.0);
		CHECK(id == (int64_t)last + 1);
		CHECK(segment_read(&sg, ri, 0, &out) == 0);
		CHECK(out.n > 0 && out.last == (uint64_t)id);
		CHECK(out.ev[out.n - 1].id == (uint64_t)id);
		for (i = 0; i < out.n; i++) {
			struct json_object *o, *v;

			CHECK(out.ev[i].id == out.ev[0].id + i);
			o = parse_len(out.buf + out.ev[i].off, out.ev[i].len);
			CHECK(o != NULL);
			CHECK(json_object_object_get_ex(o, "id", &v));
			CHECK((uint64_t)json_object_get_int64(v) ==
			    out.ev[i].id);
			json_object_put(o);
		}
	}
	CHECK(sg.hdr->owner == 0);
	fprintf(stderr, "killed 50 writers, %llu while holding the lock\n",
	    (unsigned long long)sg.hdr->c.recoveries);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/*
 * A segment made with other sizes is refused with a message naming the
 * fix, and left untouched: its own sizes still open it, events intact.
 */
static int
segment_refuses_other_layout_and_leaves_it_intact(void)
{
	struct segment		 sg;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[512];
	int			 ri, i;

	CHECK(open_seg(&sg, name, 4, 64, 0, true, err, sizeof(err)) == 0);
	for (i = 1; i <= 3; i++)
		CHECK(publish_text(&sg, "lobby", "ana", "kept") == i);
	segment_close(&sg);

	CHECK(open_seg(&sg, name, 4, 128, 0, false, err, sizeof(err)) == -1);
	fprintf(stderr, "error: %s\n", err);
	CHECK(strstr(err, "fcometctl") != NULL);
	CHECK(strstr(err, "unlink") != NULL);
	CHECK(open_seg(&sg, name, 4, 128, 0, true, err, sizeof(err)) == -1);
	CHECK(strstr(err, "fcometctl") && strstr(err, "unlink"));
	CHECK(open_seg(&sg, name, 8, 64, 0, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "fcometctl") && strstr(err, "unlink"));
	CHECK(open_seg(&sg, name, 4, 64, 4000, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "fcometctl") && strstr(err, "unlink"));

	/* adopting (sizes 0) or naming its own sizes opens it */
	CHECK(open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == 0);
	CHECK(sg.hdr->cap == 64 && sg.hdr->nrooms == 4);
	CHECK((ri = segment_room_find(&sg, "lobby")) >= 0);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(segment_read(&sg, ri, 0, &out) == 0);
	CHECK(out.n == 3 && out.last == 3);
	CHECK(memmem(out.buf + out.ev[2].off, out.ev[2].len,
	    "\"text\":\"kept\"", 13) != NULL);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(open_seg(&sg, name, 4, 64, EVENT_TEXT_DEFAULT, true, err,
	    sizeof(err)) == 0);
	CHECK(publish_text(&sg, "lobby", "ana", "four") == 4);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* Writes len pseudo-random bytes (xorshift, fixed seed) as the segment. */
static int
write_garbage(const char *name, size_t len, const void *head, size_t hlen)
{
	char		 shm[64];
	unsigned char	*buf;
	uint64_t	 x = 0x9e3779b97f4a7c15ULL;
	size_t		 i;
	int		 fd, rc = -1;

	snprintf(shm, sizeof(shm), "/fcomet-%s", name);
	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	if (head != NULL)
		memcpy(buf, head, hlen < len ? hlen : len);
	if ((fd = shm_open(shm, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1) {
		if (write(fd, buf, len) == (ssize_t)len)
			rc = 0;
		close(fd);
	}
	free(buf);
	return rc;
}

/* Files of random bytes as the segment: a clean error, never a crash. */
static int
segment_rejects_garbage_file_cleanly(void)
{
	static const size_t	 sizes[] = { 10, 4096, 1 << 20 };
	struct segment		 sg;
	const char		*name = new_name();
	char			 err[512];
	size_t			 i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK(write_garbage(name, sizes[i], NULL, 0) == 0);
		CHECK(open_seg(&sg, name, 0, 0, 0, false, err,
		    sizeof(err)) == -1);
		CHECK(err[0] != '\0');
		CHECK(strstr(err, "unlink") != NULL);
		/* create does not adopt nor overwrite it either */
		CHECK(open_seg(&sg, name, 0, 0, 0, true, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "unlink") != NULL);
	}
	fprintf(stderr, "error: %s\n", err);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* The magic right, the sizes absurd: refused, not trusted. */
static int
segment_rejects_header_with_absurd_sizes(void)
{
	struct segment		sg;
	struct segment_hdr	h;
	const char		*name = new_name();
	char			err[512];

	memset(&h, 0xff, sizeof(h));
	h.magic = SEGMENT_MAGIC;
	h.version = SEGMENT_VERSION;
	CHECK(write_garbage(name, 1 << 16, &h, sizeof(h)) == 0);
	CHECK(open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "unlink") != NULL);
	h.nrooms = 1;
	h.cap = 1;
	h.max_text = 1;
	h.ring = 1ULL << 40;
	h.size = 1ULL << 50;
	CHECK(write_garbage(name, 1 << 16, &h, sizeof(h)) == 0);
	CHECK(open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "unlink") != NULL);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* A real segment cut short (its header says more than the file holds). */
static int
segment_rejects_truncated_segment(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[512], shm[64];
	int		fd;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	CHECK(publish_text(&sg, "lobby", "ana", "hi") == 1);
	segment_close(&sg);
	snprintf(shm, sizeof(shm), "/fcomet-%s", name);
	CHECK((fd = shm_open(shm, O_RDWR, 0)) != -1);
	CHECK(ftruncate(fd, 8192) == 0);
	close(fd);
	CHECK(open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "unlink") != NULL);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* Segment and semaphore are 0600 whatever the umask: not world-readable. */
static int
segment_files_are_private(void)
{
	struct segment	sg;
	struct stat	st;
	const char	*name = new_name();
	char		err[256], path[128];
	mode_t		old = umask(0);
	int		rc;

	rc = open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err));
	umask(old);
	CHECK(rc == 0);
	snprintf(path, sizeof(path), "/dev/shm/fcomet-%s", name);
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 07777) == 0600);
	CHECK(st.st_uid == getuid());
	snprintf(path, sizeof(path), "/dev/shm/sem.fcomet-%s.lock", name);
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 07777) == 0600);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == -1 && errno == ENOENT);
	snprintf(path, sizeof(path), "/dev/shm/fcomet-%s", name);
	CHECK(stat(path, &st) == -1 && errno == ENOENT);
	return 0;
}

/* Every record is free or findable by its name; free stacks and counts
 * agree with the records (what a reclaim or a rebuild must keep). */
static int
segment_consistent(struct segment *sg)
{
	const struct segment_hdr	*h = sg->hdr;
	uint32_t			 live = 0;

	for (uint32_t ri = 0; ri < h->nrooms; ri++) {
		if (!segment_room_live(sg, (int)ri))
			continue;
		live++;
		CHECK(segment_room_find(sg, sg->rooms[ri].name) == (int)ri);
	}
	CHECK(live == h->rooms_used);
	CHECK(live + h->nfree_rooms == h->nrooms);
	for (uint32_t k = 1; k < h->nclasses; k++) {
		uint32_t used = 0;
		for (uint32_t ri = 0; ri < h->nrooms; ri++)
			used += segment_room_live(sg, (int)ri) &&
			    sg->rooms[ri].region >> 28 == k;
		CHECK(used + h->cls[k].nfree == h->cls[k].count);
	}
	return 0;
}

/*
 * The index full: a new room takes the place of the least recently used
 * room nobody listens to (one that never held a message first); with a
 * listener in every room it is refused (ENOSPC, room_full), and it gets
 * in as soon as one room has none. A reclaimed room comes back at id 1.
 */
static int
segment_reclaims_least_used_room_when_full(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	int		e, ra, rb, rc;

	CHECK(open_seg(&sg, name, 3, 16, 0, true, err, sizeof(err)) == 0);
	CHECK(publish_text(&sg, "a", "ana", "x") == 1);
	usleep(2000);
	CHECK(publish_text(&sg, "b", "ana", "x") == 1);
	CHECK(publish_text(&sg, "b", "ana", "y") == 2);
	usleep(2000);
	CHECK((rc = segment_room_get(&sg, "soft")) >= 0);	/* read only */
	CHECK(publish_text(&sg, "c", "ana", "x") == 1);	/* soft goes first */
	CHECK(segment_room_find(&sg, "soft") == -1);
	CHECK((ra = segment_room_find(&sg, "a")) >= 0);
	CHECK((rb = segment_room_find(&sg, "b")) >= 0);
	CHECK(publish_text(&sg, "d", "ana", "x") == 1);	/* then the oldest */
	CHECK(segment_room_find(&sg, "a") == -1);
	CHECK(sg.hdr->c.reclaims == 2);
	CHECK(segment_consistent(&sg) == 0);

	rc = segment_room_find(&sg, "c");
	CHECK(rc >= 0 && segment_room_find(&sg, "d") >= 0);
	segment_listeners_add(&sg, 0, rb, 1);
	segment_listeners_add(&sg, 0, rc, 1);
	segment_listeners_add(&sg, 1, segment_room_find(&sg, "d"), 1);
	errno = 0;
	CHECK(publish_text(&sg, "e", "ana", "x") == -1);
	e = errno;
	CHECK(e == ENOSPC);
	CHECK(sg.hdr->c.room_full == 1);
	CHECK(segment_room_get(&sg, "e") == -1);
	CHECK(publish_text(&sg, "b", "ana", "z") == 3);	/* rooms still work */

	segment_listeners_clear(&sg, 1);	/* d's worker died */
	CHECK(segment_listeners(&sg, rb) == 1);
	CHECK(publish_text(&sg, "a", "ana", "again") == 1);
	CHECK(segment_room_find(&sg, "d") == -1);
	CHECK(segment_consistent(&sg) == 0);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/*
 * The sweep gives back a room with no listener and no event for the TTL
 * (a read-only room after SEGMENT_SOFT_TTL_MS), never one with a
 * listener, and ttl 0 keeps rooms that held messages.
 */
static int
segment_sweep_gives_back_idle_rooms(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	int64_t		now;
	int		rl;

	CHECK(open_seg(&sg, name, 16, 16, 0, true, err, sizeof(err)) == 0);
	CHECK(publish_text(&sg, "old", "ana", "x") == 1);
	CHECK(publish_text(&sg, "heard", "ana", "x") == 1);
	CHECK(segment_room_get(&sg, "soft") >= 0);
	CHECK((rl = segment_room_find(&sg, "heard")) >= 0);
	segment_listeners_add(&sg, 0, rl, 1);
	now = event_now_ms();
	CHECK(segment_sweep(&sg, now, 0, 16) == 0);
	CHECK(segment_sweep(&sg, now + SEGMENT_SOFT_TTL_MS + 1000, 0, 16) == 1);
	CHECK(segment_room_find(&sg, "soft") == -1);
	CHECK(segment_sweep(&sg, now + 3000, 2000, 16) == 1);
	CHECK(segment_room_find(&sg, "old") == -1);
	CHECK(segment_room_find(&sg, "heard") == rl);
	CHECK(publish_text(&sg, "old", "ana", "back") == 1);
	CHECK(segment_consistent(&sg) == 0);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/*
 * A room fills its windows class by class up to --window: every id held
 * in order, texts whole; with the larger classes all taken a room keeps
 * its class and drops its oldest; a message too large for its class takes
 * a region back from the least recently used room (which keeps its newest
 * events in its class 0).
 */
static int
segment_moves_rooms_through_size_classes(void)
{
	struct segment		 sg;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256], text[64], big[1500];
	int			 ri;

	CHECK(open_seg(&sg, name, 2, 300, 0, true, err, sizeof(err)) == 0);
	CHECK(sg.hdr->nclasses == 4 && sg.hdr->cls[3].cap == 300);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	for (int i = 1; i <= 400; i++) {
		snprintf(text, sizeof text, "m%d", i);
		CHECK(publish_text(&sg, "big", "ana", text) == i);
	}
	CHECK((ri = segment_room_find(&sg, "big")) >= 0);
	CHECK(sg.rooms[ri].region >> 28 == 3 && sg.hdr->c.moves == 3);
	CHECK(segment_read(&sg, ri, 0, &out) == 0);
	CHECK(out.n == 300 && out.ev[0].id == 101 && out.last == 400);
	for (size_t i = 0; i < out.n; i++) {
		snprintf(text, sizeof text, "\"text\":\"m%llu\"",
		    (unsigned long long)out.ev[i].id);
		CHECK(out.ev[i].id == 101 + i);
		CHECK(memmem(out.buf + out.ev[i].off, out.ev[i].len, text,
		    strlen(text)) != NULL);
	}
	/* both regions of every class above 0 are taken: "two" moves into
	 * the other three, then stays in class 3 */
	for (int i = 1; i <= 400; i++)
		CHECK(publish_text(&sg, "two", "ana", "x") == i);
	CHECK(sg.hdr->c.moves == 6);
	CHECK(segment_consistent(&sg) == 0);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);

	name = new_name();	/* 200 rooms: 64 regions of class 1, of 2 */
	CHECK(open_seg(&sg, name, 200, 64, 0, true, err, sizeof(err)) == 0);
	for (int r = 0; r < 200; r++) {
		snprintf(text, sizeof text, "r%d", r);
		for (int i = 1; i <= 40; i++)
			CHECK(publish_text(&sg, text, "ana", "x") == i);
	}
	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(publish_text(&sg, "r199", "ana", big) == 41);
	CHECK(sg.hdr->c.steals == 1);
	CHECK(segment_read(&sg, segment_room_find(&sg, "r199"), 39, &out) == 0);
	CHECK(out.n == 2 && out.ev[1].id == 41);
	CHECK(segment_read(&sg, segment_room_find(&sg, "r64"), 0, &out) == 0);
	CHECK(out.n >= 1 && out.last == 40 && out.ev[out.n - 1].id == 40);
	CHECK(segment_consistent(&sg) == 0);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/*
 * Writers killed at random moments while they churn rooms (each new room
 * reclaims one) and grow windows: the rooms with a listener keep every id
 * in order, the next publish takes the next id within 2 s, and the
 * records, index and free stacks stay consistent.
 */
static int
segment_survives_writers_killed_mid_reclaim(void)
{
	struct segment		 sg;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256];
	unsigned int		 seed = (unsigned int)getpid();
	uint64_t		 last[2] = { 0, 0 };
	int			 keep[2];

	CHECK(open_seg(&sg, name, 8, 64, 0, true, err, sizeof(err)) == 0);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK((keep[0] = segment_room_get(&sg, "keep0")) >= 0);
	CHECK((keep[1] = segment_room_get(&sg, "keep1")) >= 0);
	segment_listeners_add(&sg, 0, keep[0], 1);
	segment_listeners_add(&sg, 0, keep[1], 1);
	for (int round = 0; round < 40; round++) {
		int	fds[2];
		char	c;
		pid_t	pid;

		CHECK(pipe(fds) == 0);
		CHECK((pid = fork()) != -1);
		if (pid == 0) {
			struct segment	csg;
			char		room[32];

			close(fds[0]);
			if (open_seg(&csg, name, 0, 0, 0, false, err,
			    sizeof(err)) == -1)
				_exit(1);
			for (int k = 0;; k++) {
				snprintf(room, sizeof room, "churn%d", k % 13);
				publish_text(&csg, room, "kid", "churn");
				publish_text(&csg, k % 2 ? "keep1" : "keep0",
				    "kid", "kept");
				if (k == 0 && write(fds[1], "P", 1) != 1)
					_exit(1);
			}
		}
		close(fds[1]);
		CHECK(read(fds[0], &c, 1) == 1);
		close(fds[0]);
		usleep(rand_r(&seed) % 5000);
		CHECK(kill(pid, SIGKILL) == 0);
		CHECK(waitpid(pid, NULL, 0) == pid);
		for (int i = 0; i < 2; i++) {
			double	t0 = now_s();
			int64_t	id;
			CHECK(segment_read(&sg, keep[i], 0, &out) == 0);
			if (out.last < last[i] || out.n == 0)
				fprintf(stderr, "round %d room %d: last %llu, "
				    "was %llu, %zu events, region %#x, owner %d\n",
				    round, i, (unsigned long long)out.last,
				    (unsigned long long)last[i], out.n,
				    sg.rooms[keep[i]].region, sg.hdr->owner_room);
			CHECK(out.last >= last[i] && out.n > 0);
			for (size_t j = 1; j < out.n; j++)
				CHECK(out.ev[j].id == out.ev[j - 1].id + 1);
			CHECK(out.ev[out.n - 1].id == out.last);
			id = publish_text(&sg, i ? "keep1" : "keep0", "parent",
			    "still here");
			CHECK(now_s() - t0 < 2.0);
			CHECK(id == (int64_t)out.last + 1);
			last[i] = (uint64_t)id;
		}
		CHECK(segment_lock(&sg, 2000) == 0);	/* a dead owner's */
		segment_unlock(&sg);
		CHECK(segment_consistent(&sg) == 0);
	}
	CHECK(segment_room_find(&sg, "keep0") == keep[0]);
	CHECK(sg.hdr->c.reclaims > 0);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

static int
segment_keeps_rooms_apart(void)
{
	struct segment		 sg;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256];
	int			 ra, rb;

	CHECK(open_seg(&sg, name, 8, 16, 0, true, err, sizeof(err)) == 0);
	CHECK(segment_room_find(&sg, "lobby") == -1);
	{
		struct event	ev = { EVENT_MESSAGE, 0, "lobby", "ana", "1",
				    1 };
		int64_t		t0 = event_now_ms(), ts = 0;

		/* ts 0: the server sets it, and says what it set */
		CHECK(segment_publish(&sg, &ev, &ts) == 1);
		CHECK(ts >= t0 && ts <= event_now_ms());
	}
	CHECK(publish_text(&sg, "lobby", "ana", "2") == 2);
	CHECK(publish_text(&sg, "kitchen", "bo", "k1") == 1);
	CHECK((ra = segment_room_find(&sg, "lobby")) >= 0);
	CHECK((rb = segment_room_find(&sg, "kitchen")) >= 0 && rb != ra);
	CHECK(segment_room_get(&sg, "lobby") == ra);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(segment_read(&sg, rb, 0, &out) == 0);
	CHECK(out.n == 1 && out.last == 1);
	CHECK(memmem(out.buf + out.ev[0].off, out.ev[0].len,
	    "\"room\":\"kitchen\"", 16) != NULL);
	CHECK(segment_read(&sg, ra, 0, &out) == 0 && out.n == 2);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

static int
segment_purge_resets_cursors_and_restarts_ids(void)
{
	struct segment		 sg;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256];
	int			 ri, i;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	for (i = 1; i <= 3; i++)
		CHECK(publish_text(&sg, "lobby", "ana", "x") == i);
	CHECK((ri = segment_room_find(&sg, "lobby")) >= 0);
	CHECK(segment_purge(&sg, ri) == 0);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(segment_read(&sg, ri, 3, &out) == 0);
	CHECK(out.reset && out.n == 0 && out.last == 0);
	CHECK(publish_text(&sg, "lobby", "ana", "again") == 1);
	CHECK(segment_read(&sg, ri, 3, &out) == 0);
	CHECK(out.reset && out.n == 1 && out.ev[0].id == 1);
	CHECK(sg.hdr->owner == 0);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* The change counter moves with every publish; a waiter wakes on it. */
static int
segment_wait_wakes_on_publish(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	uint32_t	c0;
	double		t0;
	pid_t		pid;
	int		rc, e;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	c0 = segment_change(&sg);
	CHECK(publish_text(&sg, "lobby", "ana", "x") == 1);
	CHECK(segment_change(&sg) != c0);
	/* already changed: returns at once */
	t0 = now_s();
	CHECK(segment_wait(&sg, c0, 5000) == 0);
	CHECK(now_s() - t0 < 0.5);
	/* nothing happens: times out */
	c0 = segment_change(&sg);
	t0 = now_s();
	errno = 0;
	rc = segment_wait(&sg, c0, 150);
	e = errno;
	CHECK(rc == -1 && e == ETIMEDOUT);
	CHECK(now_s() - t0 >= 0.14);
	/* another process publishes: the waiter wakes long before 5 s */
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		struct segment csg;

		usleep(200000);
		if (open_seg(&csg, name, 0, 0, 0, false, err, sizeof(err)) ==
		    -1 || publish_text(&csg, "lobby", "bo", "y") != 2)
			_exit(1);
		_exit(0);
	}
	t0 = now_s();
	do
		rc = segment_wait(&sg, c0, 5000);
	while (rc == -1 && errno == EINTR);
	CHECK(rc == 0);
	CHECK(now_s() - t0 < 2.0);
	CHECK(waitpid(pid, &rc, 0) == pid && WIFEXITED(rc) &&
	    WEXITSTATUS(rc) == 0);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* Processes that all create the segment at once: one makes it, all share
 * it, ids stay contiguous. */
static int
segment_open_races_create(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	int64_t		*ids;
	pid_t		pids[6];
	int		i, st, ok = 1;
	uint8_t		got[7] = { 0 };

	ids = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ids != MAP_FAILED);
	for (i = 0; i < 6; i++) {
		CHECK((pids[i] = fork()) != -1);
		if (pids[i] == 0) {
			struct segment	csg;

			if (open_seg(&csg, name, 4, 16, 0, true, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "open: %s\n", err);
				_exit(1);
			}
			ids[i] = publish_text(&csg, "lobby", "ana", "x");
			ids[8 + i] = csg.hdr->epoch;
			_exit(ids[i] > 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 6; i++) {
		CHECK(waitpid(pids[i], &st, 0) == pids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			ok = 0;
	}
	CHECK(ok);
	for (i = 0; i < 6; i++) {
		CHECK(ids[i] >= 1 && ids[i] <= 6 && got[ids[i]]++ == 0);
		CHECK(ids[8 + i] == ids[8]);
	}
	CHECK(open_seg(&sg, name, 0, 0, 0, false, err, sizeof(err)) == 0);
	CHECK(sg.hdr->epoch == ids[8] && sg.hdr->c.sends == 6);
	segment_close(&sg);
	munmap(ids, 4096);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* A nick present stores one join; past the grace period, one leave. */
static int
segment_presence_joins_once_and_leaves_after_grace(void)
{
	static const char	*want[][2] = {
		{ "join", "bo" }, { "join", "ana" }, { "leave", "bo" },
	};
	struct segment		 sg;
	struct store		*st;
	struct window_out	 out;
	const char		*name = new_name();
	char			 err[256];
	char			 nicks[SEGMENT_PRESENCE][EVENT_NICK_BYTES + 1];
	int			 ri;
	size_t			 i;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	CHECK((ri = segment_room_get(&sg, "lobby")) >= 0);
	CHECK((st = store_open(&sg, NULL, NULL, err, sizeof err)) != NULL);
	CHECK(store_presence_touch(st, ri, "bo", 1000) == 1);
	CHECK(store_presence_touch(st, ri, "ana", 1500) == 1);
	CHECK(store_presence_touch(st, ri, "ana", 2000) == 0);
	CHECK(segment_who(&sg, ri, nicks, SEGMENT_PRESENCE) == 2);
	CHECK(strcmp(nicks[0], "ana") == 0 && strcmp(nicks[1], "bo") == 0);
	CHECK(store_presence_sweep(st, 5000, 10000) == 0);
	/* bo last held at 1000, ana at 2000: at 11500 only bo has left */
	CHECK(store_presence_sweep(st, 11500, 10000) == 1);
	store_close(st);
	CHECK(segment_who(&sg, ri, nicks, SEGMENT_PRESENCE) == 1);
	CHECK(strcmp(nicks[0], "ana") == 0);
	CHECK(window_out_alloc(&out, sg.hdr->cap, sg.hdr->ring) == 0);
	CHECK(segment_read(&sg, ri, 0, &out) == 0);
	CHECK(out.n == 3);
	/* ids in order of storing: join bo, join ana, leave bo */
	for (i = 0; i < out.n; i++) {
		struct json_object *o, *v;

		CHECK(out.ev[i].id == i + 1);
		CHECK((o = parse_len(out.buf + out.ev[i].off,
		    out.ev[i].len)) != NULL);
		CHECK(json_object_object_get_ex(o, "type", &v));
		CHECK(strcmp(json_object_get_string(v), want[i][0]) == 0);
		CHECK(json_object_object_get_ex(o, "nick", &v));
		CHECK(strcmp(json_object_get_string(v), want[i][1]) == 0);
		CHECK(!json_object_object_get_ex(o, "text", &v));
		json_object_put(o);
	}
	CHECK(sg.hdr->c.joins == 2 && sg.hdr->c.leaves == 1);
	window_out_free(&out);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/* 5 a second with bursts of 10, per address. */
static int
segment_rate_limits_each_address_after_burst(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	int		i, retry = 0;

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	for (i = 0; i < 10; i++)
		CHECK(segment_rate_take(&sg, "192.0.2.1", 5, 10, 1000,
		    &retry) == 0);
	CHECK(segment_rate_take(&sg, "192.0.2.1", 5, 10, 1000, &retry) == 1);
	CHECK(retry >= 1);
	CHECK(segment_rate_take(&sg, "2001:db8::1", 5, 10, 1000,
	    &retry) == 0);
	/* 200 ms later one token came back, and only one */
	CHECK(segment_rate_take(&sg, "192.0.2.1", 5, 10, 1200, &retry) == 0);
	CHECK(segment_rate_take(&sg, "192.0.2.1", 5, 10, 1200, &retry) == 1);
	CHECK(sg.hdr->c.rate_limited == 2);
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

/*
 * What one address parks, over workers: up to max per address, others
 * apart, freed places come back, a dead worker's counts cleared; and 4
 * processes entering the same new address at once (as workers do) share
 * one entry, so the cap counts them all.
 */
static int
segment_caps_what_one_address_parks(void)
{
	struct segment	sg;
	const char	*name = new_name();
	char		err[256];
	int		e[4], got = 0, st;
	int		fds[2], go[2];

	CHECK(open_seg(&sg, name, 4, 16, 0, true, err, sizeof(err)) == 0);
	for (int i = 0; i < 3; i++)
		CHECK((e[i] = segment_addr_enter(&sg, i, "192.0.2.7", 3)) >= 0);
	CHECK(e[0] == e[1] && e[1] == e[2]);
	errno = 0;
	CHECK(segment_addr_enter(&sg, 0, "192.0.2.7", 3) == -1);
	CHECK(errno == EBUSY);
	CHECK(segment_addr_enter(&sg, 0, "192.0.2.8", 3) >= 0);
	segment_addr_leave(&sg, 1, e[1]);
	CHECK(segment_addr_enter(&sg, 0, "192.0.2.7", 3) >= 0);
	segment_listeners_clear(&sg, 0);	/* worker 0 died */
	CHECK(segment_addr_enter(&sg, 5, "192.0.2.7", 3) >= 0);
	CHECK(segment_addr_enter(&sg, 5, "192.0.2.7", 3) >= 0);
	CHECK(segment_addr_enter(&sg, 5, "192.0.2.7", 3) == -1);

	/* 4 processes let go at once on 300 new addresses, in step */
	CHECK(pipe(fds) == 0 && pipe(go) == 0);
	for (int w = 0; w < 4; w++) {
		pid_t pid = fork();
		CHECK(pid != -1);
		if (pid == 0) {
			struct segment	csg;
			char		c, a[32];
			int		n = 0;
			if (open_seg(&csg, name, 0, 0, 0, false, err,
			    sizeof(err)) == -1 || read(go[0], &c, 1) != 1)
				_exit(1);
			for (int i = 0; i < 300; i++) {
				snprintf(a, sizeof a, "198.51.100.%d", i);
				if (segment_addr_enter(&csg, 10 + w, a, 8) >= 0)
					n++;
				else
					fprintf(stderr, "%s: %s\n", a, strerror(errno));
			}
			_exit(write(fds[1], &n, sizeof n) == sizeof n ? 0 : 1);
		}
	}
	close(fds[1]);
	CHECK(write(go[1], "gggg", 4) == 4);
	for (int w = 0; w < 4; w++) {
		int n;
		CHECK(read(fds[0], &n, sizeof n) == sizeof n);
		got += n;
	}
	close(fds[0]);
	close(go[0]);
	close(go[1]);
	while (wait(&st) > 0)
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (got != 4 * 300)
		fprintf(stderr, "got %d\n", got);
	CHECK(got == 4 * 300);
	for (int i = 0; i < 300; i++) {	/* one entry an address */
		char a[32];
		int entries = 0;
		snprintf(a, sizeof a, "198.51.100.%d", i);
		uint64_t tag = segment_hash64(a, (uint64_t)sg.hdr->epoch) | 1;
		for (int k = 0; k < SEGMENT_ADDRS; k++)
			entries += sg.addrs[k].tag == tag;
		CHECK(entries == 1);
	}
	segment_close(&sg);
	CHECK(segment_unlink(name, err, sizeof(err)) == 0);
	return 0;
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "segment_files_are_private", segment_files_are_private },
		{ "segment_keeps_rooms_apart", segment_keeps_rooms_apart },
		{ "segment_reclaims_least_used_room_when_full",
		    segment_reclaims_least_used_room_when_full },
		{ "segment_sweep_gives_back_idle_rooms",
		    segment_sweep_gives_back_idle_rooms },
		{ "segment_moves_rooms_through_size_classes",
		    segment_moves_rooms_through_size_classes },
		{ "segment_survives_writers_killed_mid_reclaim",
		    segment_survives_writers_killed_mid_reclaim },
		{ "segment_purge_resets_cursors_and_restarts_ids",
		    segment_purge_resets_cursors_and_restarts_ids },
		{ "segment_wait_wakes_on_publish",
		    segment_wait_wakes_on_publish },
		{ "segment_open_races_create", segment_open_races_create },
		{ "segment_presence_joins_once_and_leaves_after_grace",
		    segment_presence_joins_once_and_leaves_after_grace },
		{ "segment_caps_what_one_address_parks",
		    segment_caps_what_one_address_parks },
		{ "segment_rate_limits_each_address_after_burst",
		    segment_rate_limits_each_address_after_burst },
		{ "segment_refuses_other_layout_and_leaves_it_intact",
		    segment_refuses_other_layout_and_leaves_it_intact },
		{ "segment_rejects_garbage_file_cleanly",
		    segment_rejects_garbage_file_cleanly },
		{ "segment_rejects_header_with_absurd_sizes",
		    segment_rejects_header_with_absurd_sizes },
		{ "segment_rejects_truncated_segment",
		    segment_rejects_truncated_segment },
		{ "segment_recovers_lock_of_killed_writer",
		    segment_recovers_lock_of_killed_writer },
		{ "segment_lock_times_out_while_live_owner_holds_it",
		    segment_lock_times_out_while_live_owner_holds_it },
		{ "segment_survives_writers_killed_mid_publish",
		    segment_survives_writers_killed_mid_publish },
		{ "segment_publishes_contiguous_ids_across_processes",
		    segment_publishes_contiguous_ids_across_processes },
		{ NULL, NULL }
	};
	char	err[256];
	int	rc, i;

	alarm(600);	/* a hang is a failure, not a stuck make check */
	rc = check_run(cases);
	for (i = 0; i < nnames; i++)
		segment_unlink(names[i], err, sizeof(err));
	return rc;
}
