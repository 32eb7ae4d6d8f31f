/*
 * deliver.c: what the dispatcher writes to its parked requests. Events are
 * read and encoded once per cursor and the same bytes go to every
 * listener of the room, framed with its request id; a long-poll gets its
 * answer and is let go, a stream its events and pings. Writes never
 * block: what a socket does not take waits in the request's backlog, and
 * one whose backlog would overflow is dropped.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "fcomet.h"
#include "metrics.h"
#include "record.h"
#include "reply.h"

#define FRAME_MAX	(64 * RECORD_MAX)	/* bytes framed at once */
#define CLOSE_WAIT_MS	10000		/* to flush an answer, at most */

/*
 * Sends an iovec framing; what the socket does not take goes to the
 * backlog. -1 if the peer is gone or the backlog would overflow.
 */
static int
parked_send(struct park *pk, struct parked *p, struct iovec *iov, int n)
{
	struct msghdr	msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	ssize_t		w = 0;
	size_t		total = 0, left;
	int		i;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (p->outlen == p->outoff) {
		do
			w = sendmsg(p->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w == -1 && errno == EINTR);
		if (w == -1 && errno != EAGAIN)
			return -1;
		if (w == -1)
			w = 0;
		if ((size_t)w == total)
			return 0;
	}
	left = total - (size_t)w;
	if (p->outlen - p->outoff + left > pk->backlog_max)
		return -1;
	if (p->outoff > 0) {
		memmove(p->out, p->out + p->outoff, p->outlen - p->outoff);
		p->outlen -= p->outoff;
		p->outoff = 0;
	}
	char *o = realloc(p->out, p->outlen + left);
	if (o == NULL)
		return -1;
	p->out = o;
	for (i = 0; i < n; i++) {
		size_t len = iov[i].iov_len, skip = 0;
		if ((size_t)w >= len) {
			w -= (ssize_t)len;
			continue;
		}
		skip = (size_t)w;
		w = 0;
		memcpy(p->out + p->outlen, (char *)iov[i].iov_base + skip,
		    len - skip);
		p->outlen += (uint32_t)(len - skip);
	}
	park_watch(pk, p, true);
	return 0;
}

/* Writes the backlog; 1 when empty, 0 if some is left, -1 on error. */
int
parked_flush(struct parked *p)
{
	while (p->outoff < p->outlen) {
		ssize_t w = send(p->fd, p->out + p->outoff,
		    p->outlen - p->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return errno == EAGAIN ? 0 : -1;
		p->outoff += (uint32_t)w;
	}
	free(p->out);
	p->out = NULL;
	p->outlen = p->outoff = 0;
	return 1;
}

/* Frames bytes for p and sends them; with end, the request is answered. */
static int
parked_write(struct park *pk, struct parked *p, const char *s, size_t len,
    int end)
{
	struct iovec		iov[RECORD_IOV(FRAME_MAX)];
	struct record_hdrs	hdrs;
	int			n;

	do {	/* in slices of at most FRAME_MAX, the end after the last */
		size_t chunk = len > FRAME_MAX ? FRAME_MAX : len;
		n = record_frame(iov, (int)(sizeof iov / sizeof iov[0]), &hdrs,
		    p->id, s, chunk, end && chunk == len);
		if (n == -1 || parked_send(pk, p, iov, n) == -1)
			return -1;
		s += chunk;
		len -= chunk;
	} while (len > 0);
	return 0;
}

/* Answers p: off its room and timers; closed once its bytes are out. */
void
parked_finish(struct park *pk, struct parked *p, const char *s, size_t len)
{
	if (parked_write(pk, p, s, len, 1) == -1) {
		park_drop(pk, p);
		return;
	}
	if (p->outlen == p->outoff) {
		park_done(pk, p);
		return;
	}
	room_leave(pk, p);
	p->closing = true;	/* a reader that never takes it: dropped */
	p->due = mono_ms() + CLOSE_WAIT_MS;
	heap_fix(pk, p->heapi);
}

/* Answers a long-poll with reply_listen's s: without its headers if they
 * went out at park. */
static void
parked_answer(struct park *pk, struct parked *p, const char *s, size_t len)
{
	if (p->beat && len >= pk->lp_head) {
		s += pk->lp_head;
		len -= pk->lp_head;
	}
	parked_finish(pk, p, s, len);
}

void
parked_schedule(struct park *pk, struct parked *p)
{
	int64_t	due = (p->kind == PARK_STREAM || p->beat) && p->ping < p->end ?
		    p->ping : p->end;

	p->due = due;
	heap_fix(pk, p->heapi);
}

/* Events for a cursor: read and encode once, reused by every listener
 * with the same cursor in this pass. */
static bool
park_encode(struct park *pk, int room, const char *name, uint64_t cursor,
    uint64_t *cached)
{
	if (*cached == cursor)
		return pk->out.n > 0 || pk->out.gap || pk->out.reset;
	*cached = UINT64_MAX;
	pk->lp.len = pk->sse.len = 0;
	if (segment_read(pk->sg, room, cursor, &pk->out) == -1)
		return false;
	if (reply_listen(&pk->lp, name, &pk->out) == -1 ||
	    reply_stream_events(&pk->sse, &pk->out) == -1)
		return false;
	*cached = cursor;
	return pk->out.n > 0 || pk->out.gap || pk->out.reset;
}

/* The room was removed or given back while p waited: a long-poll gets
 * "reset" (the cursor means nothing now), a stream ends (its client comes
 * back and gets the same). */
static void
park_gone(struct park *pk, struct parked *p)
{
	struct window_out	 out = { .cursor = p->cursor,
				    .reset = p->cursor > 0 };
	struct buf		 b = { 0 };

	if (p->kind == PARK_LISTEN && reply_listen(&b, p->name, &out) == 0)
		parked_answer(pk, p, b.p, b.len);
	else if (p->kind == PARK_LISTEN)
		park_drop(pk, p);
	else
		parked_finish(pk, p, NULL, 0);
	buf_free(&b);
}

/* Delivers what is new in room to each of its listeners, or to one:
 * how many it wrote to. */
uint64_t
park_deliver(struct park *pk, int room, struct parked *only)
{
	struct parked	*p, *next;
	struct window	 w;
	uint64_t	 last, rid, cached = UINT64_MAX, n = 0;

	segment_window(pk->sg, room, &w);
	last = window_last(&w);
	rid = segment_room_rid(pk->sg, room);
	for (p = only ? only : pk->rooms[room]; p != NULL; p = next) {
		next = only ? NULL : p->next;
		if (p->rid != rid) {
			park_gone(pk, p);
			continue;
		}
		if (p->cursor == last)
			continue;
		if (!park_encode(pk, room, p->name, p->cursor, &cached))
			continue;
		n++;
		if (p->kind == PARK_LISTEN) {
			parked_answer(pk, p, pk->lp.p, pk->lp.len);
			continue;
		}
		if (parked_write(pk, p, pk->sse.p, pk->sse.len, 0) == -1) {
			park_drop(pk, p);	/* gone, or too slow */
			continue;
		}
		p->cursor = pk->out.last;
		p->ping = mono_ms() + opt.ping * 1000LL;
	}
	if (n > 0)
		metrics_delivered(pk->sg, n, 0);
	return n;
}

void
park_timer(struct park *pk, struct parked *p, int64_t now)
{
	static const char	ping[] = ": ping\n\n";
	bool			sse = p->kind == PARK_STREAM;

	if (p->closing) {
		park_drop(pk, p);
		return;
	}
	if (now >= p->end) {
		if (p->kind == PARK_LISTEN) {
			struct buf b = { 0 };
			if (reply_listen_empty(&b, p->name, p->cursor) == 0)
				parked_answer(pk, p, b.p, b.len);
			else
				park_drop(pk, p);
			buf_free(&b);
		} else
			parked_finish(pk, p, NULL, 0);
		return;
	}
	if (now < p->ping) {	/* an event went out since: ping later */
		parked_schedule(pk, p);
		return;
	}
	if (parked_write(pk, p, sse ? ping : " ", sse ? sizeof ping - 1 : 1,
	    0) == -1) {
		park_drop(pk, p);
		return;
	}
	p->ping = now + opt.ping * 1000LL;
	parked_schedule(pk, p);
}
