/*
 * rooms_bench.c: is finding a room O(1) in the number of rooms?
 *
 * One run, two segments of --rooms 100000 (the default): one holding the
 * 10 hot rooms only, one holding them and 99,990 idle rooms (a message
 * each). Rounds of SECS seconds (argument 1, default 0.2) alternate
 * between the two, ROUNDS times (argument 2, default 10): open
 * (segment_room_get of a hot room), send (segment_publish to a hot room),
 * listen (segment_read of a hot room from its last id but one). Prints
 * the best operations a second of each and the ratio 10 rooms / 100,000
 * rooms. Exit 1 if an operation fails.
 *
 * rooms_bench --fill NAME N: store a message in each of N rooms idle0 ...
 * of the running fcomet's segment NAME, as a send would (tests/bench/run
 * --rooms fills the segment so before each case).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "segment.h"
#include "window.h"

#define HOT		10
#define ROOMS		100000
#define CHUNK		1000	/* operations between two looks at the clock */

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
publish(struct segment *sg, const char *room)
{
	struct event	ev = { EVENT_MESSAGE, 0, room, "bench", "hello", 5 };

	if (segment_publish(sg, &ev, NULL) == -1)
		err(1, "publish %s", room);
}

/* Operations a second of op (0 open, 1 send, 2 listen) on the hot rooms. */
static double
run(struct segment *sg, int op, double secs, struct window_out *out)
{
	char		hot[HOT][16];
	uint64_t	n = 0;
	double		t0 = now_s(), t;

	for (int i = 0; i < HOT; i++)
		snprintf(hot[i], sizeof hot[i], "hot%d", i);
	do {
		for (int k = 0; k < CHUNK; k++, n++) {
			const char *room = hot[n % HOT];
			int ri;
			if (op == 1) {
				publish(sg, room);
				continue;
			}
			if ((ri = segment_room_get(sg, room)) == -1)
				err(1, "open %s", room);
			if (op == 2) {
				struct window w;
				segment_window(sg, ri, &w);
				if (segment_read(sg, ri, window_last(&w) - 1,
				    out) == -1 || out->n != 1)
					errx(1, "listen %s: %zu events", room,
					    out->n);
			}
		}
	} while ((t = now_s() - t0) < secs);
	return (double)n / t;
}

static int
fill(const char *name, long n)
{
	struct segment_opts	o = { .name = name };
	struct segment		sg;
	char			why[256], room[32];

	if (segment_open(&sg, &o, why, sizeof why) == -1)
		errx(1, "%s", why);
	for (long i = 0; i < n; i++) {
		snprintf(room, sizeof room, "idle%ld", i);
		publish(&sg, room);
	}
	printf("# %s: %u rooms in a segment of %.1f MiB\n", name,
	    sg.hdr->rooms_used, (double)sg.hdr->size / (1 << 20));
	segment_close(&sg);
	return 0;
}

int
main(int argc, char **argv)
{
	static const char	*ops[] = { "open", "send", "listen" };
	double			 secs = argc > 1 ? atof(argv[1]) : 0.2;
	int			 rounds = argc > 2 ? atoi(argv[2]) : 10;
	double			 rate[2][3] = { { 0 } };
	char			 why[256], name[2][64], room[32];
	struct segment		 sg[2];
	struct window_out	 out;

	if (argc == 4 && strcmp(argv[1], "--fill") == 0)
		return fill(argv[2], atol(argv[3]));
	for (int s = 0; s < 2; s++) {
		struct segment_opts	o = { .name = name[s], .create = true };

		snprintf(name[s], sizeof name[s], "bench-rooms-%d-%d",
		    (int)getpid(), s);
		if (segment_open(&sg[s], &o, why, sizeof why) == -1)
			errx(1, "%s", why);
		for (int i = 0; i < HOT; i++) {
			snprintf(room, sizeof room, "hot%d", i);
			publish(&sg[s], room);
		}
		for (int i = 0; s == 1 && i < ROOMS - HOT; i++) {
			snprintf(room, sizeof room, "idle%d", i);
			publish(&sg[s], room);
		}
		printf("# segment %.1f MiB, %u rooms in it\n",
		    (double)sg[s].hdr->size / (1 << 20), sg[s].hdr->rooms_used);
	}
	if (window_out_alloc(&out, sg[0].hdr->cap, sg[0].hdr->ring) == -1)
		err(1, "window_out_alloc");
	/* Rounds alternate between the two: the best of each is what the
	 * machine gave when nothing else ran. */
	for (int r = 0; r < rounds; r++)
		for (int op = 0; op < 3; op++)
			for (int s = 0; s < 2; s++) {
				double v = run(&sg[s], op, secs, &out);
				if (v > rate[s][op])
					rate[s][op] = v;
			}
	printf("%-8s %14s %14s %8s\n", "op", "10 rooms/s", "100000 rooms/s",
	    "ratio");
	for (int op = 0; op < 3; op++)
		printf("%-8s %14.0f %14.0f %7.2fx\n", ops[op], rate[0][op],
		    rate[1][op], rate[0][op] / rate[1][op]);
	window_out_free(&out);
	for (int s = 0; s < 2; s++) {
		segment_close(&sg[s]);
		segment_unlink(name[s], why, sizeof why);
	}
	return 0;
}
