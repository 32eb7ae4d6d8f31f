/* reply.h: response bytes (CGI headers and body), built once, sent as is. */
#ifndef FCOMET_REPLY_H
#define FCOMET_REPLY_H

#include "buf.h"
#include "window.h"

int	reply_head(struct buf *, int, const char *, const char *);
int	reply_error(struct buf *, int, const char *, const char *);
int	reply_listen_head(struct buf *);
int	reply_listen(struct buf *, const char *, const struct window_out *);
int	reply_listen_empty(struct buf *, const char *, uint64_t);
int	reply_stream_head(struct buf *);
int	reply_stream_events(struct buf *, const struct window_out *);
const char *reply_code(int);

#endif
