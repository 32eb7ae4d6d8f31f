/*
 * fcometctl.c: look at and act on a live fcomet segment /fcomet-NAME.
 *
 * main() parses the options and calls one cmd_*() per verb (inspect.c,
 * admin.c); the helpers they share are here. Errors end the
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

#include "ctl.h"
#include "event.h"
#include "log.h"

#define CTL_ROOMS_MAX	SEGMENT_ROOMS_LIMIT
#define CTL_WINDOW_MAX	1048576

struct ctl_cmd {
	const char	*name;
	int		 nargs;
	void		(*fn)(char **);
};

static void	ctl_cleanup(void);
static int	ctl_options(int, char **);

struct ctl		 ctl;

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


void
ctl_usage(int status)
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
void
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
void
ctl_out(void)
{
	if (window_out_alloc(&ctl.out, ctl.sg.hdr->cap, ctl.sg.hdr->ring) == -1)
		err(1, "window_out_alloc");
	ctl.out_set = true;
}

/* Prints o as one line and drops it. */
void
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
uint64_t
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
		ctl_usage(2);
	}
	return n;
}

/* A room name as PROTOCOL.md has it, or exit 1 with the reason. */
void
ctl_room_check(const char *room)
{
	const char	*why;

	if (event_check_room(room, strlen(room), &why) != 0)
		errx(1, "bad room: %s", why);
}

/* The index of an existing room, or exit 1. */
int
ctl_room(const char *room)
{
	int	r;

	ctl_room_check(room);
	if ((r = segment_room_find(&ctl.sg, room)) == -1)
		errx(1, "no room %s in %s", room, ctl.sg.name);
	return r;
}

/* A room's first and last id and how many events it holds, lock-free. */
void
ctl_room_ids(int r, uint64_t *first, uint64_t *last, uint64_t *held)
{
	struct window	w;

	segment_window(&ctl.sg, r, &w);
	*last = window_last(&w);
	*first = window_first(&w);
	*held = *last >= *first ? *last - *first + 1 : 0;
}

/* ms since the epoch as 2025-11-29T20:00:00.123Z. */
void
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
void
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
struct json_object *
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
void
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
			ctl_usage(0);
		case 'V':
			printf("fcometctl %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			ctl_usage(2);
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
		ctl_usage(2);
	for (cmd = ctl_cmds; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[0]) == 0)
			break;
	if (cmd->name == NULL) {
		fprintf(stderr, "fcometctl: unknown command: %s\n", argv[0]);
		ctl_usage(2);
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
		ctl_usage(2);
	}
	atexit(ctl_cleanup);
	cmd->fn(argv + 1);
	if (fflush(stdout) == EOF || ferror(stdout))
		errx(1, "stdout: write error");
	return 0;
}
