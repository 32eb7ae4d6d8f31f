/* metrics.c: see metrics.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "metrics.h"

static const char *const routes[SEGMENT_ROUTES] = {
	"send", "listen", "stream", "who", "rooms", "status", "metrics",
	"other"
};
static const int statuses[SEGMENT_STATUSES - 1] = {
	200, 400, 401, 403, 404, 405, 413, 415, 429, 503
};				/* the last slot: any other */
static const int64_t bounds_ms[SEGMENT_BUCKETS - 1] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500
};				/* the last bucket: +Inf */

#define ADD(p, n)	__atomic_add_fetch((p), (n), __ATOMIC_RELAXED)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define AT(f)		offsetof(struct segment_counters, f)
#define ALL		(METRICS_STATUS | METRICS_PROM | METRICS_CTL)

const struct metrics_counter metrics_counters[] = {
	{ "sends", "sends_total", "Messages stored.", AT(sends), ALL },
	{ "deliveries", "deliveries_total",
	    "Long-poll answers and stream writes carrying events.",
	    AT(deliveries), METRICS_PROM },
	{ "joins", "joins_total", "Join events stored.", AT(joins), ALL },
	{ "leaves", "leaves_total", "Leave events stored.", AT(leaves), ALL },
	{ "rate_limited", "rate_limited_total",
	    "Sends refused by the per-address rate limit.", AT(rate_limited),
	    ALL },
	{ "rooms_limited", "rooms_limited_total",
	    "New rooms refused by the per-address room rate limit.",
	    AT(rooms_limited), ALL },
	{ "room_full", "room_full_total",
	    "New rooms refused: the room table is full.", AT(room_full), ALL },
	{ "lock_timeouts", "lock_timeouts_total",
	    "Segment lock waits that gave up.", AT(lock_timeouts), ALL },
	{ "recoveries", "recoveries_total",
	    "Segment locks taken over from dead holders.", AT(recoveries),
	    ALL },
	{ "reclaims", NULL, NULL, AT(reclaims),
	    METRICS_STATUS | METRICS_CTL },
	{ "moves", NULL, NULL, AT(moves), METRICS_CTL },
	{ "steals", NULL, NULL, AT(steals), METRICS_CTL },
	{ "mc_errors", "memcached_errors_total", "memcached errors seen.",
	    AT(mc_errors), METRICS_MC | METRICS_PROM | METRICS_CTL },
	{ "relay_lag_ms", NULL, NULL, AT(relay_lag_ms),
	    METRICS_MC | METRICS_CTL },
	{ "relayed", "relayed_total",
	    "Events copied from other hosts (memcached mode).", AT(relayed),
	    METRICS_MC | METRICS_PROM },
	{ "holes", "holes_total",
	    "Ids taken but never stored, skipped as gaps (memcached mode).",
	    AT(holes), METRICS_MC | METRICS_PROM },
};
const size_t metrics_ncounters = sizeof metrics_counters /
    sizeof metrics_counters[0];

uint64_t
metrics_value(const struct segment_counters *c, const struct metrics_counter *m)
{
	return LOAD((const uint64_t *)((const char *)c + m->off));
}

int
metrics_route(const char *name)
{
	for (int i = 0; i < SEGMENT_ROUTES - 1; i++)
		if (strcmp(routes[i], name) == 0)
			return i;
	return SEGMENT_ROUTES - 1;
}

void
metrics_request(struct segment *sg, int route, int status)
{
	int	s = 0;

	while (s < SEGMENT_STATUSES - 1 && statuses[s] != status)
		s++;
	if (route < 0 || route >= SEGMENT_ROUTES)
		route = SEGMENT_ROUTES - 1;
	ADD(&sg->hdr->c.requests[route][s], 1);
}

/* n events written to listeners; the newest was stored at stored_ms
 * (0: not known, no latency sample). */
void
metrics_delivered(struct segment *sg, uint64_t n, int64_t stored_ms)
{
	int64_t	ms;
	int	b = 0;

	if (n > 0)
		ADD(&sg->hdr->c.deliveries, n);
	if (stored_ms <= 0)
		return;
	ms = event_now_ms() - stored_ms;
	if (ms < 0)
		ms = 0;
	while (b < SEGMENT_BUCKETS - 1 && ms > bounds_ms[b])
		b++;
	ADD(&sg->hdr->c.latency[b], 1);
	ADD(&sg->hdr->c.latency_sum_ms, (uint64_t)ms);
}

static void
one(FILE *f, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	fprintf(f, "# HELP fcomet_%s %s\n# TYPE fcomet_%s %s\nfcomet_%s %llu\n",
	    name, help, name, type, name, v);
}

/* The exposition, malloc'ed (*len bytes), or NULL. store: "shm" or
 * "memcached"; mc_up: -1 unknown (fcometctl), else 0 or 1. */
char *
metrics_text(const struct segment *sg, const char *store, int mc_up,
    size_t *len)
{
	const struct segment_hdr	*h = sg->hdr;
	const struct segment_counters	*c = &h->c;
	char				*out = NULL;
	FILE				*f = open_memstream(&out, len);
	unsigned long long		 cum = 0;
	uint64_t			 rooms, events, listeners;

	if (f == NULL)
		return NULL;
	segment_totals(sg, &rooms, &events, &listeners);
	fprintf(f, "# HELP fcomet_info The responder and its store.\n"
	    "# TYPE fcomet_info gauge\nfcomet_info{store=\"%s\"} 1\n", store);
	for (size_t i = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *m = &metrics_counters[i];
		if (m->in & METRICS_PROM)
			one(f, m->prom, "counter", m->help,
			    metrics_value(c, m));
	}
	fprintf(f, "# HELP fcomet_requests_total Requests answered, by route "
	    "and status (parked ones when parked).\n"
	    "# TYPE fcomet_requests_total counter\n");
	for (int r = 0; r < SEGMENT_ROUTES; r++)
		for (int s = 0; s < SEGMENT_STATUSES; s++) {
			uint64_t	v = LOAD(&c->requests[r][s]);
			char		code[8] = "other";

			if (v == 0)
				continue;
			if (s < SEGMENT_STATUSES - 1)
				snprintf(code, sizeof code, "%d", statuses[s]);
			fprintf(f, "fcomet_requests_total{route=\"%s\",status="
			    "\"%s\"} %llu\n", routes[r], code,
			    (unsigned long long)v);
		}
	one(f, "listeners", "gauge", "Long-polls and streams parked.",
	    (unsigned long long)listeners);
	one(f, "streams", "gauge", "Streams open.", LOAD(&c->streams));
	one(f, "rooms", "gauge", "Rooms live.", h->rooms_used);
	one(f, "rooms_capacity", "gauge", "Rooms the segment holds (--rooms).",
	    h->nrooms);
	one(f, "events_held", "gauge", "Events in the rooms' windows.",
	    (unsigned long long)events);
	one(f, "workers", "gauge", "Workers the master runs.",
	    LOAD(&c->workers));
	one(f, "segment_bytes", "gauge", "Bytes of the shared-memory segment.",
	    h->size);
	if (mc_up >= 0)
		one(f, "memcached_up", "gauge", "1 if memcached answers.",
		    (unsigned long long)mc_up);
	fprintf(f, "# HELP fcomet_delivery_seconds From an event stored to a "
	    "worker delivering it (one sample per room a worker wakes for).\n"
	    "# TYPE fcomet_delivery_seconds histogram\n");
	for (int b = 0; b < SEGMENT_BUCKETS; b++) {
		cum += LOAD(&c->latency[b]);
		if (b < SEGMENT_BUCKETS - 1)
			fprintf(f, "fcomet_delivery_seconds_bucket{le=\"%g\"} "
			    "%llu\n", (double)bounds_ms[b] / 1000, cum);
		else
			fprintf(f, "fcomet_delivery_seconds_bucket{le=\"+Inf\"}"
			    " %llu\n", cum);
	}
	fprintf(f, "fcomet_delivery_seconds_sum %.3f\n"
	    "fcomet_delivery_seconds_count %llu\n",
	    (double)LOAD(&c->latency_sum_ms) / 1000, cum);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
