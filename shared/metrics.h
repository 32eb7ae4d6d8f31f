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

/* The segment's event counters, and where each is shown: the one list
 * /status, /metrics and fcometctl stat read. */
#define METRICS_STATUS	0x1	/* /status */
#define METRICS_MC	0x2	/* /status in memcached mode */
#define METRICS_PROM	0x4	/* /metrics, as fcomet_<prom> */
#define METRICS_CTL	0x8	/* fcometctl stat */

struct metrics_counter {
	const char	*name;		/* /status and fcometctl stat's key */
	const char	*prom;		/* or NULL */
	const char	*help;		/* /metrics' HELP line */
	size_t		 off;		/* in struct segment_counters */
	unsigned	 in;		/* METRICS_* */
};

extern const struct metrics_counter	metrics_counters[];
extern const size_t			metrics_ncounters;

uint64_t metrics_value(const struct segment_counters *,
	    const struct metrics_counter *);
#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"

int	 metrics_route(const char *name);	/* the last one: other */
void	 metrics_request(struct segment *, int route, int status);
void	 metrics_delivered(struct segment *, uint64_t n, int64_t stored_ms);
char	*metrics_text(const struct segment *, const char *store, int mc_up,
	    size_t *len);

#endif
