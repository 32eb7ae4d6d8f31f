/*
 * worker.c: one prefork worker. Accept threads take requests off libfcgi,
 * copy what they need, detach the connection from libfcgi and route it;
 * the dispatcher (park.c) holds parked requests; the waker turns the
 * segment's futex into a dispatcher wake-up. Signals: all blocked; the main
 * thread waits for SIGTERM and stops the rest through an eventfd.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcomet.h"
#include "log.h"
#include "park.h"
#include "record.h"
#include "reply.h"
#include "route.h"
#include "wake.h"

struct worker {
	int		 slot;		/* in the segment's per-worker counts */
	struct segment	 sg;
	struct store	*st;		/* the dispatcher's */
	struct park	*pk;
	int		 listen_fd;
	int		 stop_fd;	/* eventfd: readable once stopping */
	int		 ep;		/* the accept threads': listening socket,
					   stop_fd, kept connections (one-shot) */
	unsigned char	*kept;		/* per fd: idle in ep, kept */
	int		 nkept;		/* size of kept: the fd limit */
	pthread_mutex_t	 kept_mu;	/* worker_done against the stop */
	int		 spare_fd;	/* closed to answer when out of fds */
	pthread_mutex_t	 spare_mu;
	volatile int	 stop;
	FCGX_Request	 disp_req;	/* the dispatcher's (worker_serve) */
	pthread_t	 accept[FCOMET_ACCEPT_THREADS];
	pthread_t	 disp;
	pthread_t	 waker;
};

static struct worker	w;

#define REQUEST_READ_S	5	/* a web server silent this long is dropped */
#define ACCEPT_NICE	5	/* accept threads' nice above the worker's */

/* A thread's store; in memcached mode it wakes the peers' relays. */
static struct store *
worker_store(void)
{
	struct store	*st;
	char		 err[256];

	if ((st = store_open(&w.sg, opt.memcached, opt.mc_prefix, err,
	    sizeof err)) == NULL)
		fatal("%s", err);
	if (opt.memcached != NULL && opt.peers != NULL) {
		st->notify = wake_send;
		st->ask = wake_ask;
	}
	return st;
}

static char *
param_dup(FCGX_Request *req, const char *name)
{
	char	*v = FCGX_GetParam(name, req->envp);

	return v ? strdup(v) : NULL;
}

/* The path to route on: REQUEST_URI without its query, or
 * SCRIPT_NAME + PATH_INFO. */
static char *
request_path(FCGX_Request *req)
{
	const char	*uri = FCGX_GetParam("REQUEST_URI", req->envp);
	const char	*sn, *pi;
	char		*p;

	if (uri != NULL && *uri != '\0')
		return strndup(uri, strcspn(uri, "?"));
	sn = FCGX_GetParam("SCRIPT_NAME", req->envp);
	pi = FCGX_GetParam("PATH_INFO", req->envp);
	if (asprintf(&p, "%s%s", sn ? sn : "", pi ? pi : "") == -1)
		return NULL;
	return p;
}

/*
 * A body over the limit is not kept, but read and dropped (up to what a
 * web server lets through): closing on a web server still writing it
 * would turn our 413 into its 502.
 */
static void
request_discard(FCGX_Request *req)
{
	char	scratch[16384];
	size_t	total = 0;
	int	n;

	while (total < FCOMET_DISCARD_MAX &&
	    (n = FCGX_GetStr(scratch, sizeof scratch, req->in)) > 0)
		total += (size_t)n;
}

/* Reads at most FCOMET_BODY_MAX bytes of body: never more than needed. */
static void
request_body(FCGX_Request *req, struct request *r)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	int		 n;

	r->clen = -1;
	if (cl != NULL && *cl != '\0') {
		char *end;
		long long v = strtoll(cl, &end, 10);
		r->clen = *end == '\0' && v >= 0 ? v : FCOMET_BODY_MAX + 1;
	}
	if (r->clen > FCOMET_BODY_MAX) {
		r->body_over = true;
		request_discard(req);
		return;
	}
	/* No handler of a GET reads a body (a re-poll, the hot path, has
	 * none): its end is read, into no buffer. */
	if (r->method != NULL && strcmp(r->method, "GET") == 0) {
		request_discard(req);
		return;
	}
	if ((r->body = malloc(FCOMET_BODY_MAX + 1)) == NULL)
		return;
	n = FCGX_GetStr(r->body, FCOMET_BODY_MAX + 1, req->in);
	if (n > FCOMET_BODY_MAX) {
		r->body_over = true;
		request_discard(req);
	}
	r->bodylen = n > 0 ? (size_t)n : 0;
	/* A client that hung up mid-upload: the web server (Apache) ends
	 * stdin early. What came is not the message: never stored. */
	r->body_cut = !r->body_over && ((r->clen >= 0 &&
	    (int64_t)r->bodylen != r->clen) || FCGX_GetError(req->in) != 0);
}

/*
 * The address the rate limit keys on: REMOTE_ADDR, or with --trust-proxy
 * and a request from that proxy, the last X-Forwarded-For entry.
 */
static char *
client_addr(FCGX_Request *req)
{
	const char	*addr = FCGX_GetParam("REMOTE_ADDR", req->envp);
	const char	*xff = FCGX_GetParam("HTTP_X_FORWARDED_FOR", req->envp);
	const char	*last;

	if (opt.trust_proxy == NULL || addr == NULL || xff == NULL ||
	    strcmp(addr, opt.trust_proxy) != 0)
		return addr ? strdup(addr) : NULL;
	last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	last += strspn(last, " \t");
	return strndup(last, strcspn(last, " \t"));
}

static void
request_free(struct request *r)
{
	if (r->fd != -1 && r->conn == NULL)	/* the dispatcher's: it closes */
		close(r->fd);
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->ctype);
	free(r->addr);
	free(r->user);
	free(r->last_event_id);
	free(r->authz);
	free(r->origin);
	free(r->fetch_site);
	free(r->host);
	free(r->body);
}

static void
request_take(FCGX_Request *req, struct request *r)
{
	const char	*s;

	memset(r, 0, sizeof *r);
	r->method = param_dup(req, "REQUEST_METHOD");
	r->path = request_path(req);
	r->query = param_dup(req, "QUERY_STRING");
	r->ctype = param_dup(req, "CONTENT_TYPE");
	r->addr = client_addr(req);
	r->beat = (s = FCGX_GetParam("SERVER_SOFTWARE", req->envp)) != NULL &&
	    strncmp(s, "Apache", 6) == 0;
	r->user = param_dup(req, "REMOTE_USER");
	r->last_event_id = param_dup(req, "HTTP_LAST_EVENT_ID");
	/* Only what a handler reads: a re-poll (a GET) never needs the
	 * cross-site headers, and no request a token without a key. */
	if (opt.token_key != NULL)
		r->authz = param_dup(req, "HTTP_AUTHORIZATION");
	if (r->method != NULL && strcmp(r->method, "POST") == 0) {
		r->origin = param_dup(req, "HTTP_ORIGIN");
		r->fetch_site = param_dup(req, "HTTP_SEC_FETCH_SITE");
		r->host = param_dup(req, "HTTP_HOST");
	}
	request_body(req, r);
	/* Kept only if asked and in step: the request's records all read. */
	r->keep = req->keepConnection && FCGX_HasSeenEOF(req->in) == EOF &&
	    FCGX_GetError(req->in) == 0 ? CONN_KEEP : CONN_CLOSE;
	/* From here on the connection is ours: libfcgi forgets it. */
	r->fd = req->ipcFd;
	r->id = (uint16_t)req->requestId;
	FCGX_Free(req, 0);
	req->ipcFd = -1;
}

/*
 * Reads the request on fd (one we accepted, or a kept one) with libfcgi.
 * keepConnection: libfcgi's start-of-request clean-up must not close fd.
 * On failure (a kept connection the web server closed, garbage) libfcgi
 * has closed fd. The request says whether to keep the connection; one
 * that was kept already is in ep (CONN_KEEP), a new one is not.
 */
static int
request_read(FCGX_Request *req, int fd, bool fresh, struct request *r)
{
	req->ipcFd = fd;
	req->keepConnection = 1;
	if (FCGX_Accept_r(req) < 0) {
		req->ipcFd = -1;
		return -1;
	}
	request_take(req, r);
	if (r->keep != CONN_CLOSE && fresh)
		r->keep = CONN_KEEP_NEW;
	return 0;
}

/*
 * The dispatcher's path (park.c): the next request on a kept connection it
 * holds came whole, without a body, so it is read (no wait: it is all
 * there) and routed in the dispatcher's thread, as an accept thread would:
 * a long-poll's re-poll costs no hand-over, wake-up or epoll change. The
 * outcome is left in conn->verdict.
 */
void
worker_serve(struct route_ctx *ctx, struct parked *conn)
{
	struct request	r;

	if (request_read(&w.disp_req, conn->fd, false, &r) == -1) {
		conn->verdict = VERDICT_GONE;
		return;
	}
	r.conn = conn;
	if (r.keep != CONN_CLOSE)
		r.keep = conn->keep;	/* in the accept threads' epoll or not */
	if (r.method != NULL && r.path != NULL)
		route(ctx, &r);
	request_free(&r);
}

/*
 * The connection's request is answered: with keep, it waits in ep for the
 * web server's next request (one-shot: one thread takes it); else, or if
 * the worker stops, it is closed.
 */
void
worker_done(int fd, int keep)
{
	struct epoll_event	ev = { .events = EPOLLIN | EPOLLRDHUP |
				    EPOLLONESHOT, .data.fd = fd };

	if (keep == CONN_CLOSE || fd >= w.nkept) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&w.kept_mu);
	/* marked before it can fire: the thread it wakes unmarks it */
	__atomic_store_n(&w.kept[fd], 1, __ATOMIC_RELEASE);
	if (w.stop || epoll_ctl(w.ep, keep == CONN_KEEP ? EPOLL_CTL_MOD :
	    EPOLL_CTL_ADD, fd, &ev) == -1) {
		__atomic_store_n(&w.kept[fd], 0, __ATOMIC_RELEASE);
		close(fd);
	}
	pthread_mutex_unlock(&w.kept_mu);
}

/*
 * Waits for a connection on the listening socket or a request on a kept
 * connection: returns that fd, or -1 once the worker stops. The listening
 * socket is non-blocking: an accept that another thread won returns
 * EAGAIN instead of blocking, so a stopping worker never sits in accept()
 * and no signal has to interrupt a read.
 */
static int
accept_wait(void)
{
	struct epoll_event	ev;

	while (!w.stop) {
		if (epoll_wait(w.ep, &ev, 1, -1) != 1 || ev.data.fd == w.stop_fd)
			continue;
		if (ev.data.fd != w.listen_fd)
			__atomic_store_n(&w.kept[ev.data.fd], 0,
			    __ATOMIC_RELEASE);
		return ev.data.fd;
	}
	return -1;
}

/*
 * Out of fds: a connection waiting in the backlog would wait there until
 * the web server gives up. The spare fd makes room to take it and answer
 * 503 at once; said in the log once a minute, not per request. Called with
 * spare_mu held.
 */
static void
accept_refuse(int e)
{
	static int64_t	said;
	struct timeval	tv = { 0, 200000 };	/* for the recv */
	unsigned char	h[16];
	struct buf	b = { 0 };
	int64_t		now = event_now_ms();
	int		fd;

	if (now - said >= 60000) {
		said = now;
		log_warn("accept: %s (%d parked requests hold fds); new "
		    "requests get 503", strerror(e), park_count(w.pk));
	}
	if (w.spare_fd != -1)
		close(w.spare_fd);
	if ((fd = accept4(w.listen_fd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		/* FCGI_BEGIN_REQUEST: its header names the request id */
		if (recv(fd, h, sizeof h, MSG_WAITALL) == sizeof h && h[1] == 1 &&
		    reply_error(&b, 503, "the responder is out of file "
		    "descriptors; try again", "Retry-After: 1\r\n") == 0)
			record_write(fd, (uint16_t)(h[2] << 8 | h[3]), b.p, b.len,
			    1);
		buf_free(&b);
		close(fd);
	}
	w.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		usleep(10000);	/* nothing taken: do not spin */
}

/* Accepts a connection (-1 if another thread took it): a web server that
 * connects and sends nothing costs a thread REQUEST_READ_S at most
 * (libfcgi polls 2 s for the first byte, then would wait for ever). */
static int
accept_one(void)
{
	struct timeval	tv = { REQUEST_READ_S, 0 };
	int		fd, e;

	/* One thread of the worker accepts at a time, so that none takes the
	 * slot the spare fd frees for accept_refuse; requests are read
	 * outside the lock. */
	pthread_mutex_lock(&w.spare_mu);
	fd = accept4(w.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	e = errno;
	if (fd == -1 && (e == EMFILE || e == ENFILE))
		accept_refuse(e);
	pthread_mutex_unlock(&w.spare_mu);
	if (fd == -1) {
		if (e != EMFILE && e != ENFILE && e != EAGAIN && e != EINTR)
			log_debug("accept: %s", strerror(e));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

static void *
accept_main(void *arg)
{
	struct route_ctx	 ctx = { .sg = &w.sg, .pk = w.pk, .slot = w.slot };
	FCGX_Request		 req;
	int			 fd, nice_base;

	(void)arg;
	/*
	 * Delivery before intake: the dispatcher's fan-out of a wave of
	 * answers is not preempted by the re-polls they cause (which find
	 * the new events anyway). Measured (tests/bench, 1,000 long-poll
	 * listeners, 20 messages/s): p99 about a third lower, rates the same.
	 */
	errno = 0;
	nice_base = getpriority(PRIO_PROCESS, 0);
	if (errno == 0)
		setpriority(PRIO_PROCESS, (id_t)gettid(), nice_base + ACCEPT_NICE);
	ctx.st = worker_store();
	if (window_out_alloc(&ctx.out, w.sg.hdr->cap, w.sg.hdr->ring) == -1)
		fatal("out of memory");
	/* No listening socket for libfcgi: it reads requests on connections
	 * we accept, and never accepts one itself (not even on its retry
	 * path), so spare_mu covers every accept of the worker. */
	FCGX_InitRequest(&req, -1, 0);
	while ((fd = accept_wait()) != -1) {
		struct request r;
		bool fresh = fd == w.listen_fd;

		if (fresh && (fd = accept_one()) == -1)
			continue;
		if (request_read(&req, fd, fresh, &r) == -1)
			continue;
		if (r.method == NULL || r.path == NULL) {
			request_free(&r);
			continue;
		}
		route(&ctx, &r);
		request_free(&r);
	}
	window_out_free(&ctx.out);
	store_close(ctx.st);
	return NULL;
}

static void *
waker_main(void *arg)
{
	uint32_t	seen = segment_change(&w.sg);

	(void)arg;
	while (!w.stop) {
		/* Idle, not on the futex, while the worker holds no request:
		 * a request parked meanwhile is checked against its room by
		 * the dispatcher as it takes it. */
		if (!park_wait_busy(w.pk))
			continue;
		if (segment_wait(&w.sg, seen, 1000) == -1 &&
		    segment_change(&w.sg) == seen)
			continue;
		seen = segment_change(&w.sg);
		park_wake(w.pk);
	}
	return NULL;
}

int
worker_main(int listen_fd, int slot)
{
	sigset_t		 set;
	struct epoll_event	 ev;
	struct rlimit		 rl;
	char			 err[256];
	uint64_t		 one = 1;
	int			 sig, i;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	w.listen_fd = listen_fd;
	w.slot = slot;
	opt.seg.create = false;
	if (segment_open(&w.sg, &opt.seg, err, sizeof err) == 0)
		w.sg.history_ms = opt.history_ttl * 1000;
	else
		fatal("%s", err);
	segment_listeners_clear(&w.sg, slot);
	w.st = worker_store();
	w.st->wait_ms = 20;	/* the dispatcher never waits long: a lock
				   holder stopped costs presence, not service */
	if ((w.pk = park_new(&w.sg, w.st, slot)) == NULL)
		fatal("dispatcher: %s", strerror(errno));
	FCGX_Init();
	FCGX_InitRequest(&w.disp_req, -1, 0);
	pthread_mutex_init(&w.spare_mu, NULL);
	pthread_mutex_init(&w.kept_mu, NULL);
	w.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((w.stop_fd = eventfd(0, EFD_CLOEXEC)) == -1)
		fatal("eventfd: %s", strerror(errno));
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	if ((w.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll: %s", strerror(errno));
	/* EPOLLEXCLUSIVE: a connection wakes one worker, and in it one
	 * thread (epoll_wait's waiters are exclusive). */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = listen_fd;
	epoll_ctl(w.ep, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.events = EPOLLIN;
	ev.data.fd = w.stop_fd;
	epoll_ctl(w.ep, EPOLL_CTL_ADD, w.stop_fd, &ev);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		w.nkept = rl.rlim_cur > INT_MAX ? INT_MAX : (int)rl.rlim_cur;
	if ((w.kept = calloc((size_t)w.nkept, 1)) == NULL)
		w.nkept = 0;	/* keeps nothing */
	/* Every signal to sigwait below, but a fault: blocked, the kernel
	 * would kill the worker before a sanitizer could say where. */
	sigfillset(&set);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&w.disp, NULL, park_run, w.pk);
	pthread_create(&w.waker, NULL, waker_main, NULL);
	for (i = 0; i < FCOMET_ACCEPT_THREADS; i++)
		pthread_create(&w.accept[i], NULL, accept_main, NULL);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	do
		sigwait(&set, &sig);
	while (sig != SIGTERM && sig != SIGINT);

	w.stop = 1;	/* accept threads end after their current request */
	if (write(w.stop_fd, &one, sizeof one) == -1)
		fatal("eventfd: %s", strerror(errno));
	for (i = 0; i < FCOMET_ACCEPT_THREADS; i++)
		pthread_join(w.accept[i], NULL);
	/* Idle kept connections: closed now, so that the web server stops
	 * using them while the dispatcher still answers the parked. */
	pthread_mutex_lock(&w.kept_mu);
	for (i = 0; i < w.nkept; i++)
		if (__atomic_load_n(&w.kept[i], __ATOMIC_ACQUIRE))
			close(i);
	pthread_mutex_unlock(&w.kept_mu);
	park_stop(w.pk);
	pthread_join(w.disp, NULL);
	segment_notify(&w.sg);
	pthread_join(w.waker, NULL);
	park_free(w.pk);
	free(w.kept);
	close(w.ep);
	store_close(w.st);
	segment_listeners_clear(&w.sg, slot);
	segment_close(&w.sg);
	return 0;
}
