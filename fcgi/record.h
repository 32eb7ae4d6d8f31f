/*
 * record.h: FastCGI records written by hand, so that a parked request is
 * just its fd, request id and cursor, not libfcgi's ~20 KB of buffers.
 */
#ifndef FCOMET_RECORD_H
#define FCOMET_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RECORD_HDR	8
#define RECORD_MAX	65535		/* content bytes of one record */
#define RECORD_END	(2 * RECORD_HDR + 8)	/* empty STDOUT + END_REQUEST */
#define RECORD_WRITE_MS	5000		/* a stuck web server costs 5 s */
#define RECORD_IOV(len)	(2 * ((len) / RECORD_MAX + 1) + 1)

struct record_hdrs {			/* headers for one framing */
	unsigned char	h[64][RECORD_HDR];
	unsigned char	end[RECORD_END];
};

int	record_frame(struct iovec *, int, struct record_hdrs *, uint16_t,
	    const char *, size_t, int);
int	record_write(int, uint16_t, const char *, size_t, int);
bool	record_request_bodiless(const unsigned char *, size_t);

#endif
