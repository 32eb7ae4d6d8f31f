/* route.h: a request, as read off libfcgi, and the table of handlers. */
#ifndef FCOMET_ROUTE_H
#define FCOMET_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "park.h"
#include "segment.h"
#include "store.h"

struct request {
	int		 fd;		/* the FastCGI connection, ours now */
	uint16_t	 id;		/* FastCGI request id */
	char		*method;
	char		*path;		/* REQUEST_URI without query, or
					   SCRIPT_NAME + PATH_INFO */
	char		*query;
	char		*ctype;
	char		*addr;		/* REMOTE_ADDR */
	char		*user;		/* REMOTE_USER */
	char		*last_event_id;	/* HTTP_LAST_EVENT_ID */
	char		*authz;		/* HTTP_AUTHORIZATION */
	char		*origin;	/* HTTP_ORIGIN */
	char		*fetch_site;	/* HTTP_SEC_FETCH_SITE */
	char		*host;		/* HTTP_HOST */
	const char	*token;		/* the token field, in the handler's
					   fields */
	int64_t		 clen;		/* CONTENT_LENGTH, -1 if none */
	char		*body;
	size_t		 bodylen;
	bool		 body_over;	/* more than FCOMET_BODY_MAX */
	bool		 body_cut;	/* less than CONTENT_LENGTH came */
	uint8_t		 keep;		/* enum conn_keep */
	bool		 beat;		/* from Apache: see struct parked */
	uint8_t		 route;		/* metrics_route() */
	const char	*send_room;	/* /send: its room field, for the log */
	int64_t		 send_id;	/* /send: the id stored, 0 if none */
	struct parked	*conn;		/* read by the dispatcher: its kept
					   connection, reused if parked */
};

struct route_ctx {			/* one per accept thread, and the
					   dispatcher's */
	struct segment		*sg;
	struct store		*st;		/* this thread's */
	struct park		*pk;
	struct window_out	 out;
	int			 slot;		/* the worker's */
};

void	route(struct route_ctx *, struct request *);

/* route.c's answers, shared with the handlers of report.c. */
struct buf;
struct fields;
/* Sends a whole response (counted, a /send logged) and ends the request. */
void	respond(struct request *, struct buf *);
/* An error response: status, message, extra header lines or NULL. */
void	fail(struct request *, int, const char *, const char *);
/* A refusal of auth_room: 401 with the Bearer challenge, or 403. */
void	refuse(struct request *, const struct auth_result *);
/* The room field: 0 if present and valid, or -1 with a 400 answered. */
int	need_room(struct request *, struct fields *);
/* The store failed (errno says how): a 503 answered, and -1. */
int	store_error(struct request *);

/* report.c: the read-only endpoints, named in route.c's table. */
void	h_who(struct route_ctx *, struct request *);
void	h_rooms(struct route_ctx *, struct request *);
void	h_status(struct route_ctx *, struct request *);
void	h_metrics(struct route_ctx *, struct request *);

#endif
