/*
 * options.c: the command line. opt starts with the defaults; options()
 * reads the arguments over it, checks every value against its range and
 * exits 2 with a line on stderr at the first bad one, so the master only
 * ever starts from a valid set. --user and the groups become ids here.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "fcomet.h"

/* main.c's slots hold two sets of workers while a SIGHUP replaces them. */
#define WORKERS_MAX	(SEGMENT_SLOTS / 2 - 1)	/* room for a SIGHUP's new set */

struct options	opt = {
	.socket_mode = 0660,
	.rate = 5,
	.burst = 10,
	.room_rate = 1,
	.max_listeners_addr = 256,
	.relay_tick = 30,
	.room_burst = 60,
	.room_ttl = 86400,
	.timeout_default = 25,
	.timeout_max = 120,
	.ping = 15,
	.grace = 10,
	.lifetime = 600,
};

static void __attribute__((noreturn))
usage(int code)
{
	uint64_t	size;

	fprintf(code ? stderr : stdout,
"usage: fcomet [options]\n"
"  --socket PATH|127.0.0.1:PORT|[::1]:PORT  listen there (default: the\n"
"                          listening socket on fd 0, as spawn-fcgi passes it)\n"
"  --socket-mode MODE      unix socket mode (default 0660)\n"
"  --socket-group GROUP    unix socket group\n"
"  --group GROUP           give GROUP access to the segment and its lock\n"
"  --workers N             worker processes (default: number of cores)\n"
"  --name NAME             segment /fcomet-NAME (default: default)\n"
"  --window N              events kept per room (default 1024)\n"
"  --rooms N               rooms the segment holds (default 100000)\n"
"  --max-text BYTES        longest message text (default 2000)\n"
"  --segment-max MIB       refuse sizes whose segment is larger (default 256)\n"
"  --room-ttl S            give back a room with no listener and no event for\n"
"                          S seconds (default 86400; 0: keep rooms)\n"
"  --history-ttl S         do not serve events older than S seconds (0: off)\n"
"  --rate R/BURST          sends per second per address (default 5/10; 0: off)\n"
"  --room-rate R/BURST     new rooms per second per address (default 1/60)\n"
"  --timeout-max S         longest /listen wait (default 120)\n"
"  --ping S                stream ping after S idle seconds (default 15);\n"
"                          through Apache, a long-poll's too\n"
"  --grace S               presence grace period (default 10)\n"
"  --stream-lifetime S     end streams after S seconds (default 600)\n"
"  --auth none|remote-user|token  who a client is: anyone (default), the web\n"
"                          server's REMOTE_USER, or a signed token's sub\n"
"  --trust-remote-user     the same as --auth remote-user\n"
"  --token-key FILE        verify tokens with it: an HS256 secret (32 bytes\n"
"                          or more) or a PEM public key (with --token-alg)\n"
"  --token-alg ALG         HS256 (default), RS256 or ES256: no other is taken\n"
"  --private PATTERN,...   rooms that need a token (e.g. dm-*,team-*)\n"
"  --allow-origin ORIGIN,...  pages of these origins may send too (besides\n"
"                          the request's own host; * any)\n"
"  --max-listeners-per-addr N  parked listeners and streams an address may\n"
"                          hold (default 256; 0: off)\n"
"  --memcached HOST:PORT[,HOST:PORT...]  share ids and events with the other\n"
"                          hosts of the site through memcached\n"
"  --memcached-prefix P    prefix of the memcached keys (default fcomet)\n"
"  --peers HOST:PORT,...   tell these hosts' relays of each event stored here\n"
"                          (their --wake-listen), so they fetch it at once\n"
"  --wake-listen HOST:PORT this relay's wake-up address (UDP)\n"
"  --relay-tick MS         the relay polls memcached every MS (default 30)\n"
"  --user USER             started as root: workers run as USER once the\n"
"                          socket and the segment are open (required)\n"
"  --trust-proxy ADDR      take the client address from X-Forwarded-For of\n"
"                          requests whose REMOTE_ADDR is ADDR\n"
"  --max-fds N             open files per process (default: the hard limit)\n"
"  --pidfile FILE          write the master's pid there\n"
"  --daemon                detach from the terminal\n"
"  -t                      check options and segment, then exit\n"
"  --debug                 log debug lines\n"
"  --help, --version\n"
"signals: TERM/INT stop (parked requests answered), HUP replaces workers\n");
	size = segment_size_for(opt.seg.rooms ? opt.seg.rooms :
	    SEGMENT_ROOMS_DEFAULT, opt.seg.window ? opt.seg.window :
	    SEGMENT_WINDOW_DEFAULT, opt.seg.max_text ? opt.seg.max_text :
	    EVENT_TEXT_DEFAULT);
	fprintf(code ? stderr : stdout, "segment: %.1f MiB for these --rooms, "
	    "--window and --max-text (--segment-max %llu MiB)\n",
	    (double)size / (1 << 20), (unsigned long long)((opt.seg.max_size ?
	    opt.seg.max_size : SEGMENT_MAX_DEFAULT) >> 20));
	exit(code);
}

static long
num_arg(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "fcomet: %s must be %ld to %ld\n", what, min, max);
		exit(2);
	}
	return v;
}

static gid_t
group_arg(const char *s)
{
	struct group	*g = getgrnam(s);

	if (g == NULL) {
		fprintf(stderr, "fcomet: no group %s\n", s);
		exit(2);
	}
	return g->gr_gid;
}

static void
user_arg(const char *s)
{
	struct passwd	*pw = getpwnam(s);

	if (pw == NULL) {
		fprintf(stderr, "fcomet: no user %s\n", s);
		exit(2);
	}
	opt.user = s;
	opt.seg.uid = pw->pw_uid;
	opt.seg.user_set = true;
	opt.user_gid = pw->pw_gid;
}

static void
rate_arg(const char *s, const char *what, double *rate, double *burst)
{
	double	r, b = 0;
	char	c;

	if (strcmp(s, "0") == 0) {
		*rate = 0;
		return;
	}
	if (sscanf(s, "%lf/%lf%c", &r, &b, &c) != 2 || r <= 0 || b < 1 ||
	    r > 1e6 || b > 1e6) {
		fprintf(stderr, "fcomet: %s takes R/BURST, or 0\n", what);
		exit(2);
	}
	*rate = r;
	*burst = b;
}

void
options(int argc, char **argv)
{
	enum { O_SOCKET = 256, O_MODE, O_SGROUP, O_GROUP, O_WORKERS, O_NAME,
	    O_WINDOW, O_ROOMS, O_TEXT, O_RATE, O_TMAX, O_PING, O_GRACE,
	    O_LIFE, O_TRUST, O_PID, O_DAEMON, O_DEBUG, O_HELP, O_VERSION,
	    O_MC, O_MCPREFIX, O_USER, O_PROXY, O_FDS, O_SEGMAX, O_ROOMTTL,
	    O_HISTTTL, O_ROOMRATE, O_AUTH, O_TOKENKEY, O_TOKENALG, O_PRIVATE,
	    O_ORIGIN, O_MAXLADDR, O_PEERS, O_WAKE, O_TICK };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "socket-mode", required_argument, NULL, O_MODE },
		{ "socket-group", required_argument, NULL, O_SGROUP },
		{ "group", required_argument, NULL, O_GROUP },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "name", required_argument, NULL, O_NAME },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "rooms", required_argument, NULL, O_ROOMS },
		{ "max-text", required_argument, NULL, O_TEXT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "room-rate", required_argument, NULL, O_ROOMRATE },
		{ "segment-max", required_argument, NULL, O_SEGMAX },
		{ "room-ttl", required_argument, NULL, O_ROOMTTL },
		{ "history-ttl", required_argument, NULL, O_HISTTTL },
		{ "timeout-max", required_argument, NULL, O_TMAX },
		{ "ping", required_argument, NULL, O_PING },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "stream-lifetime", required_argument, NULL, O_LIFE },
		{ "trust-remote-user", no_argument, NULL, O_TRUST },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "token-key", required_argument, NULL, O_TOKENKEY },
		{ "token-alg", required_argument, NULL, O_TOKENALG },
		{ "private", required_argument, NULL, O_PRIVATE },
		{ "allow-origin", required_argument, NULL, O_ORIGIN },
		{ "max-listeners-per-addr", required_argument, NULL, O_MAXLADDR },
		{ "memcached", required_argument, NULL, O_MC },
		{ "user", required_argument, NULL, O_USER },
		{ "trust-proxy", required_argument, NULL, O_PROXY },
		{ "max-fds", required_argument, NULL, O_FDS },
		{ "memcached-prefix", required_argument, NULL, O_MCPREFIX },
		{ "peers", required_argument, NULL, O_PEERS },
		{ "wake-listen", required_argument, NULL, O_WAKE },
		{ "relay-tick", required_argument, NULL, O_TICK },
		{ "pidfile", required_argument, NULL, O_PID },
		{ "daemon", no_argument, NULL, O_DAEMON },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int	c;
	long	n = sysconf(_SC_NPROCESSORS_ONLN);
	bool	help = false;

	opt.workers = n > 0 && n < WORKERS_MAX ? (int)n : 2;
	while ((c = getopt_long(argc, argv, "t", longopts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET: opt.socket = optarg; break;
		case O_MODE:
			opt.socket_mode = (mode_t)strtol(optarg, NULL, 8) & 0770;
			break;
		case O_SGROUP:
			opt.socket_gid = group_arg(optarg);
			opt.socket_group = true;
			break;
		case O_GROUP:
			opt.seg.gid = group_arg(optarg);
			opt.seg.group_set = true;
			break;
		case O_WORKERS:
			opt.workers = (int)num_arg(optarg, 1, WORKERS_MAX,
			    "--workers");
			break;
		case O_NAME: opt.seg.name = optarg; break;
		case O_WINDOW:
			opt.seg.window = (uint32_t)num_arg(optarg, 1, 1048576,
			    "--window");
			break;
		case O_ROOMS:
			opt.seg.rooms = (uint32_t)num_arg(optarg, 1,
			    SEGMENT_ROOMS_LIMIT, "--rooms");
			break;
		case O_TEXT:
			opt.seg.max_text = (uint32_t)num_arg(optarg, 1,
			    EVENT_TEXT_LIMIT, "--max-text");
			break;
		case O_RATE:
			rate_arg(optarg, "--rate", &opt.rate, &opt.burst);
			break;
		case O_ROOMRATE:
			rate_arg(optarg, "--room-rate", &opt.room_rate,
			    &opt.room_burst);
			break;
		case O_SEGMAX:
			opt.seg.max_size = (uint64_t)num_arg(optarg, 1, 1 << 20,
			    "--segment-max") << 20;
			break;
		case O_ROOMTTL:
			opt.room_ttl = num_arg(optarg, 0, 86400 * 3650,
			    "--room-ttl");
			break;
		case O_HISTTTL:
			opt.history_ttl = num_arg(optarg, 0, 86400 * 3650,
			    "--history-ttl");
			break;
		case O_TMAX:
			opt.timeout_max = (int)num_arg(optarg, 0, 86400,
			    "--timeout-max");
			break;
		case O_PING:
			opt.ping = (int)num_arg(optarg, 1, 86400, "--ping");
			break;
		case O_GRACE:
			opt.grace = (int)num_arg(optarg, 0, 86400, "--grace");
			break;
		case O_LIFE:
			opt.lifetime = (int)num_arg(optarg, 1, 86400 * 7,
			    "--stream-lifetime");
			break;
		case O_TRUST: opt.auth = AUTH_REMOTE_USER; break;
		case O_AUTH:
			if (strcmp(optarg, "none") == 0)
				opt.auth = AUTH_NONE;
			else if (strcmp(optarg, "remote-user") == 0)
				opt.auth = AUTH_REMOTE_USER;
			else if (strcmp(optarg, "token") == 0)
				opt.auth = AUTH_TOKEN;
			else {
				fprintf(stderr, "fcomet: --auth none, "
				    "remote-user or token\n");
				exit(2);
			}
			break;
		case O_TOKENKEY: opt.token_key = optarg; break;
		case O_TOKENALG: opt.token_alg = optarg; break;
		case O_PRIVATE: opt.private = optarg; break;
		case O_ORIGIN: opt.allow_origin = optarg; break;
		case O_MAXLADDR:
			opt.max_listeners_addr = (int)num_arg(optarg, 0,
			    1 << 20, "--max-listeners-per-addr");
			break;
		case O_MC: opt.memcached = optarg; break;
		case O_USER: user_arg(optarg); break;
		case O_PROXY: opt.trust_proxy = optarg; break;
		case O_FDS:
			opt.max_fds = (int)num_arg(optarg, 32, 1 << 24,
			    "--max-fds");
			break;
		case O_MCPREFIX: opt.mc_prefix = optarg; break;
		case O_PEERS: opt.peers = optarg; break;
		case O_WAKE: opt.wake_listen = optarg; break;
		case O_TICK:
			opt.relay_tick = (int)num_arg(optarg, 1, 60000,
			    "--relay-tick");
			break;
		case O_PID: opt.pidfile = optarg; break;
		case O_DAEMON: opt.daemon = true; break;
		case 't': opt.check_only = true; break;
		case O_DEBUG: opt.debug = 1; break;
		case O_HELP: help = true; break;
		case O_VERSION:
			printf("fcomet %s\n", PACKAGE_VERSION);
			exit(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (help)
		usage(0);
	if (opt.timeout_default > opt.timeout_max)
		opt.timeout_default = opt.timeout_max;
}
