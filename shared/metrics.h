/*
 * metrics.h: the segment's counters and gauges in the Prometheus text
 * exposition format 0.0.4, for GET /metrics and fcometctl stat
 * --prometheus. Requests are counted by route and status, and the time
 * from an event stored to its delivery by a worker in a histogram.
 */
#ifndef FCOMET_METRICS_H
#define FCOMET_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#define METRICS_SEND	0	/* metrics_route("send") */
#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"

int	 metrics_route(const char *name);	/* the last one: other */
void	 metrics_request(struct segment *, int route, int status);
void	 metrics_delivered(struct segment *, uint64_t n, int64_t stored_ms);
char	*metrics_text(const struct segment *, const char *store, int mc_up,
	    size_t *len);

#endif
