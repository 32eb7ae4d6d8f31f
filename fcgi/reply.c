/* reply.c: the protocol's response bodies, from stored event bytes. */
#include <stdio.h>
#include <json-c/json.h>
#include <string.h>

#include "event.h"
#include "reply.h"

static const char *
reply_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	default: return "Service Unavailable";
	}
}

/* The error code of PROTOCOL.md for a status. */
const char *
reply_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 429: return "rate_limited";
	default: return "unavailable";
	}
}

/* Status line and headers; extra is more header lines, each ending \r\n. */
int
reply_head(struct buf *b, int status, const char *ctype, const char *extra)
{
	return buf_printf(b, "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\n%s\r\n", status, reply_reason(status),
	    ctype, extra ? extra : "");
}

int
reply_error(struct buf *b, int status, const char *message, const char *extra)
{
	struct json_object	*o = json_object_new_object();
	int			 rc;

	json_object_object_add(o, "error",
	    json_object_new_string(reply_code(status)));
	json_object_object_add(o, "message", json_object_new_string(message));
	rc = reply_head(b, status, "application/json; charset=utf-8", extra);
	if (rc == 0)
		rc = buf_str(b, json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return rc;
}

/* The headers of every /listen answer. */
int
reply_listen_head(struct buf *b)
{
	return reply_head(b, 200, "application/json; charset=utf-8", NULL);
}

/* A /listen answer carrying the events of out (room names need no escape). */
int
reply_listen(struct buf *b, const char *room, const struct window_out *out)
{
	/* The next cursor: past every id read (ids that never came too). */
	uint64_t	last = out->n || out->gap || out->reset ? out->last :
			    out->cursor;

	if (reply_listen_head(b) == -1 ||
	    buf_printf(b, "{\"room\":\"%s\",\"events\":[", room) == -1 ||
	    buf_reserve(b, out->bytes + out->n + 96) == -1)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		if (i > 0)
			b->p[b->len++] = ',';
		memcpy(b->p + b->len, out->buf + out->ev[i].off, out->ev[i].len);
		b->len += out->ev[i].len;
	}
	return buf_printf(b, "],\"last\":%llu,\"gap\":%s,\"reset\":%s}",
	    (unsigned long long)last, out->gap ? "true" : "false",
	    out->reset ? "true" : "false");
}

int
reply_listen_empty(struct buf *b, const char *room, uint64_t cursor)
{
	struct window_out	out;

	memset(&out, 0, sizeof out);
	out.cursor = cursor;
	return reply_listen(b, room, &out);
}

/* Headers and the first bytes of a stream, sent at once in one write. */
int
reply_stream_head(struct buf *b)
{
	return reply_head(b, 200, "text/event-stream",
	    "X-Accel-Buffering: no\r\n") == -1 ? -1 :
	    buf_str(b, "retry: 2000\n: ok\n\n");
}

/* The SSE lines of out: a gap or reset announcement, then each event. */
int
reply_stream_events(struct buf *b, const struct window_out *out)
{
	if ((out->gap || out->reset) && buf_printf(b, "event: %s\ndata: "
	    "{\"cursor\":%llu,\"last\":%llu}\n\n", out->gap ? "gap" : "reset",
	    (unsigned long long)out->cursor,
	    (unsigned long long)out->last) == -1)
		return -1;
	if (buf_reserve(b, out->bytes + out->n * 64) == -1)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		const struct window_ev *ev = &out->ev[i];
		b->len += (size_t)snprintf(b->p + b->len, 64,
		    "id: %llu\nevent: %s\ndata: ", (unsigned long long)ev->id,
		    event_type_name(ev->type));
		memcpy(b->p + b->len, out->buf + ev->off, ev->len);
		b->len += ev->len;
		b->p[b->len++] = '\n';
		b->p[b->len++] = '\n';
	}
	return 0;
}
