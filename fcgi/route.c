/*
 * route.c: path -> handler, one small function per endpoint. A handler
 * answers at once, or parks a /listen or /stream with the dispatcher.
 * Every bad request is a 4xx: nothing here may take the worker down.
 * The read-only reports (/who, /rooms, /status, /metrics) are report.c's.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "event.h"
#include "fcomet.h"
#include "fields.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "reply.h"
#include "route.h"

struct route {
	const char	*name;
	const char	*method;
	void		(*fn)(struct route_ctx *, struct request *);
};

static void	h_send(struct route_ctx *, struct request *);
static void	h_listen(struct route_ctx *, struct request *);
static void	h_stream(struct route_ctx *, struct request *);

static const struct route routes[] = {
	{ "send",	"POST",	h_send },
	{ "listen",	"GET",	h_listen },
	{ "stream",	"GET",	h_stream },
	{ "who",	"GET",	h_who },
	{ "rooms",	"GET",	h_rooms },
	{ "status",	"GET",	h_status },
	{ "metrics",	"GET",	h_metrics },
};

static struct segment	*counted;	/* the worker's: requests counted */

/* The request is answered, or the connection unusable (keep
 * CONN_CLOSE): kept or closed, by the dispatcher if it read the request. */
static void
request_done(struct request *r)
{
	if (r->conn != NULL)
		park_answered(r->conn, r->keep != CONN_CLOSE);
	else
		worker_done(r->fd, r->keep);
	r->fd = -1;
}

/* The access line of a send: room, id, address, status. */
static void
log_send(const struct request *r, int status)
{
	char	room[3 * EVENT_ROOM_MAX + 8], addr[160];

	log_event("event=send room=%s id=%lld addr=%s status=%d",
	    log_quote(room, sizeof room, r->send_room ? r->send_room : ""),
	    (long long)r->send_id,
	    log_quote(addr, sizeof addr, r->addr ? r->addr : ""), status);
}

/* Sends a whole response and ends the request. */
void
respond(struct request *r, struct buf *b)
{
	static const char	st[] = "Status: ";
	const char		*d;

	/* b is not a C string: no sscanf (it would look for a NUL). */
	if (counted != NULL && b->p != NULL && b->len >= sizeof st + 2 &&
	    memcmp(b->p, st, sizeof st - 1) == 0 &&
	    (d = b->p + sizeof st - 1)[0] >= '1' && d[0] <= '5' &&
	    d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9') {
		int status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + d[2] - '0';
		metrics_request(counted, r->route, status);
		if (r->route == METRICS_SEND)
			log_send(r, status);
	}
	if (b->p == NULL || record_write(r->fd, r->id, b->p, b->len, 1) ==
	    -1) {
		if (b->p != NULL)
			log_debug("write: %s", strerror(errno));
		r->keep = CONN_CLOSE;	/* not answered, or not wholly */
	}
	buf_free(b);
	request_done(r);
}

void
fail(struct request *r, int status, const char *message, const char *extra)
{
	struct buf	b = { 0 };

	reply_error(&b, status, message, extra);
	respond(r, &b);
}

/* A refusal of auth_room: 401 with the Bearer challenge, or 403. */
void
refuse(struct request *r, const struct auth_result *ar)
{
	fail(r, ar->status, ar->why, ar->status != 401 ? NULL :
	    r->authz || r->token ? "WWW-Authenticate: Bearer realm=\"fcomet\", "
	    "error=\"invalid_token\"\r\n" :
	    "WWW-Authenticate: Bearer realm=\"fcomet\"\r\n");
}

/* The nick field, given with a token, is the token's sub or a 403. */
static int
nick_is_sub(struct request *r, const char *nick, size_t nicklen,
    const struct auth_result *ar)
{
	if (nick == NULL || (strlen(ar->sub) == nicklen &&
	    memcmp(nick, ar->sub, nicklen) == 0))
		return 0;
	fail(r, 403, "nick is not the token's sub", NULL);
	return -1;
}

void
route(struct route_ctx *ctx, struct request *r)
{
	const char	*name = strrchr(r->path, '/');
	char		 allow[32];

	name = name ? name + 1 : r->path;
	counted = ctx->sg;
	r->route = (uint8_t)metrics_route(name);
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].name, name) != 0)
			continue;
		if (strcmp(routes[i].method, r->method) != 0) {
			snprintf(allow, sizeof allow, "Allow: %s\r\n",
			    routes[i].method);
			fail(r, 405, "method not allowed", allow);
			return;
		}
		routes[i].fn(ctx, r);
		return;
	}
	fail(r, 404, "no such endpoint", NULL);
}

/* The room field: present and valid, or a 400 already answered. */
int
need_room(struct request *r, struct fields *f)
{
	const char	*why;

	if (f->v[F_ROOM] == NULL) {
		fail(r, 400, "room is required", NULL);
		return -1;
	}
	if (event_check_room(f->v[F_ROOM], f->len[F_ROOM], &why) != 0) {
		fail(r, 400, why, NULL);
		return -1;
	}
	return 0;
}

/* A number field if given: 0, or -1 with a 400 answered. */
static int
want_number(struct request *r, const char *s, size_t len, const char *name,
    uint64_t *out)
{
	char	msg[64];

	if (s == NULL)
		return 0;
	if (number_parse(s, len, out) == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s must be a whole number", name);
	fail(r, 400, msg, NULL);
	return -1;
}

int
store_error(struct request *r)
{
	fail(r, 503, errno == ENOSPC ? "no room for a new room: every room "
	    "is in use" :
	    errno == EIO ? "the store (memcached) is unreachable" :
	    "the store is busy; try again", "Retry-After: 1\r\n");
	return -1;
}

/* media type of Content-Type: 1 form, 2 JSON, 0 anything else */
static int
media_type(const char *ct)
{
	char		 buf[256], *p, *param, *save = NULL;
	int		 kind;

	if (ct == NULL || strlen(ct) >= sizeof buf)
		return 0;
	strcpy(buf, ct);
	p = strtok_r(buf, ";", &save);
	if (p == NULL)
		return 0;
	p += strspn(p, " \t");
	p[strcspn(p, " \t")] = '\0';
	if (strcasecmp(p, "application/x-www-form-urlencoded") == 0)
		kind = 1;
	else if (strcasecmp(p, "application/json") == 0)
		kind = 2;
	else
		return 0;
	while ((param = strtok_r(NULL, ";", &save)) != NULL) {
		char *eq = strchr(param, '='), *v;
		size_t n;
		param += strspn(param, " \t");
		if (eq == NULL)
			continue;
		n = strcspn(param, " \t=");
		v = eq + 1 + strspn(eq + 1, " \t");
		v[strcspn(v, " \t")] = '\0';
		if (*v == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		if (n == 7 && strncasecmp(param, "charset", 7) == 0 &&
		    strcasecmp(v, "utf-8") != 0)
			return 0;
	}
	return kind;
}

/*
 * The token bucket of the client's address (prefixed: one bucket a kind)
 * had none left: true, and the client has its 429 (or 503).
 */
static bool
limited(struct route_ctx *ctx, struct request *r, const char *kind,
    double rate, double burst, const char *why)
{
	char	key[64], extra[64];
	int	st, retry = 1;

	if (rate <= 0)
		return false;
	snprintf(key, sizeof key, "%s%s", kind, r->addr ? r->addr : "");
	st = segment_rate_take(ctx->sg, key, rate, burst, mono_ms(), &retry);
	if (st == 1) {
		__atomic_add_fetch(*kind ? &ctx->sg->hdr->c.rooms_limited :
		    &ctx->sg->hdr->c.rate_limited, 1, __ATOMIC_RELAXED);
		snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry);
		fail(r, 429, why, extra);
	} else if (st == -1)
		store_error(r);
	return st != 0;
}

static void
h_send(struct route_ctx *ctx, struct request *r)
{
	struct fields	 f, q = { 0 };
	struct event	 ev = { .type = EVENT_MESSAGE };
	struct buf	 b = { 0 };
	struct auth_result ar;
	const char	*why, *nick;
	size_t		 nicklen;
	int64_t		 id, ts;
	int		 kind, st;

	if (!auth_same_site(r)) {
		fail(r, 403, "a page of another site may not send here", NULL);
		return;
	}
	if ((kind = media_type(r->ctype)) == 0) {
		fail(r, 415, "send application/x-www-form-urlencoded or "
		    "application/json in UTF-8", NULL);
		return;
	}
	if (r->body_over) {
		fail(r, 413, "the body is too large", NULL);
		return;
	}
	if (r->body_cut) {
		fail(r, 400, "the body ended before its Content-Length", NULL);
		return;
	}
	st = kind == 1 ? fields_form(&f, r->body, r->bodylen, &why) :
	    fields_json(&f, r->body, r->bodylen, &why);
	if (st != 0) {
		fields_free(&f);
		fail(r, st, why, NULL);
		return;
	}
	r->send_room = f.v[F_ROOM];
	if (need_room(r, &f) == -1)
		goto out;
	nick = f.v[F_NICK];
	nicklen = f.len[F_NICK];
	/* With a key, a token may say who sends: then the nick is optional. */
	if (opt.auth != AUTH_REMOTE_USER && (nick != NULL || !opt.token_key)) {
		if (nick == NULL) {
			fail(r, 400, "nick is required", NULL);
			goto out;
		}
		if ((st = event_check_nick(&nick, &nicklen, &why)) != 0) {
			fail(r, st, why, NULL);
			goto out;
		}
	}
	if (f.v[F_TEXT] == NULL) {
		fail(r, 400, "text is required", NULL);
		goto out;
	}
	if ((st = event_check_text(f.v[F_TEXT], f.len[F_TEXT],
	    ctx->sg->hdr->max_text, &why)) != 0) {
		fail(r, st, why, NULL);
		goto out;
	}
	r->token = f.v[F_TOKEN];
	if (r->token == NULL && opt.token_key != NULL && r->query != NULL &&
	    fields_form(&q, r->query, strlen(r->query), &why) == 0)
		r->token = q.v[F_TOKEN];
	auth_room(r, f.v[F_ROOM], true, &ar);
	if (ar.status != 0) {
		refuse(r, &ar);
		goto out;
	}
	if (ar.token) {
		if (nick_is_sub(r, nick, nicklen, &ar) == -1)
			goto out;
		nick = ar.sub;
		nicklen = strlen(nick);
	} else if (opt.auth == AUTH_REMOTE_USER) {
		nick = r->user;
		nicklen = nick ? strlen(nick) : 0;
		if (nick == NULL || event_check_nick(&nick, &nicklen, &why)) {
			fail(r, 403, "no valid REMOTE_USER for this request",
			    NULL);
			goto out;
		}
	} else if (nick == NULL) {
		fail(r, 400, "nick is required (or a token)", NULL);
		goto out;
	}
	if (limited(ctx, r, "", opt.rate, opt.burst,
	    "too many messages; slow down") ||
	    (segment_room_find(ctx->sg, f.v[F_ROOM]) == -1 &&
	    limited(ctx, r, "r:", opt.room_rate, opt.room_burst,
	    "too many new rooms; slow down")))
		goto out;
	char nickz[EVENT_NICK_BYTES + 1];
	memcpy(nickz, nick, nicklen);
	nickz[nicklen] = '\0';
	ev.room = f.v[F_ROOM];
	ev.nick = nickz;
	ev.text = f.v[F_TEXT];
	ev.textlen = f.len[F_TEXT];
	if ((id = store_publish(ctx->st, &ev, &ts)) == -1) {
		store_error(r);
		goto out;
	}
	r->send_id = id;
	reply_head(&b, 200, "application/json; charset=utf-8", NULL);
	buf_printf(&b, "{\"id\":%lld,\"ts\":%lld}", (long long)id,
	    (long long)ts);
	respond(r, &b);
out:
	fields_free(&f);
	fields_free(&q);
}

/* What /listen and /stream share: room, cursor, nick, timeout. */
struct wait_args {
	struct fields	 f;
	int		 room;
	uint64_t	 rid;
	uint64_t	 cursor;
	uint64_t	 timeout;
	char		*nick;
	int64_t		 exp_ms;	/* the token's exp, 0 none */
	int		 addr_entry;	/* counted for the address, or -1 */
};

static int
wait_args(struct route_ctx *ctx, struct request *r, struct wait_args *a,
    bool stream)
{
	const char	*why, *nick;
	size_t		 nicklen;
	struct auth_result ar;
	uint64_t	 since = 0, leid = 0;
	bool		 has_since, has_leid = false;
	int		 st;

	memset(a, 0, sizeof *a);
	a->addr_entry = -1;
	if ((st = fields_form(&a->f, r->query ? r->query : "",
	    r->query ? strlen(r->query) : 0, &why)) != 0) {
		fail(r, st, why, NULL);
		return -1;
	}
	if (need_room(r, &a->f) == -1)
		return -1;
	has_since = a->f.v[F_SINCE] != NULL;
	if (want_number(r, a->f.v[F_SINCE], a->f.len[F_SINCE], "since",
	    &since) == -1)
		return -1;
	a->timeout = opt.timeout_default;
	if (!stream && want_number(r, a->f.v[F_TIMEOUT], a->f.len[F_TIMEOUT],
	    "timeout", &a->timeout) == -1)
		return -1;
	if (a->timeout > (uint64_t)opt.timeout_max)
		a->timeout = opt.timeout_max;
	if (stream && r->last_event_id != NULL) {
		has_leid = true;
		if (want_number(r, r->last_event_id, strlen(r->last_event_id),
		    "Last-Event-ID", &leid) == -1)
			return -1;
	}
	if ((nick = a->f.v[F_NICK]) != NULL) {
		nicklen = a->f.len[F_NICK];
		if ((st = event_check_nick(&nick, &nicklen, &why)) != 0) {
			fail(r, st, why, NULL);
			return -1;
		}
		a->nick = strndup(nick, nicklen);
	}
	r->token = a->f.v[F_TOKEN];
	auth_room(r, a->f.v[F_ROOM], false, &ar);
	if (ar.status != 0) {
		refuse(r, &ar);
		return -1;
	}
	if (ar.token && a->nick != NULL &&
	    nick_is_sub(r, a->nick, strlen(a->nick), &ar) == -1)
		return -1;
	a->exp_ms = ar.exp_ms;
	/* What one address may hold parked, over every worker. */
	if (opt.max_listeners_addr > 0 && r->addr != NULL &&
	    (a->addr_entry = segment_addr_enter(ctx->sg, ctx->slot, r->addr,
	    (uint32_t)opt.max_listeners_addr)) == -1 && errno == EBUSY) {
		fail(r, 429, "too many listeners from this address",
		    "Retry-After: 10\r\n");
		return -1;
	}
	/* A new room read here holds no message: the first to be reclaimed. */
	if ((a->room = segment_room_find(ctx->sg, a->f.v[F_ROOM])) == -1) {
		if (limited(ctx, r, "r:", opt.room_rate, opt.room_burst,
		    "too many new rooms; slow down"))
			return -1;
		if ((a->room = segment_room_get(ctx->sg, a->f.v[F_ROOM])) == -1)
			return store_error(r);
	}
	a->rid = segment_room_rid(ctx->sg, a->room);
	segment_room_touch(ctx->sg, a->room);
	if (has_leid)
		a->cursor = leid;
	else if (has_since)
		a->cursor = since;
	else {
		struct window w;
		segment_window(ctx->sg, a->room, &w);
		a->cursor = window_last(&w);
	}
	/* The cursor is settled: now the join, so the client gets it. */
	if (a->nick != NULL && store_presence_touch(ctx->st, a->room,
	    a->nick, event_now_ms()) == -1)
		log_debug("presence %s: %s", a->nick, strerror(errno));
	if (segment_read(ctx->sg, a->room, a->cursor, &ctx->out) == -1)
		return store_error(r);
	return 0;
}

static void
wait_args_free(struct route_ctx *ctx, struct wait_args *a)
{
	segment_addr_leave(ctx->sg, ctx->slot, a->addr_entry);
	fields_free(&a->f);
	free(a->nick);
}

static void
park(struct route_ctx *ctx, struct request *r, struct wait_args *a, int kind,
    int64_t end)
{
	struct parked	*p;

	if ((p = r->conn) != NULL)	/* the dispatcher's: it stays there */
		p->verdict = VERDICT_PARKED;
	else if ((p = calloc(1, sizeof *p)) == NULL) {
		fail(r, 503, "out of memory", NULL);
		return;
	}
	p->fd = r->fd;
	p->id = r->id;
	p->keep = r->keep;
	p->kind = (uint8_t)kind;
	p->beat = r->beat && kind == PARK_LISTEN;
	p->room = a->room;
	p->rid = a->rid;
	snprintf(p->name, sizeof p->name, "%s", a->f.v[F_ROOM]);
	p->cursor = a->cursor;
	if (a->exp_ms != 0 && mono_ms() + (a->exp_ms - event_now_ms()) < end)
		end = mono_ms() + (a->exp_ms - event_now_ms());
	p->end = end;
	p->ping = mono_ms() + opt.ping * 1000LL;
	p->nick = a->nick;
	a->nick = NULL;
	p->addr_entry = a->addr_entry;
	a->addr_entry = -1;
	r->fd = -1;
	metrics_request(ctx->sg, r->route, 200);
	park_add(ctx->pk, p);
}

static void
h_listen(struct route_ctx *ctx, struct request *r)
{
	struct wait_args	 a;
	struct window_out	*out = &ctx->out;
	struct buf		 b = { 0 };

	if (wait_args(ctx, r, &a, false) == -1)
		goto out;
	if (out->n > 0 || out->gap || out->reset || a.timeout == 0) {
		reply_listen(&b, a.f.v[F_ROOM], out);
		respond(r, &b);
	} else if (r->beat && (reply_listen_head(&b) == -1 ||
	    buf_str(&b, " ") == -1 ||	/* Apache sends headers with data */
	    record_write(r->fd, r->id, b.p, b.len, 0) == -1)) {
		r->keep = CONN_CLOSE;
		request_done(r);
	} else
		park(ctx, r, &a, PARK_LISTEN, mono_ms() +
		    (int64_t)a.timeout * 1000);
	buf_free(&b);
out:
	wait_args_free(ctx, &a);
}

static void
h_stream(struct route_ctx *ctx, struct request *r)
{
	struct wait_args	 a;
	struct window_out	*out = &ctx->out;
	struct buf		 b = { 0 };

	if (wait_args(ctx, r, &a, true) == -1)
		goto out;
	if (reply_stream_head(&b) == -1 || reply_stream_events(&b, out) == -1 ||
	    record_write(r->fd, r->id, b.p, b.len, 0) == -1) {
		r->keep = CONN_CLOSE;
		request_done(r);
		goto out;
	}
	if (out->n > 0 || out->gap || out->reset)
		a.cursor = out->last;
	park(ctx, r, &a, PARK_STREAM, mono_ms() + opt.lifetime * 1000LL);
out:
	buf_free(&b);
	wait_args_free(ctx, &a);
}
