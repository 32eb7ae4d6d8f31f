/*
 * loadgen.c: COMET listener load through nginx, measured from the client.
 *
 * Opens L listeners on one room, long-poll (GET BASE/listen, HTTP/1.1
 * keep-alive, re-polling with the "last" it got) or Server-Sent Events
 * (GET BASE/stream), waits until the responder reports them all parked
 * (GET BASE/rooms; with --nchan the channel's subscriber count), then
 * publishes M messages at rate R on its own keep-alive connection(s)
 * (POST BASE/send): open loop, a message goes out when it is due on any
 * idle one of --senders C connections, whatever the answers to earlier
 * ones (with C = 1, each waits for the previous answer). Each text is "seq-K-t-NS": the message's sequence
 * number and its send time, so every delivery is timed from send to
 * receipt and checked once per listener (missed, duplicated).
 *
 * Parked means the responder counts them: /status "listeners" less what it
 * counted before we began, so nothing else may come or go on that responder
 * meanwhile (run_listeners starts a fresh one per case).
 *
 * Responder memory: the resident memory of the --pids processes, less
 * what of it is shared memory (RssAnon + RssFile: fcomet's segment, or
 * nchan's shared zone, is a fixed size, counted once as such, not once a
 * process nor as what a listener takes when a sweep touches its pages),
 * before connecting, once all are parked, and at the end;
 * (parked - idle) / L is the figure.
 *
 * One thread, epoll, libc only. Every loop is bounded by --max-seconds.
 * It needs one descriptor per listener: more than the hard RLIMIT_NOFILE
 * allows (20,000 here) is refused; run several loadgens on separate rooms.
 * Output: a table for people, then one line "RESULT key=value ...".
 * Exit 0 when every message reached every listener once, 1 otherwise,
 * 2 on bad usage or setup.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LG_FD_SPARE	32		/* descriptors besides the listeners */
#define LG_MAX_PIDS	64
#define LG_HEAD_MAX	(64 * 1024)	/* a response head larger is an error */
#define LG_LAT_MAX	(64u * 1024 * 1024)	/* deliveries timed at most */
#define LG_PROBE_MS	200		/* between two looks at /rooms */
#define LG_EPOLL_BATCH	512

enum lg_mode { MODE_LP, MODE_SSE };
enum conn_kind { KIND_LISTENER, KIND_SENDER };
enum conn_state {
	ST_IDLE,		/* not connected */
	ST_CONNECTING,		/* connect() in progress */
	ST_HEAD,		/* reading the response head */
	ST_BODY,		/* Content-Length body, or up to EOF */
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA,
	ST_CHUNK_CRLF,
	ST_CHUNK_LAST,		/* after the 0 chunk: trailers, empty line */
};

struct conn {
	int		 fd;
	enum conn_kind	 kind;
	enum conn_state	 st;
	uint32_t	 idx;		/* listener or sender number */
	char		*in;		/* raw bytes read */
	size_t		 inlen, incap, off;
	char		*body;		/* decoded body (SSE: not yet split) */
	size_t		 bodylen, bodycap;
	int		 status;	/* HTTP status of the current response */
	int64_t		 clen;		/* Content-Length, -1 up to EOF */
	uint64_t	 chunk_left;
	bool		 chunked;
	bool		 close_after;	/* Connection: close */
	bool		 ready;		/* LP: request out; SSE: head in */
	bool		 busy;		/* sender: a request is out */
	uint64_t	 since;		/* fcomet cursor */
	char		 etag[96];	/* nchan long-poll cursor */
	char		 lastmod[64];
	int64_t		 t_start;	/* connect() called */
	int		 seq;		/* sender: message in flight */
};

struct lg {
	/* options */
	const char	*host;
	int		 port;
	char		 base[256];	/* path prefix, no trailing slash */
	enum lg_mode	 mode;
	bool		 nchan;
	uint32_t	 nlisteners;
	uint32_t	 nmessages;
	double		 rate;		/* messages/s, 0: back to back */
	uint32_t	 nsenders;
	char		 room[72];
	int		 lp_timeout;	/* timeout= of each long-poll */
	double		 max_seconds;
	double		 connect_rate;	/* new connections a second */
	double		 hold;		/* seconds to hold all parked */
	double		 settle;	/* seconds before reading RSS */
	double		 drain;		/* seconds after the last send */
	pid_t		 pids[LG_MAX_PIDS];
	int		 npids;
	pid_t		 npids_other[LG_MAX_PIDS];	/* nginx, for information */
	int		 nother;
	bool		 quiet;
	char		**tokens;	/* --tokens: listener i uses i % n */
	uint32_t	 ntokens;

	/* state */
	int		 ep;
	struct sockaddr_in sa;
	struct conn	*ls;		/* listeners */
	struct conn	*ss;		/* senders */
	uint32_t	*queue;		/* listeners waiting to (re)connect */
	uint32_t	 qhead, qlen;
	uint64_t	 started;	/* connects begun */
	int64_t		 t0, deadline;
	uint32_t	 nready;
	uint64_t	 since0;	/* room's last id before we began */
	long		 listeners0;	/* the responder's listeners then */

	/* publishing */
	int64_t		*sent_ns;	/* per seq: send time, 0 = not sent */
	int64_t		*sent_id;	/* per seq: the id the responder gave */
	uint32_t	*send_us;	/* per answer: POST to its answer */
	uint32_t	 nsend_us;
	uint32_t	 nsent, nsent_ok, nanswered, send_errors;
	int64_t		 t_pub0, t_pub_end, t_last_delivery;

	/* results */
	uint8_t		*seen;		/* nlisteners x nmessages bits */
	size_t		 seen_row;
	uint64_t	 delivered, dups, foreign, id_mismatch, gaps;
	uint64_t	 http_errors, io_errors, reconnects;
	uint64_t	 answers;	/* long-poll 200s: requests through nginx */
	uint32_t	*lat_us;
	uint64_t	 nlat;
	uint32_t	*conn_us;	/* per listener: first connect to ready */
	uint32_t	 nconn;
	long		 parked_seen;	/* last probe */
	int64_t		 t_parked;
	bool		 all_parked, timed_out;
};

static struct lg	lg;

static void	conn_close(struct conn *);
static void	listener_requeue(struct conn *);

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		die("out of memory (%zu x %zu)", n, sz);
	return p;
}

static void
grow(char **p, size_t *cap, size_t need)
{
	size_t	c = *cap ? *cap : 1024;

	if (need <= *cap)
		return;
	while (c < need)
		c *= 2;
	if ((*p = realloc(*p, c)) == NULL)
		die("out of memory (%zu)", c);
	*cap = c;
}

/* Resident memory of a process but shared memory (RssAnon + RssFile) in
 * KB, -1 if it is gone. */
static long
rss_kb(pid_t pid)
{
	char	path[64], line[256];
	long	kb = -1;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "RssAnon:", 8) == 0 ||
		    strncmp(line, "RssFile:", 8) == 0)
			kb = (kb < 0 ? 0 : kb) + strtol(line + 8, NULL, 10);
	fclose(f);
	return kb;
}

static long
rss_sum(const pid_t *pids, int n)
{
	long	sum = 0, kb;

	for (int i = 0; i < n; i++)
		if ((kb = rss_kb(pids[i])) > 0)
			sum += kb;
	return sum;
}

/* utime + stime of the processes, in clock ticks. */
static long long
cpu_ticks(const pid_t *pids, int n)
{
	char		 path[64], buf[1024], *p;
	long long	 sum = 0;
	FILE		*f;

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL) {
			unsigned long ut = 0, st = 0;
			/* after ")": state and 10 fields, then utime stime */
			if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			    "%*u %*u %lu %lu", &ut, &st) == 2)
				sum += (long long)(ut + st);
		}
		fclose(f);
	}
	return sum;
}

/* Parses "1,2 3" or the output of pgrep -f PATTERN into pids. */
static int
pids_parse(const char *s, pid_t *pids, int max)
{
	int	n = 0;

	while (*s != '\0' && n < max) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s) {
			s++;
			continue;
		}
		if (v > 0)
			pids[n++] = (pid_t)v;
		s = end;
	}
	return n;
}

static int
pids_pgrep(const char *pattern, pid_t *pids, int max)
{
	char	cmd[512], out[4096];
	size_t	len;
	FILE	*f;

	for (const char *p = pattern; *p != '\0'; p++)
		if (*p == '\'')
			die("--pgrep: no quotes in the pattern");
	snprintf(cmd, sizeof cmd, "pgrep -f '%s'", pattern);
	if ((f = popen(cmd, "r")) == NULL)
		die("pgrep: %s", strerror(errno));
	len = fread(out, 1, sizeof out - 1, f);
	out[len] = '\0';
	pclose(f);
	return pids_parse(out, pids, max);
}

/* One blocking request on its own connection; the body into out. */
static int
http_blocking(const char *method, const char *path, const char *hdrs,
    char *out, size_t outsz)
{
	struct timeval	tv = { .tv_sec = 3 };
	char		req[1024];
	size_t		len = 0;
	ssize_t		n;
	int		fd, status = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&lg.sa, sizeof lg.sa) == -1)
		goto out;
	n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\n%s"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", method, path,
	    lg.host, hdrs);
	if (n < 0 || (size_t)n >= sizeof req ||
	    write(fd, req, (size_t)n) != n)
		goto out;
	while (len < outsz - 1 &&
	    (n = read(fd, out + len, outsz - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	if (strncmp(out, "HTTP/1.", 7) == 0 && len > 12)
		status = atoi(out + 9);
	char *b = strstr(out, "\r\n\r\n");
	if (b != NULL)
		memmove(out, b + 4, strlen(b + 4) + 1);
out:
	close(fd);
	return status;
}

/* The room's listeners (fcomet /rooms) or subscribers (nchan); -1. */
static long
probe_parked(uint64_t *last)
{
	static char	buf[1 << 20];
	char		path[512], key[128], *p;
	int		st;

	if (lg.nchan) {
		/* With several nginx workers (reuseport spreads the probes
		 * over them) a worker that does not own the channel may count
		 * only its own subscribers: the largest of a few looks. */
		long best = -1, n;

		snprintf(path, sizeof path, "%s/pub/%s", lg.base, lg.room);
		for (int i = 0; i < 6; i++) {
			st = http_blocking("GET", path, "Accept: text/json\r\n",
			    buf, sizeof buf);
			if (st == 404)
				n = 0;
			else if (st != 200 ||
			    (p = strstr(buf, "\"subscribers\"")) == NULL ||
			    (p = strchr(p, ':')) == NULL)
				n = -1;
			else
				n = strtol(p + 1, NULL, 10);
			if (n > best)
				best = n;
			if (best >= (long)lg.nlisteners)
				break;
		}
		return best;
	}
	/* /rooms names only rooms that hold events: the last id from
	 * there, the listeners from /status (all rooms, less those before). */
	if (last != NULL) {
		snprintf(path, sizeof path, "%s/rooms", lg.base);
		if (http_blocking("GET", path, "", buf, sizeof buf) != 200)
			return -1;
		snprintf(key, sizeof key, "\"room\":\"%s\"", lg.room);
		if ((p = strstr(buf, key)) != NULL &&
		    (p = strstr(p, "\"last\":")) != NULL)
			*last = strtoull(p + 7, NULL, 10);
	}
	snprintf(path, sizeof path, "%s/status", lg.base);
	if (http_blocking("GET", path, "", buf, sizeof buf) != 200 ||
	    (p = strstr(buf, "\"listeners\":")) == NULL)
		return -1;
	return strtol(p + 12, NULL, 10) - lg.listeners0;
}

static void
conn_reset_response(struct conn *c)
{
	c->st = ST_HEAD;
	c->status = 0;
	c->clen = -1;
	c->chunked = false;
	c->close_after = false;
	c->chunk_left = 0;
	c->bodylen = 0;
}

static int
conn_write(struct conn *c, const char *s, size_t len)
{
	ssize_t	n = send(c->fd, s, len, MSG_NOSIGNAL);

	if (n != (ssize_t)len) {	/* a fresh socket takes a small request */
		lg.io_errors++;
		return -1;
	}
	return 0;
}

/* --tokens FILE: one token a line (fcomet --token-key). */
static void
tokens_load(const char *file)
{
	FILE	*f = fopen(file, "r");
	char	 line[8192];

	if (f == NULL)
		die("--tokens %s: %s", file, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		lg.tokens = realloc(lg.tokens, (lg.ntokens + 1) *
		    sizeof *lg.tokens);
		if (lg.tokens == NULL ||
		    (lg.tokens[lg.ntokens++] = strdup(line)) == NULL)
			die("out of memory");
	}
	fclose(f);
	if (lg.ntokens == 0)
		die("--tokens %s: no token", file);
}

/* The listener's next GET. */
static int
listener_request(struct conn *c)
{
	char	req[8192], tok[4200] = "";
	int	n;

	if (lg.ntokens > 0)
		snprintf(tok, sizeof tok, "&token=%s",
		    lg.tokens[c->idx % lg.ntokens]);

	if (lg.nchan) {
		char ims[128] = "", inm[160] = "";
		if (c->lastmod[0])
			snprintf(ims, sizeof ims, "If-Modified-Since: %s\r\n",
			    c->lastmod);
		if (c->etag[0])
			snprintf(inm, sizeof inm, "If-None-Match: %s\r\n",
			    c->etag);
		n = snprintf(req, sizeof req, "GET %s/sub/%s HTTP/1.1\r\n"
		    "Host: %s\r\n%s%s%s\r\n", lg.base, lg.room, lg.host,
		    lg.mode == MODE_SSE ? "Accept: text/event-stream\r\n" : "",
		    ims, inm);
	} else if (lg.mode == MODE_LP)
		n = snprintf(req, sizeof req, "GET %s/listen?room=%s&since=%"
		    PRIu64 "&timeout=%d%s HTTP/1.1\r\nHost: %s\r\n\r\n",
		    lg.base, lg.room, c->since, lg.lp_timeout, tok, lg.host);
	else
		n = snprintf(req, sizeof req, "GET %s/stream?room=%s&since=%"
		    PRIu64 "%s HTTP/1.1\r\nHost: %s\r\n"
		    "Accept: text/event-stream\r\n\r\n", lg.base, lg.room,
		    c->since, tok, lg.host);
	if (n < 0 || (size_t)n >= sizeof req)
		die("request too long");
	conn_reset_response(c);
	return conn_write(c, req, (size_t)n);
}

static void
conn_mod(struct conn *c, uint32_t events)
{
	struct epoll_event	ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(lg.ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/* Starts a non-blocking connect; -1 with the conn left idle. */
static int
conn_open(struct conn *c)
{
	struct epoll_event	ev = { .events = EPOLLOUT, .data.ptr = c };
	int			one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		if (errno == EMFILE || errno == ENFILE)
			die("socket: %s (raise the fd limit)", strerror(errno));
		lg.io_errors++;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->t_start = now_ns();
	c->inlen = c->off = 0;
	c->ready = c->busy = false;
	conn_reset_response(c);
	if (connect(c->fd, (struct sockaddr *)&lg.sa, sizeof lg.sa) == -1 &&
	    errno != EINPROGRESS) {
		lg.io_errors++;
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->st = ST_CONNECTING;
	if (epoll_ctl(lg.ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	c->st = ST_IDLE;
	if (c->kind == KIND_LISTENER && c->ready) {
		c->ready = false;
		lg.nready--;
	}
	c->busy = false;
}

static void
listener_requeue(struct conn *c)
{
	conn_close(c);
	lg.reconnects++;
	lg.queue[(lg.qhead + lg.qlen++) % lg.nlisteners] = c->idx;
}

static void
listener_ready(struct conn *c)
{
	int64_t	us;

	if (c->ready)
		return;
	c->ready = true;
	lg.nready++;
	if (lg.nconn < lg.nlisteners) {
		us = (now_ns() - c->t_start) / 1000;
		lg.conn_us[lg.nconn++] = us > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)us;
	}
}

/* An "id":N shortly before pos in the same event, or -1. */
static int64_t
event_id_before(const char *start, const char *pos)
{
	const char	*p = pos;

	while (p > start && pos - p < 512) {
		p--;
		if (*p == '{' && strncmp(p, "{\"id\":", 6) == 0)
			return (int64_t)strtoll(p + 6, NULL, 10);
	}
	return -1;
}

/* Every "seq-K-t-NS" in the bytes a listener just received. */
static void
deliver(struct conn *c, const char *s, size_t len, int64_t now)
{
	const char	*p = s, *end = s + len;

	while ((p = memmem(p, (size_t)(end - p), "seq-", 4)) != NULL) {
		char *e;
		unsigned long long k = strtoull(p + 4, &e, 10);
		if (e == p + 4 || strncmp(e, "-t-", 3) != 0 ||
		    k >= lg.nmessages || lg.sent_ns[k] == 0) {
			lg.foreign++;
			p += 4;
			continue;
		}
		long long t = strtoll(e + 3, NULL, 10);
		uint8_t *row = lg.seen + (size_t)c->idx * lg.seen_row;
		if (row[k / 8] & (1u << (k % 8))) {
			lg.dups++;
		} else {
			row[k / 8] |= (uint8_t)(1u << (k % 8));
			lg.delivered++;
			lg.t_last_delivery = now;
			if (lg.nlat < (uint64_t)lg.nlisteners * lg.nmessages &&
			    lg.nlat < LG_LAT_MAX) {
				int64_t us = (now - t) / 1000;
				lg.lat_us[lg.nlat++] = us < 0 ? 0 :
				    us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
			}
		}
		if (!lg.nchan) {
			int64_t id = event_id_before(s, p);
			if (lg.sent_id[k] > 0 && id != lg.sent_id[k])
				lg.id_mismatch++;
		}
		p = e;
	}
}

/* A complete long-poll answer: deliveries, then the next cursor. */
static void
listener_lp_answer(struct conn *c, int64_t now)
{
	const char	*p;

	if (c->status == 200) {
		lg.answers++;
		grow(&c->body, &c->bodycap, c->bodylen + 1);
		c->body[c->bodylen] = '\0';
		deliver(c, c->body, c->bodylen, now);
		if (!lg.nchan) {
			if ((p = strstr(c->body, "\"last\":")) != NULL)
				c->since = strtoull(p + 7, NULL, 10);
			if (strstr(c->body, "\"gap\":true") != NULL ||
			    strstr(c->body, "\"reset\":true") != NULL)
				lg.gaps++;
		}
	} else if (!(lg.nchan && c->status == 304))
		lg.http_errors++;
	if (c->close_after || (lg.nchan && c->status != 200 &&
	    c->status != 304)) {
		listener_requeue(c);
		return;
	}
	if (listener_request(c) == -1)
		listener_requeue(c);
}

/* Splits the stream into events at blank lines and takes each. */
static void
listener_sse_scan(struct conn *c, int64_t now)
{
	char	*b = c->body, *e;
	size_t	 left = c->bodylen;

	while ((e = memmem(b, left, "\n\n", 2)) != NULL) {
		size_t n = (size_t)(e - b) + 2;
		if (!lg.nchan && strncmp(b, "id: ", 4) == 0)
			c->since = strtoull(b + 4, NULL, 10);
		if (memmem(b, n, "event: gap", 10) != NULL ||
		    memmem(b, n, "event: reset", 12) != NULL)
			lg.gaps++;
		deliver(c, b, n, now);
		b += n;
		left -= n;
	}
	if (b != c->body) {
		memmove(c->body, b, left);
		c->bodylen = left;
	}
}

static void
body_append(struct conn *c, const char *s, size_t n)
{
	grow(&c->body, &c->bodycap, c->bodylen + n + 1);
	memcpy(c->body + c->bodylen, s, n);
	c->bodylen += n;
}

static void
head_parse(struct conn *c, char *h, size_t len)
{
	char	*line = h, *end = h + len, *nl;

	c->status = strncmp(h, "HTTP/1.", 7) == 0 ? atoi(h + 9) : -1;
	while (line < end && (nl = memchr(line, '\n', (size_t)(end - line)))) {
		char *v = memchr(line, ':', (size_t)(nl - line));
		size_t klen = v ? (size_t)(v - line) : 0, vlen;
		if (v != NULL) {
			v++;
			while (*v == ' ')
				v++;
			vlen = (size_t)(nl - v);
			if (vlen > 0 && v[vlen - 1] == '\r')
				vlen--;
#define HDR(k) (klen == sizeof k - 1 && strncasecmp(line, k, klen) == 0)
			if (HDR("Content-Length"))
				c->clen = strtoll(v, NULL, 10);
			else if (HDR("Transfer-Encoding") &&
			    strncasecmp(v, "chunked", 7) == 0)
				c->chunked = true;
			else if (HDR("Connection") &&
			    strncasecmp(v, "close", 5) == 0)
				c->close_after = true;
			else if (HDR("Etag") && vlen < sizeof c->etag) {
				memcpy(c->etag, v, vlen);
				c->etag[vlen] = '\0';
			} else if (HDR("Last-Modified") &&
			    vlen < sizeof c->lastmod) {
				memcpy(c->lastmod, v, vlen);
				c->lastmod[vlen] = '\0';
			}
#undef HDR
		}
		line = nl + 1;
	}
}

/*
 * Decodes what has arrived: 1 when a response is complete, 0 for more,
 * -1 on a malformed response.
 */
static int
http_parse(struct conn *c)
{
	for (;;) {
		char	*p = c->in + c->off, *e;
		size_t	 n = c->inlen - c->off, take;

		switch (c->st) {
		case ST_HEAD:
			if ((e = memmem(p, n, "\r\n\r\n", 4)) == NULL)
				return n > LG_HEAD_MAX ? -1 : 0;
			head_parse(c, p, (size_t)(e - p) + 4);
			c->off += (size_t)(e - p) + 4;
			if (c->chunked)
				c->st = ST_CHUNK_SIZE;
			else if (c->clen == 0 || c->status == 304 ||
			    c->status == 204)
				return 1;
			else
				c->st = ST_BODY;
			if (c->kind == KIND_LISTENER && lg.mode == MODE_SSE &&
			    c->status == 200)
				listener_ready(c);
			break;
		case ST_BODY:
			take = n;
			if (c->clen >= 0 &&
			    take > (size_t)c->clen - c->bodylen)
				take = (size_t)c->clen - c->bodylen;
			body_append(c, p, take);
			c->off += take;
			if (c->clen >= 0 && c->bodylen == (size_t)c->clen)
				return 1;
			return 0;
		case ST_CHUNK_SIZE:
			if ((e = memmem(p, n, "\r\n", 2)) == NULL)
				return n > 64 ? -1 : 0;
			if (!isxdigit((unsigned char)*p))
				return -1;
			c->chunk_left = strtoull(p, NULL, 16);
			c->off += (size_t)(e - p) + 2;
			c->st = c->chunk_left ? ST_CHUNK_DATA : ST_CHUNK_LAST;
			break;
		case ST_CHUNK_DATA:
			if (n == 0)
				return 0;
			take = n < c->chunk_left ? n : (size_t)c->chunk_left;
			body_append(c, p, take);
			c->off += take;
			if ((c->chunk_left -= take) == 0)
				c->st = ST_CHUNK_CRLF;
			break;
		case ST_CHUNK_CRLF:
			if (n < 2)
				return 0;
			if (p[0] != '\r' || p[1] != '\n')
				return -1;
			c->off += 2;
			c->st = ST_CHUNK_SIZE;
			break;
		case ST_CHUNK_LAST:
			if ((e = memmem(p, n, "\r\n", 2)) == NULL)
				return 0;
			c->off += (size_t)(e - p) + 2;
			if (e == p)
				return 1;
			break;		/* a trailer line */
		default:
			return -1;
		}
	}
}

static void	sender_answer(struct conn *, int64_t);

/* Reads what the socket holds; acts on each complete response. */
static void
conn_readable(struct conn *c, int64_t now)
{
	ssize_t	n;
	int	rc;
	bool	eof = false;

	for (;;) {
		grow(&c->in, &c->incap, c->inlen + 16384);
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen,
		    MSG_DONTWAIT);
		if (n > 0) {
			c->inlen += (size_t)n;
			if ((size_t)n < 16384)
				break;
			continue;
		}
		if (n == 0)
			eof = true;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN)
			eof = true, lg.io_errors++;
		break;
	}
	while (c->fd != -1 && c->off < c->inlen) {
		rc = http_parse(c);
		if (c->kind == KIND_LISTENER && lg.mode == MODE_SSE &&
		    c->bodylen > 0)
			listener_sse_scan(c, now);
		if (rc == 0)
			break;
		if (rc == -1) {
			lg.http_errors++;
			eof = true;
			break;
		}
		if (c->kind == KIND_SENDER)
			sender_answer(c, now);
		else if (lg.mode == MODE_LP)
			listener_lp_answer(c, now);
		else {
			if (c->status != 200)
				lg.http_errors++;
			listener_requeue(c);	/* a stream ended */
		}
	}
	if (c->fd != -1) {
		memmove(c->in, c->in + c->off, c->inlen - c->off);
		c->inlen -= c->off;
		c->off = 0;
	}
	if (!eof || c->fd == -1)
		return;
	if (c->kind == KIND_SENDER) {
		if (c->busy)
			lg.send_errors++, lg.nanswered++;
		conn_close(c);
	} else {
		if (c->st == ST_BODY && c->clen < 0 && lg.mode == MODE_LP)
			listener_lp_answer(c, now);	/* body up to EOF */
		listener_requeue(c);
	}
}

static void
conn_connected(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof err;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0) {
		lg.io_errors++;
		if (c->kind == KIND_LISTENER)
			listener_requeue(c);
		else
			conn_close(c);
		return;
	}
	conn_mod(c, EPOLLIN | EPOLLRDHUP);
	c->st = ST_HEAD;
	if (c->kind == KIND_SENDER)
		return;
	if (listener_request(c) == -1) {
		listener_requeue(c);
		return;
	}
	if (lg.mode == MODE_LP)
		listener_ready(c);	/* parked once the responder says so */
}

static void
sender_answer(struct conn *c, int64_t now)
{
	const char	*p;

	if (!c->busy)
		return;
	c->busy = false;
	lg.nanswered++;
	if (lg.nsend_us < lg.nmessages)
		lg.send_us[lg.nsend_us++] =
		    (uint32_t)((now - lg.sent_ns[c->seq]) / 1000);
	if (c->status == 200 || (lg.nchan && (c->status == 201 ||
	    c->status == 202))) {
		lg.nsent_ok++;
		if (!lg.nchan) {
			grow(&c->body, &c->bodycap, c->bodylen + 1);
			c->body[c->bodylen] = '\0';
			if ((p = strstr(c->body, "\"id\":")) != NULL)
				lg.sent_id[c->seq] = strtoll(p + 5, NULL, 10);
		}
	} else
		lg.send_errors++;
	if (c->close_after)
		conn_close(c);
}

/*
 * Publishes message seq on c: its text carries seq and the time it was
 * due (at --rate R, t0 + seq / R), so a send that waited for a free
 * sender connection counts that wait in every latency (no coordinated
 * omission: a slow responder cannot slow the load it is offered).
 */
static void
sender_send(struct conn *c, uint32_t seq)
{
	char	req[8192], body[256], authz[4200] = "";
	int	n, bn;
	int64_t	t = now_ns();

	if (lg.rate > 0 && seq > 0 && lg.t_pub0 + (int64_t)(seq * 1e9 /
	    lg.rate) < t)
		t = lg.t_pub0 + (int64_t)(seq * 1e9 / lg.rate);

	if (lg.nchan)
		bn = snprintf(body, sizeof body, "seq-%u-t-%" PRId64, seq, t);
	else	/* with tokens the nick is the first token's sub */
		bn = snprintf(body, sizeof body, "room=%s%s&"
		    "text=seq-%u-t-%" PRId64, lg.room, lg.ntokens ? "" :
		    "&nick=loadgen", seq, t);
	if (lg.ntokens > 0)
		snprintf(authz, sizeof authz, "Authorization: Bearer %s\r\n",
		    lg.tokens[0]);
	n = snprintf(req, sizeof req, "POST %s%s%s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n%s", lg.base,
	    lg.nchan ? "/pub/" : "/send", lg.nchan ? lg.room : "", lg.host,
	    lg.nchan ? "text/plain" : "application/x-www-form-urlencoded", bn,
	    lg.nchan ? "Accept: text/json\r\n" : "", authz, body);
	lg.sent_ns[seq] = t;
	if (lg.nsent == 0)
		lg.t_pub0 = t;
	lg.nsent++;
	conn_reset_response(c);
	c->busy = true;
	c->seq = (int)seq;
	if (conn_write(c, req, (size_t)n) == -1) {
		lg.send_errors++;
		lg.nanswered++;
		conn_close(c);
	}
}

/* Sends what is due; opens sender connections as needed. */
static void
publish_some(int64_t now)
{
	for (uint32_t i = 0; i < lg.nsenders && lg.nsent < lg.nmessages; i++) {
		struct conn *c = &lg.ss[i];
		if (lg.rate > 0 && now < lg.t_pub0 +
		    (int64_t)(lg.nsent * 1e9 / lg.rate) && lg.nsent > 0)
			return;
		if (c->st == ST_IDLE) {
			conn_open(c);
			continue;
		}
		if (c->st == ST_CONNECTING || c->busy)
			continue;
		sender_send(c, lg.nsent);
	}
}

/* Starts queued listener connections at --connect-rate. */
static void
connect_some(int64_t now)
{
	double	allowed = (double)(now - lg.t0) / 1e9 * lg.connect_rate + 64;

	while (lg.qlen > 0 && (double)lg.started < allowed) {
		struct conn *c = &lg.ls[lg.queue[lg.qhead]];
		lg.qhead = (lg.qhead + 1) % lg.nlisteners;
		lg.qlen--;
		lg.started++;
		if (conn_open(c) == -1)
			lg.queue[(lg.qhead + lg.qlen++) % lg.nlisteners] =
			    c->idx;
	}
}

static void
fd_limit(void)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)lg.nlisteners + lg.nsenders +
			    LG_FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("setrlimit: %s", strerror(errno));
	if (need > rl.rlim_cur)
		die("%u listeners need %llu descriptors, the hard limit is %llu:"
		    " run several loadgens (each on its own room) with fewer "
		    "--listeners", lg.nlisteners, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

/* Busy share of all cores since the last call, from /proc/stat. */
static double
machine_busy(void)
{
	static unsigned long long	last_busy, last_total;
	unsigned long long		v[8] = { 0 }, busy, total = 0;
	double				pct = -1;
	FILE				*f;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			total += v[i];
		busy = total - v[3] - v[4];	/* less idle and iowait */
		if (total > last_total)
			pct = 100.0 * (double)(busy - last_busy) /
			    (double)(total - last_total);
		last_busy = busy;
		last_total = total;
	}
	fclose(f);
	return pct;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v, in ms. */
static double
quant_ms(const uint32_t *v, uint64_t n, double q)
{
	uint64_t	i;

	if (n == 0)
		return 0;
	i = (uint64_t)(q * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: loadgen --url http://127.0.0.1:PORT/BASE [--mode lp|sse] [--nchan]\n"
"  [--listeners L] [--messages M] [--rate R] [--senders C] [--room R]\n"
"  [--timeout S] [--max-seconds T] [--connect-rate N] [--hold S]\n"
"  [--settle S] [--drain S] [--pids LIST | --pgrep PATTERN]\n"
"  [--other-pids LIST] [--tokens FILE] [--quiet]\n");
	exit(2);
}

static void
url_parse(const char *url)
{
	static char	host[64];
	const char	*p, *slash;
	size_t		 n;

	if (strncmp(url, "http://", 7) != 0)
		die("--url: http://127.0.0.1:PORT/BASE");
	p = url + 7;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n >= sizeof host)
		die("--url: host too long");
	memcpy(host, p, n);
	host[n] = '\0';
	char *colon = strchr(host, ':');
	lg.port = 80;
	if (colon != NULL) {
		*colon = '\0';
		lg.port = atoi(colon + 1);
	}
	lg.host = host;
	snprintf(lg.base, sizeof lg.base, "%s", slash ? slash : "");
	n = strlen(lg.base);
	while (n > 0 && lg.base[n - 1] == '/')
		lg.base[--n] = '\0';
	lg.sa.sin_family = AF_INET;
	lg.sa.sin_port = htons((uint16_t)lg.port);
	if (inet_pton(AF_INET, host, &lg.sa.sin_addr) != 1)
		die("--url: give an IPv4 address, not %s", host);
}

static void
options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "mode", required_argument, NULL, 'm' },
		{ "nchan", no_argument, NULL, 'N' },
		{ "listeners", required_argument, NULL, 'l' },
		{ "messages", required_argument, NULL, 'M' },
		{ "rate", required_argument, NULL, 'r' },
		{ "senders", required_argument, NULL, 'c' },
		{ "room", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "connect-rate", required_argument, NULL, 'C' },
		{ "hold", required_argument, NULL, 'H' },
		{ "settle", required_argument, NULL, 's' },
		{ "drain", required_argument, NULL, 'd' },
		{ "pids", required_argument, NULL, 'p' },
		{ "pgrep", required_argument, NULL, 'g' },
		{ "other-pids", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "tokens", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*url = NULL;
	int		 ch;

	lg.mode = MODE_LP;
	lg.nlisteners = 100;
	lg.nmessages = 10;
	lg.nsenders = 1;
	lg.lp_timeout = 120;
	lg.max_seconds = 120;
	lg.connect_rate = 4000;
	lg.settle = 1;
	lg.drain = 20;
	snprintf(lg.room, sizeof lg.room, "bench%d", (int)getpid());
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'm':
			if (strcmp(optarg, "lp") == 0)
				lg.mode = MODE_LP;
			else if (strcmp(optarg, "sse") == 0)
				lg.mode = MODE_SSE;
			else
				usage();
			break;
		case 'N': lg.nchan = true; break;
		case 'l': lg.nlisteners = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'M': lg.nmessages = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r': lg.rate = atof(optarg); break;
		case 'c': lg.nsenders = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'R': snprintf(lg.room, sizeof lg.room, "%s", optarg);
			break;
		case 'T': lg.lp_timeout = atoi(optarg); break;
		case 't': lg.max_seconds = atof(optarg); break;
		case 'C': lg.connect_rate = atof(optarg); break;
		case 'H': lg.hold = atof(optarg); break;
		case 's': lg.settle = atof(optarg); break;
		case 'd': lg.drain = atof(optarg); break;
		case 'p': lg.npids = pids_parse(optarg, lg.pids, LG_MAX_PIDS);
			break;
		case 'g': lg.npids = pids_pgrep(optarg, lg.pids, LG_MAX_PIDS);
			break;
		case 'o': lg.nother = pids_parse(optarg, lg.npids_other,
			    LG_MAX_PIDS);
			break;
		case 'q': lg.quiet = true; break;
		case 'K': tokens_load(optarg); break;
		default: usage();
		}
	}
	if (url == NULL || optind != argc)
		usage();
	url_parse(url);
	if (lg.nlisteners == 0 || lg.nmessages == 0 || lg.nsenders == 0 ||
	    lg.nsenders > 64 || lg.max_seconds <= 0 || lg.connect_rate <= 0)
		die("--listeners, --messages, --senders (<= 64), --max-seconds "
		    "and --connect-rate must be positive");
	if ((uint64_t)lg.nlisteners * lg.nmessages / 8 > (1ull << 31))
		die("--listeners x --messages too large");
}

static void
setup(void)
{
	uint64_t	pairs = (uint64_t)lg.nlisteners * lg.nmessages;

	fd_limit();
	signal(SIGPIPE, SIG_IGN);
	if ((lg.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	lg.ls = xcalloc(lg.nlisteners, sizeof *lg.ls);
	lg.ss = xcalloc(lg.nsenders, sizeof *lg.ss);
	lg.queue = xcalloc(lg.nlisteners, sizeof *lg.queue);
	lg.conn_us = xcalloc(lg.nlisteners, sizeof *lg.conn_us);
	lg.sent_ns = xcalloc(lg.nmessages, sizeof *lg.sent_ns);
	lg.sent_id = xcalloc(lg.nmessages, sizeof *lg.sent_id);
	lg.send_us = xcalloc(lg.nmessages, sizeof *lg.send_us);
	lg.seen_row = (lg.nmessages + 7) / 8;
	lg.seen = xcalloc(lg.nlisteners, lg.seen_row);
	lg.lat_us = xcalloc(pairs < LG_LAT_MAX ? pairs : LG_LAT_MAX,
	    sizeof *lg.lat_us);
	for (uint32_t i = 0; i < lg.nlisteners; i++) {
		lg.ls[i].fd = -1;
		lg.ls[i].kind = KIND_LISTENER;
		lg.ls[i].idx = i;
		lg.queue[i] = i;
	}
	lg.qlen = lg.nlisteners;
	for (uint32_t i = 0; i < lg.nsenders; i++) {
		lg.ss[i].fd = -1;
		lg.ss[i].kind = KIND_SENDER;
		lg.ss[i].idx = i;
	}
}

static void
events_handle(int timeout_ms)
{
	struct epoll_event	evs[LG_EPOLL_BATCH];
	int			n;
	int64_t			now;

	n = epoll_wait(lg.ep, evs, LG_EPOLL_BATCH, timeout_ms);
	if (n == -1 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	now = now_ns();
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		if (c->fd == -1)
			continue;
		if (c->st == ST_CONNECTING)
			conn_connected(c);
		else
			conn_readable(c, now);
	}
}

static bool
deadline_passed(void)
{
	if (now_ns() < lg.deadline)
		return false;
	lg.timed_out = true;
	return true;
}

/* Connects every listener and waits until the responder has them all. */
static void
phase_park(void)
{
	int64_t	next_probe = 0, now;

	while (!deadline_passed()) {
		now = now_ns();
		connect_some(now);
		if (lg.nready == lg.nlisteners && now >= next_probe) {
			lg.parked_seen = probe_parked(NULL);
			next_probe = now_ns() + LG_PROBE_MS * 1000000LL;
			if (lg.parked_seen >= (long)lg.nlisteners) {
				lg.all_parked = true;
				lg.t_parked = now_ns();
				return;
			}
		}
		events_handle(lg.nready == lg.nlisteners ? LG_PROBE_MS / 4 :
		    5);
	}
}

/* Keeps the connections serviced for secs (bounded by the deadline). */
static void
phase_wait(double secs)
{
	int64_t	until = now_ns() + (int64_t)(secs * 1e9);

	while (now_ns() < until && !deadline_passed()) {
		connect_some(now_ns());
		events_handle(20);
	}
}

static void
phase_publish(void)
{
	int64_t	drain_until = 0;
	uint64_t expected;

	while (!deadline_passed()) {
		int64_t now = now_ns();
		connect_some(now);
		publish_some(now);
		if (lg.nsent == lg.nmessages && lg.nanswered == lg.nsent) {
			if (drain_until == 0) {
				lg.t_pub_end = now;
				drain_until = now + (int64_t)(lg.drain * 1e9);
			}
			expected = (uint64_t)lg.nsent_ok * lg.nlisteners;
			if (lg.delivered >= expected || now >= drain_until)
				return;
		}
		events_handle(lg.rate > 0 ? 1 : 5);
	}
}

static void
report(long rss_idle, long rss_parked, long rss_end, long oth_idle,
    long oth_parked, double pub_cpu_s, double oth_cpu_s)
{
	struct rusage	ru;
	uint64_t	expected = (uint64_t)lg.nsent_ok * lg.nlisteners;
	uint64_t	missed = expected > lg.delivered ? expected -
			    lg.delivered : 0;
	double		wall = (double)(now_ns() - lg.t0) / 1e9;
	double		cpu, connect_s, deliv_s, dps, kb_per, oth_per;
	double		p50, p99, pmax, c50, c99, s50, s99;
	const char	*mode = lg.mode == MODE_LP ? "lp" : "sse";
	double		pub_s = lg.t_pub_end > lg.t_pub0 ?
			    (double)(lg.t_pub_end - lg.t_pub0) / 1e9 : 0;

	double		busy = machine_busy(), load = -1;
	FILE		*lf;

	if ((lf = fopen("/proc/loadavg", "r")) != NULL) {
		if (fscanf(lf, "%lf", &load) != 1)
			load = -1;
		fclose(lf);
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	qsort(lg.lat_us, lg.nlat, sizeof *lg.lat_us, cmp_u32);
	qsort(lg.conn_us, lg.nconn, sizeof *lg.conn_us, cmp_u32);
	qsort(lg.send_us, lg.nsend_us, sizeof *lg.send_us, cmp_u32);
	s50 = quant_ms(lg.send_us, lg.nsend_us, 0.50);
	s99 = quant_ms(lg.send_us, lg.nsend_us, 0.99);
	p50 = quant_ms(lg.lat_us, lg.nlat, 0.50);
	p99 = quant_ms(lg.lat_us, lg.nlat, 0.99);
	pmax = lg.nlat ? lg.lat_us[lg.nlat - 1] / 1000.0 : 0;
	c50 = quant_ms(lg.conn_us, lg.nconn, 0.50);
	c99 = quant_ms(lg.conn_us, lg.nconn, 0.99);
	connect_s = lg.all_parked ? (double)(lg.t_parked - lg.t0) / 1e9 : -1;
	deliv_s = lg.t_last_delivery > lg.t_pub0 ?
	    (double)(lg.t_last_delivery - lg.t_pub0) / 1e9 : 0;
	dps = deliv_s > 0 ? (double)lg.delivered / deliv_s : 0;
	kb_per = rss_parked > 0 && rss_idle > 0 ?
	    (double)(rss_parked - rss_idle) / lg.nlisteners : -1;
	oth_per = oth_parked > 0 && oth_idle > 0 ?
	    (double)(oth_parked - oth_idle) / lg.nlisteners : -1;

	printf("loadgen %s%s: %u listeners, %u messages at %s%.0f/s, "
	    "room %s, %s:%d%s\n", lg.nchan ? "nchan " : "", mode,
	    lg.nlisteners, lg.nmessages, lg.rate > 0 ? "" : "max ",
	    lg.rate, lg.room, lg.host, lg.port, lg.base);
	printf("  %-34s %u of %u%s\n", "parked (responder count)",
	    (unsigned)(lg.parked_seen > 0 ? lg.parked_seen : 0),
	    lg.nlisteners, lg.all_parked ? "" : "  NOT ALL PARKED");
	printf("  %-34s %.2f s (ready p50 %.2f ms, p99 %.2f ms)\n",
	    "connect, all parked in", connect_s, c50, c99);
	printf("  %-34s %u sent, %u ok, %u errors in %.3f s\n", "messages",
	    lg.nsent, lg.nsent_ok, lg.send_errors, pub_s);
	printf("  %-34s p50 %.2f ms, p99 %.2f ms\n", "send round trip", s50,
	    s99);
	printf("  %-34s %" PRIu64 " of %" PRIu64 ", missed %" PRIu64
	    ", dup %" PRIu64 "\n", "deliveries", lg.delivered, expected,
	    missed, lg.dups);
	printf("  %-34s %.0f /s over %.3f s\n", "delivery rate", dps,
	    deliv_s);
	printf("  %-34s p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	    "latency send->receipt", p50, p99, pmax);
	printf("  %-34s gaps %" PRIu64 ", id mismatches %" PRIu64
	    ", foreign %" PRIu64 "\n", "protocol", lg.gaps, lg.id_mismatch,
	    lg.foreign);
	printf("  %-34s http %" PRIu64 ", io %" PRIu64 ", reconnects %"
	    PRIu64 "\n", "errors", lg.http_errors, lg.io_errors,
	    lg.reconnects);
	if (lg.npids > 0) {
		printf("  %-34s idle %ld KB, parked %ld KB, end %ld KB "
		    "(%d processes)\n", "responder RSS", rss_idle, rss_parked,
		    rss_end, lg.npids);
		printf("  %-34s %.2f KB\n", "responder KB per parked listener",
		    kb_per);
		printf("  %-34s %.2f s (%.0f%% of one core), %.1f us per "
		    "delivery\n", "responder CPU while publishing", pub_cpu_s,
		    deliv_s > 0 ? 100 * pub_cpu_s / deliv_s : 0,
		    lg.delivered ? 1e6 * pub_cpu_s / (double)lg.delivered : 0);
	}
	if (lg.nother > 0)
		printf("  %-34s %.2f KB (idle %ld, parked %ld KB), CPU "
		    "while publishing %.2f s\n", "other (nginx) KB per listener",
		    oth_per, oth_idle, oth_parked, oth_cpu_s);
	printf("  %-34s %.2f s CPU in %.2f s (%.0f%% of one core), "
	    "max RSS %ld KB\n", "loadgen itself", cpu, wall,
	    100 * cpu / wall, ru.ru_maxrss);
	printf("  %-34s %.0f%% of all cores busy during the run, load "
	    "average %.1f\n", "machine (everything on it)", busy, load);
	if (lg.timed_out)
		printf("  DEADLINE: --max-seconds %.0f passed\n",
		    lg.max_seconds);

	printf("RESULT impl=%s mode=%s listeners=%u parked=%ld all_parked=%d "
	    "messages=%u rate=%.0f sent=%u sent_ok=%u send_errors=%u "
	    "expected=%" PRIu64 " delivered=%" PRIu64 " missed=%" PRIu64
	    " dup=%" PRIu64 " gaps=%" PRIu64 " id_mismatch=%" PRIu64
	    " http_errors=%" PRIu64 " io_errors=%" PRIu64 " reconnects=%"
	    PRIu64 " connect_s=%.3f ready_p50_ms=%.3f ready_p99_ms=%.3f "
	    "send_p50_ms=%.3f send_p99_ms=%.3f "
	    "deliveries_per_s=%.0f lat_p50_ms=%.3f lat_p99_ms=%.3f "
	    "lat_max_ms=%.3f rss_idle_kb=%ld rss_parked_kb=%ld "
	    "rss_end_kb=%ld kb_per_listener=%.2f other_kb_per_listener=%.2f "
	    "publish_s=%.3f responder_cpu_s=%.2f other_cpu_s=%.2f "
	    "responder_us_per_delivery=%.2f other_us_per_delivery=%.2f "
	    "answers=%" PRIu64 " responder_us_per_answer=%.2f "
	    "other_us_per_answer=%.2f self_cpu_s=%.2f wall_s=%.2f "
	    "self_cpu_pct=%.0f machine_busy_pct=%.0f loadavg=%.1f timed_out=%d\n",
	    lg.nchan ? "nchan" : "fcomet", mode, lg.nlisteners,
	    lg.parked_seen, lg.all_parked, lg.nmessages, lg.rate, lg.nsent,
	    lg.nsent_ok, lg.send_errors, expected, lg.delivered, missed,
	    lg.dups, lg.gaps, lg.id_mismatch, lg.http_errors, lg.io_errors,
	    lg.reconnects, connect_s, c50, c99, s50, s99, dps, p50, p99, pmax, rss_idle,
	    rss_parked, rss_end, kb_per, oth_per, pub_s, pub_cpu_s, oth_cpu_s,
	    lg.delivered ? 1e6 * pub_cpu_s / (double)lg.delivered : 0,
	    lg.delivered ? 1e6 * oth_cpu_s / (double)lg.delivered : 0,
	    lg.answers,
	    lg.answers ? 1e6 * pub_cpu_s / (double)lg.answers : 0,
	    lg.answers ? 1e6 * oth_cpu_s / (double)lg.answers : 0,
	    cpu, wall,
	    100 * cpu / wall, busy, load, lg.timed_out);
}

int
main(int argc, char **argv)
{
	long		rss_idle, rss_parked = -1, rss_end, oth_idle, oth_parked = -1;
	long long	ticks0 = 0, ticks1 = 0, oticks0 = 0, oticks1 = 0;
	long		hz = sysconf(_SC_CLK_TCK);
	uint64_t	expected;

	options(argc, argv);
	setup();
	machine_busy();
	lg.t0 = now_ns();
	lg.deadline = lg.t0 + (int64_t)(lg.max_seconds * 1e9);

	if ((lg.listeners0 = probe_parked(&lg.since0)) < 0)
		die("cannot read the room's state at %s:%d%s (is it up?)",
		    lg.host, lg.port, lg.base);
	for (uint32_t i = 0; i < lg.nlisteners; i++)
		lg.ls[i].since = lg.since0;
	rss_idle = rss_sum(lg.pids, lg.npids);
	oth_idle = rss_sum(lg.npids_other, lg.nother);

	phase_park();
	if (!lg.timed_out) {
		phase_wait(lg.settle);
		rss_parked = rss_sum(lg.pids, lg.npids);
		oth_parked = rss_sum(lg.npids_other, lg.nother);
		if (lg.hold > 0) {
			uint64_t before = lg.reconnects;
			phase_wait(lg.hold);
			long again = probe_parked(NULL);
			if (!lg.quiet)
				fprintf(stderr, "loadgen: held %.0f s: %ld "
				    "parked, %" PRIu64 " reconnects\n",
				    lg.hold, again, lg.reconnects - before);
			if (again < (long)lg.nlisteners)
				lg.all_parked = false;
			lg.parked_seen = again;
		}
	}
	if (!lg.timed_out) {
		ticks0 = cpu_ticks(lg.pids, lg.npids);
		oticks0 = cpu_ticks(lg.npids_other, lg.nother);
		phase_publish();
		ticks1 = cpu_ticks(lg.pids, lg.npids);
		oticks1 = cpu_ticks(lg.npids_other, lg.nother);
	}
	rss_end = rss_sum(lg.pids, lg.npids);
	report(rss_idle, rss_parked, rss_end, oth_idle, oth_parked,
	    (double)(ticks1 - ticks0) / (double)hz,
	    (double)(oticks1 - oticks0) / (double)hz);
	fflush(stdout);
	expected = (uint64_t)lg.nsent_ok * lg.nlisteners;
	return lg.all_parked && !lg.timed_out && lg.nsent_ok == lg.nmessages &&
	    lg.delivered == expected && lg.dups == 0 && lg.id_mismatch == 0 ?
	    0 : 1;
}
