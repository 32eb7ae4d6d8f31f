/*
 * main.c: the master. Options, segment, listening socket, then it forks
 * the workers and watches them: a worker that dies is restarted (with a
 * back-off if it keeps dying); SIGHUP replaces them one by one; SIGTERM
 * stops them all. Every signal is taken here, through a signalfd.
 * options.c reads the command line into opt.
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
#include <grp.h>
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

#define RELAY_SLOT	(SEGMENT_SLOTS - 1)	/* memcached mode: the relay */
#define BACKOFF_MAX_MS	10000
#define STOP_WAIT_MS	1800

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
