/*
 * main.c: the master. Options, segment, listening socket, then it forks
 * the workers and watches them: a worker that dies is restarted (with a
 * back-off if it keeps dying); SIGHUP replaces them one by one; SIGTERM
 * stops them all. Every signal is taken here, through a signalfd.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "wake.h"
#include "fcomet.h"
#include "log.h"
#include "park.h"
#include "store.h"

#define WORKERS_MAX	(SEGMENT_SLOTS / 2 - 1)	/* room for a SIGHUP's new set */
#define RELAY_SLOT	(SEGMENT_SLOTS - 1)	/* memcached mode: the relay */
#define BACKOFF_MAX_MS	10000
#define STOP_WAIT_MS	1800

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

struct slot {
	pid_t	pid;		/* 0: free */
	bool	retiring;	/* SIGTERM'd by us: do not restart */
	int64_t	started;	/* ms monotonic */
	int64_t	respawn_at;	/* pending restart, 0 if none */
	int	backoff;	/* ms */
};

static struct slot	slots[SEGMENT_SLOTS];
static int		listen_fd = -1;
static int		sig_fd = -1;
static const char	*unix_path;

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

/*
 * In a worker or the relay of a master started as root: run as --user.
 * The master stays root, as nginx's does, to remove its socket and
 * pidfile at the end; it runs no request.
 */
static void
drop_privileges(void)
{
	if (getuid() != 0 && geteuid() != 0)
		return;
	if (initgroups(opt.user, opt.user_gid) == -1 ||
	    setgid(opt.user_gid) == -1 || setuid(opt.seg.uid) == -1)
		fatal("--user %s: %s", opt.user, strerror(errno));
	if (setuid(0) == 0)
		fatal("--user %s: could drop privileges only for show", opt.user);
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

static void
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

/* A listening socket on fd 0 (spawn-fcgi)? */
static bool
is_listening(int fd)
{
	int		on = 0;
	socklen_t	len = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

static int
listen_tcp(const char *spec)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, on = 1;

	if (addr_parse(spec, &ss, &len) == -1)
		fatal("--socket %s: give PATH, HOST:PORT or [::1]:PORT", spec);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		fatal("bind %s: %s", spec, strerror(errno));
	return fd;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	mode_t			old;
	int			fd;

	if (strlen(path) >= sizeof sun.sun_path)
		fatal("--socket %s: path too long", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket: %s", strerror(errno));
	unlink(path);		/* a stale socket of an earlier run */
	old = umask(0777 & ~opt.socket_mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		fatal("bind %s: %s", path, strerror(errno));
	umask(old);
	if (chmod(path, opt.socket_mode) == -1 || ((opt.socket_group ||
	    opt.user) && chown(path, opt.user ? opt.seg.uid : (uid_t)-1,
	    opt.socket_group ? opt.socket_gid : (gid_t)-1) == -1))
		fatal("%s: %s", path, strerror(errno));
	unix_path = path;
	return fd;
}

static int
listen_open(void)
{
	int	fd;

	if (opt.socket == NULL) {
		if (!is_listening(0))
			fatal("no --socket and no listening socket on fd 0");
		return 0;
	}
	fd = strchr(opt.socket, '/') != NULL || strchr(opt.socket, ':') == NULL ?
	    listen_unix(opt.socket) : listen_tcp(opt.socket);
	if (listen(fd, 4096) == -1)
		fatal("listen: %s", strerror(errno));
	return fd;
}

static void
spawn(int i)
{
	pid_t	pid;

	if ((pid = fork()) == -1) {
		log_warn("fork: %s", strerror(errno));
		slots[i].respawn_at = mono_ms() + 1000;
		return;
	}
	if (pid == 0) {
		sigset_t set;
		close(sig_fd);
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		drop_privileges();	/* requests never run as root */
		/* exit, not _exit: LeakSanitizer checks the worker too */
		exit(i == RELAY_SLOT ? relay_main() : worker_main(listen_fd, i));
	}
	slots[i].pid = pid;
	slots[i].retiring = false;
	slots[i].started = mono_ms();
	slots[i].respawn_at = 0;
}

static int
free_slot(void)
{
	for (int i = 0; i < RELAY_SLOT; i++)
		if (slots[i].pid == 0 && slots[i].respawn_at == 0)
			return i;
	return -1;
}

/* A worker ended: restart it unless we retired it. */
static void
reap(struct segment *sg)
{
	pid_t	pid;
	int	status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < SEGMENT_SLOTS; i++) {
			struct slot *s = &slots[i];
			if (s->pid != pid)
				continue;
			s->pid = 0;
			segment_listeners_clear(sg, i);
			if (s->retiring)
				break;
			int64_t now = mono_ms();
			s->backoff = now - s->started < 1000 ?
			    (s->backoff ? s->backoff * 2 : 100) : 0;
			if (s->backoff > BACKOFF_MAX_MS)
				s->backoff = BACKOFF_MAX_MS;
			s->respawn_at = now + s->backoff;
			if (WIFSIGNALED(status))
				log_warn("worker %d (pid %d) killed by signal "
				    "%d; restarting in %d ms", i, (int)pid,
				    WTERMSIG(status), s->backoff);
			else
				log_warn("worker %d (pid %d) exited with %d; "
				    "restarting in %d ms", i, (int)pid,
				    WEXITSTATUS(status), s->backoff);
			break;
		}
	}
}

/* SIGHUP: a new worker first, then the old one stops; one at a time. */
static void
replace_workers(struct segment *sg)
{
	int	old[SEGMENT_SLOTS], n = 0;

	for (int i = 0; i < RELAY_SLOT; i++)
		if (slots[i].pid != 0 && !slots[i].retiring)
			old[n++] = i;
	log_info("SIGHUP: replacing %d workers", n);
	for (int k = 0; k < n; k++) {
		int j = free_slot();
		if (j == -1)
			break;
		spawn(j);
		usleep(100000);		/* let it reach accept() */
		slots[old[k]].retiring = true;
		kill(slots[old[k]].pid, SIGTERM);
		reap(sg);
	}
}

static void
stop_workers(struct segment *sg)
{
	int64_t	until = mono_ms() + STOP_WAIT_MS;
	bool	left = true;

	for (int i = 0; i < SEGMENT_SLOTS; i++)
		if (slots[i].pid != 0) {
			slots[i].retiring = true;
			kill(slots[i].pid, SIGTERM);
		}
	while (left && mono_ms() < until) {
		reap(sg);
		left = false;
		for (int i = 0; i < SEGMENT_SLOTS; i++)
			left |= slots[i].pid != 0;
		if (left)
			usleep(10000);
	}
	for (int i = 0; i < SEGMENT_SLOTS; i++)
		if (slots[i].pid != 0) {
			log_warn("worker %d did not stop; killing it", i);
			kill(slots[i].pid, SIGKILL);
		}
	while (waitpid(-1, NULL, 0) > 0)
		;
}

static void
master_loop(struct segment *sg)
{
	for (;;) {
		struct signalfd_siginfo	si;
		struct pollfd		pfd = { sig_fd, POLLIN, 0 };
		int64_t			now = mono_ms(), next = -1;

		for (int i = 0; i < SEGMENT_SLOTS; i++) {
			if (slots[i].respawn_at == 0)
				continue;
			if (slots[i].respawn_at <= now)
				spawn(i);
			else if (next == -1 || slots[i].respawn_at - now < next)
				next = slots[i].respawn_at - now;
		}
		if (poll(&pfd, 1, (int)next) <= 0)
			continue;
		if (read(sig_fd, &si, sizeof si) != sizeof si)
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(sg);
			break;
		case SIGHUP:
			replace_workers(sg);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("stopping");
			stop_workers(sg);
			return;
		}
	}
}

/*
 * A parked listener is an fd: take every fd we may (the hard limit), or
 * what --max-fds says, as nginx's worker_rlimit_nofile does.
 */
static void
set_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	rl.rlim_cur = opt.max_fds > 0 && (rlim_t)opt.max_fds < rl.rlim_max ?
	    (rlim_t)opt.max_fds : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit: %s", strerror(errno));
}

static void
daemonize(void)
{
	pid_t	pid;

	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") == -1)
		fatal("chdir /: %s", strerror(errno));
}

int
main(int argc, char **argv)
{
	struct segment	sg;
	sigset_t	set;
	char		err[256];
	FILE		*f;

	options(argc, argv);
	log_init("fcomet", opt.debug);
	if (auth_init(err, sizeof err) == -1 || wake_init(err, sizeof err) == -1)
		fatal("%s", err);
	set_fd_limit();
	opt.seg.create = true;
	if (segment_open(&sg, &opt.seg, err, sizeof err) == -1)
		fatal("%s", err);
	__atomic_store_n(&sg.hdr->c.workers, (uint64_t)opt.workers,
	    __ATOMIC_RELAXED);
	if (opt.memcached != NULL) {	/* check the server list now */
		struct store *st = store_open(&sg, opt.memcached, opt.mc_prefix,
		    err, sizeof err);
		if (st == NULL)
			fatal("%s", err);
		store_close(st);
	}
	if (opt.check_only) {
		printf("fcomet: options and segment %s ok\n", sg.name);
		return 0;
	}
	listen_fd = listen_open();
	if (opt.user == NULL && (getuid() == 0 || geteuid() == 0))
		fatal("started as root: give --user USER to run requests as");
	if (opt.daemon)
		daemonize();
	if (opt.pidfile != NULL) {
		if ((f = fopen(opt.pidfile, "w")) == NULL)
			fatal("%s: %s", opt.pidfile, strerror(errno));
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	opt.started = event_now_ms();
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if ((sig_fd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		fatal("signalfd: %s", strerror(errno));
	log_info("started: segment %s (%u rooms, window %u), %d workers, "
	    "socket %s", sg.name, sg.hdr->nrooms, sg.hdr->cap, opt.workers,
	    opt.socket ? opt.socket : "fd 0");
	for (int i = 0; i < opt.workers; i++)
		spawn(i);
	if (opt.memcached != NULL)
		spawn(RELAY_SLOT);
	master_loop(&sg);
	if (unix_path != NULL)
		unlink(unix_path);
	if (opt.pidfile != NULL)
		unlink(opt.pidfile);
	segment_close(&sg);
	log_info("stopped");
	return 0;
}
