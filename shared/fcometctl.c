/*
 * fcometctl.c: look at and act on a live fcomet segment /fcomet-NAME.
 *
 * main() parses the options and calls one cmd_*() per verb. Errors end the
 * program with exit 1 and one line on stderr, bad usage with exit 2 and the
 * usage. Output is a table for people, or one JSON object a line (--json).
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "event.h"
#include "log.h"
#include "metrics.h"
#include "segment.h"
#include "store.h"
#include "token.h"
#include "window.h"

#define CTL_LOCK_MS	5000	/* hold-lock: how long to wait for the lock */
#define CTL_WAIT_MS	1000	/* tail: futex wait, then look at the flag */
#define CTL_ROOMS_MAX	SEGMENT_ROOMS_LIMIT
#define CTL_WINDOW_MAX	1048576

struct ctl {
	struct segment_opts	 opts;
	struct segment		 sg;
	bool			 open;	/* sg is attached */
	bool			 json;	/* --json */
	bool			 prometheus;	/* stat --prometheus */
	bool			 since_set;
	uint64_t		 since;	/* dump --since */
	struct window_out	 out;	/* read buffer, for dump and tail */
	const char		*memcached;	/* --memcached servers */
	const char		*mc_prefix;	/* --memcached-prefix */
	struct store		*st;	/* send's store, once opened */
	bool			 out_set;
	bool			 idle;	/* rooms --idle */
	uint64_t		 top;	/* rooms --top N, 0: all */
	bool			 by_listeners;	/* rooms --by listeners */
	struct ctl_token {		/* token's options */
		const char	*key, *alg, *sub;
		const char	*read[TOKEN_GRANTS], *write[TOKEN_GRANTS];
		int		 nread, nwrite;
		uint64_t	 ttl;
	} tk;
};

struct ctl_cmd {
	const char	*name;
	int		 nargs;
	void		(*fn)(char **);
};

static void	usage(int) __attribute__((noreturn));
static void	ctl_cleanup(void);
static void	ctl_open(bool);
static void	ctl_out(void);
static void	ctl_json(struct json_object *);
static uint64_t	ctl_number(const char *, const char *, uint64_t, uint64_t);
static void	ctl_room_check(const char *);
static int	ctl_room(const char *);
static void	ctl_room_ids(int, uint64_t *, uint64_t *, uint64_t *);
static void	ctl_time(int64_t, char *, size_t);
static void	ctl_text(const char *, size_t);
static struct json_object *ctl_parse(const char *, size_t);
static void	ctl_event(const char *, size_t);
static void	ctl_stop_set(int);
static void	cmd_stat(char **);
static void	cmd_rooms(char **);
static void	cmd_dump(char **);
static void	cmd_tail(char **);
static void	cmd_send(char **);
static void	cmd_purge(char **);
static void	cmd_rm(char **);
static void	cmd_unlink(char **);
static void	cmd_hold_lock(char **);
static void	cmd_take_id(char **);
static void	cmd_token(char **);
static struct store *ctl_store(void);
static void	since_args(int *, char **);
static int	ctl_options(int, char **);

static struct ctl		 ctl;
static volatile sig_atomic_t	 ctl_stop;

static const struct ctl_cmd ctl_cmds[] = {
	{ "stat", 0, cmd_stat },
	{ "rooms", 0, cmd_rooms },
	{ "dump", 1, cmd_dump },
	{ "tail", 1, cmd_tail },
	{ "send", 3, cmd_send },
	{ "purge", 1, cmd_purge },
	{ "rm", 1, cmd_rm },
	{ "unlink", 0, cmd_unlink },
	{ "token", 0, cmd_token },
	{ "hold-lock", 1, cmd_hold_lock },	/* test hook, not in usage */
	{ "take-id", 1, cmd_take_id },		/* test hook, not in usage */
	{ NULL, 0, NULL }
};

static const struct option ctl_longopts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "window", required_argument, NULL, 'w' },
	{ "rooms", required_argument, NULL, 'r' },
	{ "max-text", required_argument, NULL, 'm' },
	{ "since", required_argument, NULL, 's' },
	{ "memcached", required_argument, NULL, 'M' },
	{ "memcached-prefix", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f,
"usage: fcometctl [--name NAME] [--json] [--window N] [--rooms N]\n"
"                 [--max-text N] [--memcached SERVERS] COMMAND [ARG...]\n"
"commands:\n"
"  stat [--prometheus]    the segment: sizes, rooms, events, lock, counters\n"
"                         (--prometheus: as GET /metrics answers)\n"
"  rooms [--idle] [--top N] [--by events|listeners]\n"
"                         each room: ids, events held, listeners, idle time;\n"
"                         --idle: only rooms nobody listens to, longest idle\n"
"                         first; --top N: the N with most events (listeners)\n"
"  dump ROOM [--since N]  the events ROOM holds (with id > N)\n"
"  tail ROOM              print ROOM's new events as they come, until ^C\n"
"  send ROOM NICK TEXT    store a message, checked as POST /send does\n"
"  purge ROOM             drop ROOM's events; its ids start again at 1\n"
"  rm ROOM                remove ROOM (its listeners get reset)\n"
"  unlink                 remove the segment and its lock\n"
"  token --key FILE --sub NICK [--read ROOM]... [--write ROOM]... [--ttl S]\n"
"        [--alg HS256|RS256|ES256]\n"
"                         print a signed token for fcomet --token-key: ROOM\n"
"                         may end in * (a prefix); --ttl default 3600;\n"
"                         RS256/ES256: FILE is the PEM private key\n"
"options:\n"
"  --name NAME     the segment /fcomet-NAME (default: default)\n"
"  --json          one JSON object a line\n"
"  --window N      events kept per room     \\  used when send creates the\n"
"  --rooms N       rooms the segment holds   > segment; checked against\n"
"  --max-text N    largest text in bytes    /  an existing one\n"
"  --memcached HOST:PORT[,...]  send through memcached, as fcomet does\n"
"  --memcached-prefix P         its key prefix (default fcomet)\n"
"  --help, --version\n"
"Options go before COMMAND (dump's --since after it too); the words after\n"
"COMMAND are taken as they are, a TEXT that begins with '-' included.\n");
	exit(status);
}

/* At exit, errors included: unmap, close the lock, free the buffers. */
static void
ctl_cleanup(void)
{
	store_close(ctl.st);
	ctl.st = NULL;
	if (ctl.out_set)
		window_out_free(&ctl.out);
	ctl.out_set = false;
	if (ctl.open)
		segment_close(&ctl.sg);
	ctl.open = false;
}

/* Attaches to the segment, creating it first if create is set. */
static void
ctl_open(bool create)
{
	char	why[256] = "";

	ctl.opts.create = create;
	if (segment_open(&ctl.sg, &ctl.opts, why, sizeof why) == 0) {
		ctl.open = true;
		return;
	}
	if (!create && errno == ENOENT)
		errx(1, "no segment /fcomet-%s (send or the responder makes "
		    "it)", ctl.opts.name);
	if (*why == '\0')
		err(1, "/fcomet-%s", ctl.opts.name);
	errx(1, "%s", why);
}

/* Room for one whole window, as segment_read fills it. */
static void
ctl_out(void)
{
	if (window_out_alloc(&ctl.out, ctl.sg.hdr->cap, ctl.sg.hdr->ring) == -1)
		err(1, "window_out_alloc");
	ctl.out_set = true;
}

/* Prints o as one line and drops it. */
static void
ctl_json(struct json_object *o)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		errx(1, "json-c: cannot serialize");
	fwrite(s, 1, len, stdout);
	putchar('\n');
	json_object_put(o);
}

/* A decimal number from min to max, or bad usage. */
static uint64_t
ctl_number(const char *s, const char *what, uint64_t min, uint64_t max)
{
	uint64_t	n = 0;
	const char	*p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (n > (max - (uint64_t)(*p - '0')) / 10)
			break;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || *p != '\0' || n < min) {
		fprintf(stderr, "fcometctl: %s: not a number from %" PRIu64
		    " to %" PRIu64 ": %s\n", what, min, max, s);
		usage(2);
	}
	return n;
}

/* A room name as PROTOCOL.md has it, or exit 1 with the reason. */
static void
ctl_room_check(const char *room)
{
	const char	*why;

	if (event_check_room(room, strlen(room), &why) != 0)
		errx(1, "bad room: %s", why);
}

/* The index of an existing room, or exit 1. */
static int
ctl_room(const char *room)
{
	int	r;

	ctl_room_check(room);
	if ((r = segment_room_find(&ctl.sg, room)) == -1)
		errx(1, "no room %s in %s", room, ctl.sg.name);
	return r;
}

/* A room's first and last id and how many events it holds, lock-free. */
static void
ctl_room_ids(int r, uint64_t *first, uint64_t *last, uint64_t *held)
{
	struct window	w;

	segment_window(&ctl.sg, r, &w);
	*last = window_last(&w);
	*first = window_first(&w);
	*held = *last >= *first ? *last - *first + 1 : 0;
}

/* ms since the epoch as 2025-11-29T20:00:00.123Z. */
static void
ctl_time(int64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	char		s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", s, (int)(ms % 1000));
}

/* A user's text on a terminal: line breaks and C1 controls made visible. */
static void
ctl_text(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '\r')
			fputs("\\r", stdout);
		else if (p[i] == '\t')
			fputs("\\t", stdout);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\x%02x", p[i]);
		else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			printf("\\u%04x", p[++i]);
		else
			putchar(p[i]);
	}
}

/* The event JSON of a window slot, which is not NUL-terminated. */
static struct json_object *
ctl_parse(const char *json, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if (len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o != NULL && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* One stored event: its exact JSON with --json, else one readable line. */
static void
ctl_event(const char *json, size_t len)
{
	struct json_object	*o, *v;
	const char		*type = "?", *nick = "?";
	char			 when[40];

	if (ctl.json) {
		fwrite(json, 1, len, stdout);
		putchar('\n');
		return;
	}
	if ((o = ctl_parse(json, len)) == NULL) {
		printf("(unreadable event) %.*s\n", (int)len, json);
		return;
	}
	ctl_time(json_object_object_get_ex(o, "ts", &v) ?
	    json_object_get_int64(v) : 0, when, sizeof when);
	if (json_object_object_get_ex(o, "type", &v))
		type = json_object_get_string(v);
	if (json_object_object_get_ex(o, "nick", &v))
		nick = json_object_get_string(v);
	printf("%8" PRId64 "  %s  ", json_object_object_get_ex(o, "id", &v) ?
	    json_object_get_int64(v) : 0, when);
	if (strcmp(type, "message") != 0) {
		printf("* ");
		ctl_text(nick, strlen(nick));
		printf(" %s\n", strcmp(type, "join") == 0 ? "joined" : "left");
	} else if (json_object_object_get_ex(o, "text", &v)) {
		putchar('<');
		ctl_text(nick, strlen(nick));
		printf("> ");
		ctl_text(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		putchar('\n');
	}
	json_object_put(o);
}

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
	json_object_object_add(o, "sends", json_object_new_uint64(c->sends));
	json_object_object_add(o, "joins", json_object_new_uint64(c->joins));
	json_object_object_add(o, "leaves",
	    json_object_new_uint64(c->leaves));
	json_object_object_add(o, "room_full",
	    json_object_new_uint64(c->room_full));
	json_object_object_add(o, "lock_timeouts",
	    json_object_new_uint64(c->lock_timeouts));
	json_object_object_add(o, "recoveries",
	    json_object_new_uint64(c->recoveries));
	json_object_object_add(o, "rate_limited",
	    json_object_new_uint64(c->rate_limited));
	json_object_object_add(o, "mc_errors",
	    json_object_new_uint64(c->mc_errors));
	json_object_object_add(o, "relay_lag_ms",
	    json_object_new_uint64(c->relay_lag_ms));
	json_object_object_add(o, "reclaims",
	    json_object_new_uint64(c->reclaims));
	json_object_object_add(o, "moves", json_object_new_uint64(c->moves));
	json_object_object_add(o, "steals", json_object_new_uint64(c->steals));
	json_object_object_add(o, "rooms_limited",
	    json_object_new_uint64(c->rooms_limited));
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
	printf("counters    sends %" PRIu64 ", joins %" PRIu64 ", leaves %"
	    PRIu64 "\n", c->sends, c->joins, c->leaves);
	printf("            room_full %" PRIu64 ", lock_timeouts %" PRIu64
	    ", recoveries %" PRIu64 "\n", c->room_full, c->lock_timeouts,
	    c->recoveries);
	printf("            rate_limited %" PRIu64 ", mc_errors %" PRIu64
	    ", relay_lag_ms %" PRIu64 "\n", c->rate_limited, c->mc_errors,
	    c->relay_lag_ms);
	printf("            reclaims %" PRIu64 ", moves %" PRIu64 ", steals %"
	    PRIu64 ", rooms_limited %" PRIu64 "\n", c->reclaims, c->moves,
	    c->steals, c->rooms_limited);
}

/* stat: what the segment is and what it holds. */
static void
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
static void
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
static void
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
				usage(2);
			}
		} else
			argv[n++] = argv[i];
	}
	*argc = n;
}

/* Takes token's options out of the words after it. */
static void
token_args(int *argc, char **argv)
{
	struct ctl_token	*t = &ctl.tk;
	int			 i, n = 1;

	t->ttl = 3600;
	for (i = 1; i < *argc; i++) {
		const char *o = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;
		if (v == NULL || strncmp(o, "--", 2) != 0) {
			argv[n++] = argv[i];
			continue;
		}
		i++;
		if (strcmp(o, "--key") == 0)
			t->key = v;
		else if (strcmp(o, "--alg") == 0)
			t->alg = v;
		else if (strcmp(o, "--sub") == 0)
			t->sub = v;
		else if (strcmp(o, "--ttl") == 0)
			t->ttl = ctl_number(v, "--ttl", 1, 10 * 365 * 86400ULL);
		else if (strcmp(o, "--read") == 0 && t->nread < TOKEN_GRANTS)
			t->read[t->nread++] = v;
		else if (strcmp(o, "--write") == 0 && t->nwrite < TOKEN_GRANTS)
			t->write[t->nwrite++] = v;
		else {
			fprintf(stderr, "fcometctl: token: %s?\n", o);
			usage(2);
		}
	}
	*argc = n;
	if (t->key == NULL || t->sub == NULL) {
		fprintf(stderr, "fcometctl: token needs --key FILE and --sub "
		    "NICK\n");
		usage(2);
	}
}

/* token: a token fcomet takes, signed with the key given. */
static void
cmd_token(char **argv)
{
	struct ctl_token	*t = &ctl.tk;
	struct token_key	 k;
	const char		*sub = t->sub, *why;
	size_t			 sublen = strlen(sub);
	char			 err[256], *tok;

	(void)argv;
	if (event_check_nick(&sub, &sublen, &why) != 0)
		errx(1, "--sub: %s", why);
	for (int i = 0; i < t->nread + t->nwrite; i++) {
		const char *r = i < t->nread ? t->read[i] :
		    t->write[i - t->nread];
		size_t len = strlen(r) - (r[0] && r[strlen(r) - 1] == '*');
		if (len > 0 && event_check_room(r, len, &why) != 0)
			errx(1, "room pattern %s: %s", r, why);
	}
	if (token_key_load(&k, t->key, t->alg, err, sizeof err) == -1)
		errx(1, "%s", err);
	tok = token_issue(&k, t->sub, (int64_t)time(NULL) + (int64_t)t->ttl,
	    t->read, t->nread, t->write, t->nwrite);
	token_key_free(&k);
	if (tok == NULL)
		errx(1, "signing failed: is %s a %s key?", t->key,
		    t->alg ? t->alg : "HS256");
	printf("%s\n", tok);
	free(tok);
}

/* dump ROOM [--since N]: the events the room holds, oldest first. */
static void
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
static void
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

/*
 * Opens the segment for send, creating it if missing; a text over the
 * maximum of the segment to be created is refused before it is created.
 */
static void
send_open(const char *text, size_t len)
{
	const char	*why;
	char		 why2[256] = "";
	int		 status;
	size_t		 max;

	ctl.opts.create = false;
	if (segment_open(&ctl.sg, &ctl.opts, why2, sizeof why2) == 0) {
		ctl.open = true;
		return;
	}
	if (errno != ENOENT)
		errx(1, "%s", *why2 != '\0' ? why2 : strerror(errno));
	max = ctl.opts.max_text ? ctl.opts.max_text : EVENT_TEXT_DEFAULT;
	if ((status = event_check_text(text, len, max, &why)) != 0)
		errx(1, "send refused (%d): %s", status, why);
	ctl_open(true);
}

/* send ROOM NICK TEXT: what POST /send does, answered as it answers. */
static void
cmd_send(char **argv)
{
	struct event		 ev;
	struct json_object	*o;
	const char		*why, *nick = argv[1], *text = argv[2];
	char			 nbuf[EVENT_NICK_BYTES + 1];
	size_t			 nlen = strlen(nick), tlen = strlen(text);
	int64_t			 id, ts;
	int			 status;

	if ((status = event_check_room(argv[0], strlen(argv[0]), &why)) != 0 ||
	    (status = event_check_nick(&nick, &nlen, &why)) != 0)
		errx(1, "send refused (%d): %s", status, why);
	if (nlen >= sizeof nbuf)
		errx(1, "send refused (400): nick is too long");
	memcpy(nbuf, nick, nlen);
	nbuf[nlen] = '\0';
	send_open(text, tlen);
	status = event_check_text(text, tlen, ctl.sg.hdr->max_text, &why);
	if (status != 0)
		errx(1, "send refused (%d): %s", status, why);
	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_MESSAGE;
	ev.ts = event_now_ms();
	ev.room = argv[0];
	ev.nick = nbuf;
	ev.text = text;
	ev.textlen = tlen;
	if ((id = store_publish(ctl_store(), &ev, &ts)) == -1) {
		if (errno == EIO)
			errx(1, "memcached %s is unreachable: nothing stored",
			    ctl.memcached);
		if (errno == ENOSPC)
			errx(1, "%s: every one of its %u rooms is in use "
			    "(listeners or nicks): a new room waits for one",
			    ctl.sg.name, ctl.sg.hdr->nrooms);
		err(1, "%s: cannot store the event", ctl.sg.name);
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "ts", json_object_new_int64(ts));
	ctl_json(o);
}

/* purge ROOM: empty it; listeners get a reset, ids start again at 1. */
static void
cmd_purge(char **argv)
{
	struct json_object	*o;
	int			 r;

	ctl_open(false);
	r = ctl_room(argv[0]);
	if (segment_purge(&ctl.sg, r) == -1)
		err(1, "purge %s", argv[0]);
	if (!ctl.json) {
		printf("purged %s\n", argv[0]);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "room", json_object_new_string(argv[0]));
	json_object_object_add(o, "purged", json_object_new_boolean(1));
	ctl_json(o);
}

/* rm ROOM: the room goes; its listeners get a reset, its name is free. */
static void
cmd_rm(char **argv)
{
	struct json_object	*o;

	ctl_open(false);
	ctl_room(argv[0]);
	if (segment_room_remove(&ctl.sg, argv[0]) == -1)
		err(1, "rm %s", argv[0]);
	if (!ctl.json) {
		printf("removed %s\n", argv[0]);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "room", json_object_new_string(argv[0]));
	json_object_object_add(o, "removed", json_object_new_boolean(1));
	ctl_json(o);
}

/* unlink: remove segment and lock; processes attached keep their map. */
static void
cmd_unlink(char **argv)
{
	struct json_object	*o;
	char			 why[256] = "";

	(void)argv;
	if (segment_unlink(ctl.opts.name, why, sizeof why) == -1) {
		if (*why == '\0')
			err(1, "unlink /fcomet-%s", ctl.opts.name);
		errx(1, "%s", why);
	}
	if (!ctl.json) {
		printf("unlinked /fcomet-%s\n", ctl.opts.name);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "unlinked", json_object_new_string(
	    ctl.opts.name));
	ctl_json(o);
}

/* The store of --memcached, or the segment's own. */
static struct store *
ctl_store(void)
{
	char	why[256];

	if (ctl.st == NULL && (ctl.st = store_open(&ctl.sg, ctl.memcached,
	    ctl.mc_prefix, why, sizeof why)) == NULL)
		errx(1, "%s", why);
	return ctl.st;
}

/* take-id ROOM: test hook; takes a memcached id and stores nothing, as a
 * sender that died between the two would. */
static void
cmd_take_id(char **argv)
{
	int64_t	id;

	if (ctl.memcached == NULL)
		errx(2, "take-id needs --memcached");
	ctl_open(true);
	if ((id = store_mc_take_id(ctl_store(), argv[0])) == -1)
		err(1, "take-id %s", argv[0]);
	printf("%lld\n", (long long)id);
}

/* hold-lock MS: test hook; takes the lock, says so, holds it MS ms. */
static void
cmd_hold_lock(char **argv)
{
	struct timespec	ts;
	uint64_t	ms;

	ms = ctl_number(argv[0], "hold-lock", 0, 86400000);
	ctl_open(false);
	if (segment_lock(&ctl.sg, CTL_LOCK_MS) == -1)
		err(1, "lock %s", ctl.sg.name);
	printf("locked %ld\n", (long)getpid());
	fflush(stdout);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	segment_unlock(&ctl.sg);
}

/* Takes dump's --since N (or --since=N) out of the words after the verb. */
static void
since_args(int *argc, char **argv)
{
	const char	*v;
	int		 i, n = 1;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--since") == 0) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "fcometctl: --since needs N\n");
				usage(2);
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

/* The options before COMMAND; returns the index of COMMAND in argv. */
static int
ctl_options(int argc, char **argv)
{
	int	ch;

	while ((ch = getopt_long(argc, argv, "+", ctl_longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			ctl.opts.name = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'w':
			ctl.opts.window = ctl_number(optarg, "--window", 1,
			    CTL_WINDOW_MAX);
			break;
		case 'r':
			ctl.opts.rooms = ctl_number(optarg, "--rooms", 1,
			    CTL_ROOMS_MAX);
			break;
		case 'm':
			ctl.opts.max_text = ctl_number(optarg, "--max-text",
			    1, EVENT_TEXT_LIMIT);
			break;
		case 's':
			ctl.since = ctl_number(optarg, "--since", 0,
			    EVENT_ID_MAX);
			ctl.since_set = true;
			break;
		case 'M':
			ctl.memcached = optarg;
			break;
		case 'P':
			ctl.mc_prefix = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("fcometctl %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage(2);
		}
	}
	return optind;
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd	*cmd;
	int			 i;

	log_init("fcometctl", 0);
	ctl.opts.name = "default";
	i = ctl_options(argc, argv);
	argc -= i;
	argv += i;
	if (argc < 1)
		usage(2);
	for (cmd = ctl_cmds; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[0]) == 0)
			break;
	if (cmd->name == NULL) {
		fprintf(stderr, "fcometctl: unknown command: %s\n", argv[0]);
		usage(2);
	}
	if (cmd->fn == cmd_dump)
		since_args(&argc, argv);
	if (cmd->fn == cmd_rooms)
		rooms_args(&argc, argv);
	if (cmd->fn == cmd_token)
		token_args(&argc, argv);
	if (cmd->fn == cmd_stat && argc == 2 &&
	    strcmp(argv[1], "--prometheus") == 0) {
		ctl.prometheus = true;
		argc = 1;
	}
	if (argc - 1 != cmd->nargs || (ctl.since_set && cmd->fn != cmd_dump)) {
		fprintf(stderr, "fcometctl: %s: wrong arguments\n", cmd->name);
		usage(2);
	}
	atexit(ctl_cleanup);
	cmd->fn(argv + 1);
	if (fflush(stdout) == EOF || ferror(stdout))
		errx(1, "stdout: write error");
	return 0;
}
