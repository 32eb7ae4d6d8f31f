/* record.c: STDOUT and END_REQUEST records around a caller's bytes, and
 * a look at a request's records before libfcgi reads them. */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "park.h"
#include "record.h"

#define FCGI_VERSION		1
#define FCGI_END_REQUEST	3
#define FCGI_STDIN		5
#define FCGI_STDOUT		6

static void
record_hdr(unsigned char *h, int type, uint16_t id, size_t len)
{
	h[0] = FCGI_VERSION;
	h[1] = (unsigned char)type;
	h[2] = id >> 8;
	h[3] = id & 0xff;
	h[4] = (len >> 8) & 0xff;
	h[5] = len & 0xff;
	h[6] = 0;		/* no padding */
	h[7] = 0;
}

/*
 * Frames len bytes of p as STDOUT records of request id into iov (and
 * hdrs, which must outlive the write); with end, the request's end too.
 * Returns the iovec count, or -1 if more than max would be needed.
 */
int
record_frame(struct iovec *iov, int max, struct record_hdrs *hdrs,
    uint16_t id, const char *p, size_t len, int end)
{
	int	n = 0, k = 0;

	while (len > 0) {
		size_t chunk = len > RECORD_MAX ? RECORD_MAX : len;
		if (n + 2 > max || k == 64)
			return -1;
		record_hdr(hdrs->h[k], FCGI_STDOUT, id, chunk);
		iov[n].iov_base = hdrs->h[k++];
		iov[n++].iov_len = RECORD_HDR;
		iov[n].iov_base = (void *)p;
		iov[n++].iov_len = chunk;
		p += chunk;
		len -= chunk;
	}
	if (end) {
		if (n + 1 > max)
			return -1;
		record_hdr(hdrs->end, FCGI_STDOUT, id, 0);
		record_hdr(hdrs->end + RECORD_HDR, FCGI_END_REQUEST, id, 8);
		memset(hdrs->end + 2 * RECORD_HDR, 0, 8);	/* status 0,
							   REQUEST_COMPLETE */
		iov[n].iov_base = hdrs->end;
		iov[n++].iov_len = RECORD_END;
	}
	return n;
}

/*
 * Write of a framing of at most 64 records, waiting at most until
 * deadline (ms, monotonic) for a web server that does not read. The
 * common case is one sendmsg: no socket option, no poll.
 */
static int
record_write_some(int fd, uint16_t id, const char *p, size_t len, int end,
    int64_t *deadline)
{
	struct iovec		 iov[130];
	struct record_hdrs	 hdrs;
	struct msghdr		 msg;
	int			 n;

	if ((n = record_frame(iov, 130, &hdrs, id, p, len, end)) == -1)
		return errno = EMSGSIZE, -1;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)n;
	while (msg.msg_iovlen > 0) {
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int64_t left;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			if (*deadline == 0)
				*deadline = mono_ms() + RECORD_WRITE_MS;
			if ((left = *deadline - mono_ms()) <= 0 ||
			    poll(&pfd, 1, (int)left) == 0)
				return errno = ETIMEDOUT, -1;
			continue;
		}
		while (w > 0 && msg.msg_iovlen > 0) {
			if ((size_t)w >= msg.msg_iov->iov_len) {
				w -= (ssize_t)msg.msg_iov->iov_len;
				msg.msg_iov++;
				msg.msg_iovlen--;
			} else {
				msg.msg_iov->iov_base =
				    (char *)msg.msg_iov->iov_base + w;
				msg.msg_iov->iov_len -= (size_t)w;
				w = 0;
			}
		}
	}
	return 0;
}

/* Write of any length, slices of 64 records, RECORD_WRITE_MS at most
 * in all. */
int
record_write(int fd, uint16_t id, const char *p, size_t len, int end)
{
	const size_t	slice = 64 * (size_t)RECORD_MAX;
	int64_t		deadline = 0;	/* set at the first wait */

	while (len > slice) {
		if (record_write_some(fd, id, p, slice, 0, &deadline) == -1)
			return -1;
		p += slice;
		len -= slice;
	}
	return record_write_some(fd, id, p, len, end, &deadline);
}

/*
 * Whether the n bytes at b are one whole request with an empty body:
 * records, each whole, ending with the empty STDIN record and nothing
 * after it. A request in pieces, or with a body, is not.
 */
bool
record_request_bodiless(const unsigned char *b, size_t n)
{
	size_t	off = 0;

	while (n - off >= RECORD_HDR) {
		size_t clen = (size_t)b[off + 4] << 8 | b[off + 5];
		size_t len = RECORD_HDR + clen + b[off + 6];
		if (b[off] != FCGI_VERSION || len > n - off)
			return false;
		if (b[off + 1] == FCGI_STDIN)
			return clen == 0 && len == n - off;
		off += len;
	}
	return false;
}
