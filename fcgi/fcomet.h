/* fcomet.h: the responder's options and the worker entry point. */
#ifndef FCOMET_FCOMET_H
#define FCOMET_FCOMET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

#define FCOMET_BODY_MAX		16384	/* bytes of a /send body */
#define FCOMET_DISCARD_MAX	(2 << 20)	/* of a body too large */
#define FCOMET_ACCEPT_THREADS	4	/* per worker */

struct options {
	const char	*socket;	/* NULL: listening socket on fd 0 */
	mode_t		 socket_mode;
	gid_t		 socket_gid;
	bool		 socket_group;
	int		 workers;
	struct segment_opts seg;
	double		 rate;		/* messages a second, 0: off */
	double		 burst;
	double		 room_rate;	/* new rooms a second, 0: off */
	double		 room_burst;
	int64_t		 room_ttl;	/* s; 0: rooms are kept */
	int64_t		 history_ttl;	/* s; 0: events are served while held */
	int		 timeout_default;	/* s */
	int		 timeout_max;	/* s */
	int		 ping;		/* s */
	int		 grace;		/* s */
	int		 lifetime;	/* s, of a stream */
	int		 auth;		/* enum auth_mode */
	const char	*token_key;	/* file */
	const char	*token_alg;	/* HS256, RS256, ES256 */
	const char	*private;	/* room patterns that need a token */
	const char	*allow_origin;	/* origins that may write too */
	int		 max_listeners_addr;	/* parked per address, 0: off */
	const char	*memcached;	/* servers, or NULL: the shm store */
	const char	*mc_prefix;	/* of memcached keys */
	const char	*peers;		/* other hosts' --wake-listen */
	const char	*wake_listen;	/* this relay's wake-up address */
	int		 relay_tick;	/* ms between the relay's polls */
	const char	*user;		/* run as, when started as root */
	gid_t		 user_gid;
	const char	*trust_proxy;	/* REMOTE_ADDR whose X-Forwarded-For
					   we believe */
	int		 max_fds;	/* RLIMIT_NOFILE, 0: the hard limit */
	const char	*pidfile;
	bool		 daemon;
	bool		 check_only;
	int		 debug;
	int64_t		 started;	/* ms */
};

extern struct options	opt;

/* options.c: opt from the command line; exits 2 on a bad option. */
void	options(int argc, char **argv);

int	worker_main(int listen_fd, int slot);
/*
 * A FastCGI connection whose request is answered: the web server asked to
 * keep it (FCGI_KEEP_CONN, e.g. nginx's fastcgi_keep_conn on) and it is
 * in step, so it waits for the next request; otherwise it is closed.
 */
enum conn_keep {
	CONN_CLOSE,		/* close once answered */
	CONN_KEEP_NEW,		/* keep; not yet in the accept threads' epoll */
	CONN_KEEP		/* keep; in it already (one-shot, disarmed) */
};
void	worker_done(int fd, int keep);
struct route_ctx;
struct parked;
void	worker_serve(struct route_ctx *, struct parked *);
int	relay_main(void);

#endif
