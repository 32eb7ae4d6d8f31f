/*
 * report.c: the read-only endpoints, /who, /rooms, /status and /metrics.
 * Each reads the segment (/status and /metrics ask the store too whether
 * it is up) and answers at once: none parks, stores an event or takes a
 * new room. Answers and refusals go out through route.c's respond() and
 * fail(), so they are counted as every other request's are.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "fcomet.h"
#include "fields.h"
#include "metrics.h"
#include "reply.h"
#include "route.h"

#define WHO_MAX		SEGMENT_PRESENCE

static void
respond_json(struct request *r, struct json_object *o)
{
	struct buf	b = { 0 };

	reply_head(&b, 200, "application/json; charset=utf-8", NULL);
	buf_str(&b, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	respond(r, &b);
}

void
h_who(struct route_ctx *ctx, struct request *r)
{
	struct fields		 f;
	const char		*why;
	char			 nicks[WHO_MAX][EVENT_NICK_BYTES + 1];
	struct json_object	*o, *a;
	struct auth_result	 ar;
	int			 ri, n = 0, st;

	st = fields_form(&f, r->query ? r->query : "",
	    r->query ? strlen(r->query) : 0, &why);
	if (st != 0) {
		fail(r, st, why, NULL);
		goto out;
	}
	if (need_room(r, &f) == -1)
		goto out;
	r->token = f.v[F_TOKEN];
	auth_room(r, f.v[F_ROOM], false, &ar);
	if (ar.status != 0) {
		refuse(r, &ar);
		goto out;
	}
	ri = segment_room_find(ctx->sg, f.v[F_ROOM]);
	if (ri != -1 && (n = segment_who(ctx->sg, ri, nicks,
	    WHO_MAX)) == -1)
		store_error(r);
	else {
		o = json_object_new_object();
		a = json_object_new_array();
		json_object_object_add(o, "room",
		    json_object_new_string(f.v[F_ROOM]));
		for (int i = 0; i < n; i++)
			json_object_array_add(a,
			    json_object_new_string(nicks[i]));
		json_object_object_add(o, "nicks", a);
		respond_json(r, o);
	}
out:
	fields_free(&f);
}

static int
room_cmp(const void *a, const void *b)
{
	const struct segment_room *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

void
h_rooms(struct route_ctx *ctx, struct request *r)
{
	struct segment		*sg = ctx->sg;
	const struct segment_room **list;
	struct buf		 b = { 0 };
	size_t			 n = 0;

	if ((list = calloc(sg->hdr->nrooms, sizeof *list)) == NULL) {
		fail(r, 503, "out of memory", NULL);
		return;
	}
	for (uint32_t i = 0; i < sg->hdr->nrooms; i++) {
		struct window w;
		if (!segment_room_live(sg, (int)i))
			continue;
		segment_window(sg, (int)i, &w);
		if (window_last(&w) > 0 && !(opt.token_key &&
		    auth_private(sg->rooms[i].name)))
			list[n++] = &sg->rooms[i];
	}
	qsort(list, n, sizeof *list, room_cmp);
	reply_head(&b, 200, "application/json; charset=utf-8", NULL);
	buf_str(&b, "{\"rooms\":[");
	for (size_t i = 0; i < n; i++) {
		struct window w;
		int ri = (int)(list[i] - sg->rooms);
		segment_window(sg, ri, &w);
		buf_printf(&b, "%s{\"room\":\"%s\",\"last\":%llu,"
		    "\"listeners\":%u}", i ? "," : "", list[i]->name,
		    (unsigned long long)window_last(&w),
		    segment_listeners(sg, ri));
	}
	buf_str(&b, "]}");
	free(list);
	respond(r, &b);
}

void
h_status(struct route_ctx *ctx, struct request *r)
{
	struct segment		*sg = ctx->sg;
	struct segment_hdr	*h = sg->hdr;
	struct buf		 b = { 0 };
	uint64_t		 events, listeners, rooms;
	int			 up = store_check(ctx->st) == 0;

	segment_totals(sg, &rooms, &events, &listeners);
	reply_head(&b, up ? 200 : 503, "application/json; charset=utf-8",
	    NULL);
	buf_printf(&b, "{\"version\":\"%s\",\"store\":\"%s\","
	    "\"uptime_s\":%lld,\"workers\":%d,\"listeners\":%llu,"
	    "\"rooms\":%llu,\"events\":%llu,\"segment\":\"%s\","
	    "\"rooms_total\":%u,\"window\":%u,\"rooms_used\":%u,"
	    "\"segment_bytes\":%llu",
	    PACKAGE_VERSION,
	    store_kind(ctx->st),
	    (long long)((event_now_ms() - opt.started) / 1000), opt.workers,
	    (unsigned long long)listeners, (unsigned long long)rooms,
	    (unsigned long long)events, sg->name, h->nrooms, h->cap,
	    h->rooms_used, (unsigned long long)h->size);
	if (opt.memcached != NULL)
		buf_printf(&b, ",\"memcached\":%s", up ? "\"up\"" : "\"down\"");
	for (size_t i = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *m = &metrics_counters[i];
		if ((m->in & METRICS_STATUS) ||
		    ((m->in & METRICS_MC) && opt.memcached != NULL))
			buf_printf(&b, ",\"%s\":%llu", m->name,
			    (unsigned long long)metrics_value(&h->c, m));
	}
	buf_str(&b, "}");
	respond(r, &b);
}

/* GET /metrics: Prometheus text format; the web server keeps it to
 * 127.0.0.1 (nginx/fcomet.conf, apache/fcomet.conf). */
void
h_metrics(struct route_ctx *ctx, struct request *r)
{
	struct buf	 b = { 0 };
	size_t		 len;
	int		 up = store_check(ctx->st) == 0;
	char		*text = metrics_text(ctx->sg, store_kind(ctx->st),
			    opt.memcached != NULL ? up : -1, &len);

	if (text == NULL) {
		fail(r, 503, "out of memory", NULL);
		return;
	}
	reply_head(&b, 200, METRICS_TYPE, NULL);
	buf_add(&b, text, len);
	free(text);
	respond(r, &b);
}
