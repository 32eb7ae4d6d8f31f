/*
 * held.c: the FastCGI connections the dispatcher holds between requests.
 * A kept connection whose request it answered stays in its epoll set; the
 * web server's next request on it, if it came whole and without a body
 * (a re-poll, a stream, a status), is read and routed right there
 * (worker_serve), with no hand-over to an accept thread; anything else
 * goes to the accept threads, which may wait for the rest.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "dispatch.h"
#include "fcomet.h"
#include "record.h"

#define SERVE_PEEK	8192		/* a request read in the dispatcher */

void
idle_unlink(struct park *pk, struct parked *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		pk->idle = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
	p->idle = false;
}

/*
 * A kept connection whose request is answered stays here, held: readable
 * once the web server sends the next request, which park_serve reads.
 * -1 if epoll would not have it.
 */
int
park_idle(struct park *pk, struct parked *p)
{
	p->held = true;
	if (park_watch(pk, p, false) == -1)
		return -1;
	free(p->nick);
	free(p->out);
	p->nick = p->out = NULL;
	p->outlen = p->outoff = 0;
	p->closing = false;
	p->idle = true;
	p->prev = NULL;
	p->next = pk->idle;
	if (p->next != NULL)
		p->next->prev = p;
	pk->idle = p;
	return 0;
}

/* The dispatcher read a request on p (worker_serve): what became of it. */
void
park_answered(struct parked *p, bool keep)
{
	p->verdict = keep ? VERDICT_ANSWERED : VERDICT_CLOSE;
}

/*
 * Something to read on a held connection: the web server's next request,
 * or its close. Read and routed here if it is all there and has no body
 * (a GET: a re-poll, a stream, a status); anything else (a /send, a
 * request in pieces) goes to the accept threads, which may wait for it.
 */
void
park_serve(struct park *pk, struct parked *p)
{
	unsigned char	buf[SERVE_PEEK];
	ssize_t		n;

	n = recv(p->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	idle_unlink(pk, p);
	if (n > 0 && !record_request_bodiless(buf, (size_t)n)) {
		epoll_ctl(pk->ep, EPOLL_CTL_DEL, p->fd, NULL);
		worker_done(p->fd, p->keep);
		park_forget(pk, p);
		return;
	}
	p->verdict = VERDICT_NONE;
	if (n > 0 && !pk->draining) {
		worker_serve(&pk->ctx, p);
		/* parked: the dispatcher's since (answered at once, maybe,
		 * and idle again, or dropped) */
		if (p->verdict == VERDICT_PARKED ||
		    (p->verdict == VERDICT_ANSWERED && park_idle(pk, p) == 0))
			return;
	}
	if (p->verdict != VERDICT_GONE)
		close(p->fd);
	park_forget(pk, p);
}
