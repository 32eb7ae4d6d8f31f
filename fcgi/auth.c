/*
 * auth.c: a room needs a token with --auth token, or when it matches a
 * --private pattern; a token given for any room is checked and then says
 * who the client is. Verified tokens are kept per worker (a long-poll
 * re-polls with the same one), compared whole, never by hash alone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "event.h"
#include "fcomet.h"
#include "log.h"
#include "route.h"
#include "token.h"

#define CACHE_SLOTS	4096	/* tokens a worker keeps verified */
#define PRIVATE_MAX	16

struct cached {
	char			*token;
	struct token_claims	*c;
};

static struct token_key	 key;
static bool		 have_key;
static char		 private[PRIVATE_MAX][EVENT_ROOM_MAX + 2];
static int		 nprivate;
static struct cached	 cache[CACHE_SLOTS];	/* the worker's threads' */
static pthread_mutex_t	 cache_mu = PTHREAD_MUTEX_INITIALIZER;

int
auth_init(char *err, size_t errlen)
{
	char	*list, *p, *save = NULL;

	if (opt.token_key != NULL) {
		if (token_key_load(&key, opt.token_key, opt.token_alg, err,
		    errlen) == -1)
			return -1;
		have_key = true;
	}
	if (opt.private != NULL) {
		if ((list = strdup(opt.private)) == NULL)
			return snprintf(err, errlen, "out of memory"), -1;
		for (p = strtok_r(list, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save)) {
			size_t len = strlen(p);
			if (nprivate == PRIVATE_MAX || len == 0 ||
			    len > EVENT_ROOM_MAX + 1) {
				snprintf(err, errlen, "--private: up to %d "
				    "patterns of a room name, '*' at the end",
				    PRIVATE_MAX);
				free(list);
				return -1;
			}
			memcpy(private[nprivate++], p, len + 1);
		}
		free(list);
	}
	if ((opt.auth == AUTH_TOKEN || nprivate > 0) && !have_key) {
		snprintf(err, errlen, "--auth token and --private need "
		    "--token-key FILE");
		return -1;
	}
	return 0;
}

bool
auth_private(const char *room)
{
	if (opt.auth == AUTH_TOKEN)
		return true;
	for (int i = 0; i < nprivate; i++)
		if (token_match(private[i], room))
			return true;
	return false;
}

/* The token of the request: Authorization: Bearer, or ?token=. */
static const char *
request_token(const struct request *r)
{
	const char	*a = r->authz;

	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		a += 7;
		a += strspn(a, " ");
		return *a ? a : NULL;
	}
	return r->token;
}

static uint32_t
fnv(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/*
 * The claims of a valid token: verified once, then found in the worker's
 * cache (the same token comes back with every re-poll), compared whole.
 */
static enum token_status
claims(const char *token, int64_t now, struct token_claims *out)
{
	struct cached		*e = &cache[fnv(token) % CACHE_SLOTS];
	enum token_status	 st;
	bool			 hit;
	char			*t;
	struct token_claims	*c;

	pthread_mutex_lock(&cache_mu);
	if ((hit = e->token != NULL && strcmp(e->token, token) == 0))
		*out = *e->c;
	pthread_mutex_unlock(&cache_mu);
	if (hit) {	/* verified: only the times may have run out */
		if (out->exp <= now)
			return TOKEN_EXPIRED;
		return out->nbf > now ? TOKEN_NOT_YET : TOKEN_OK;
	}
	if ((st = token_verify(&key, token, now, out)) != TOKEN_OK)
		return st;
	if ((t = strdup(token)) == NULL || (c = malloc(sizeof *c)) == NULL) {
		free(t);
		return st;
	}
	*c = *out;
	pthread_mutex_lock(&cache_mu);
	free(e->token);
	free(e->c);
	e->token = t;
	e->c = c;
	pthread_mutex_unlock(&cache_mu);
	return st;
}

void
auth_room(const struct request *r, const char *room, bool write,
    struct auth_result *res)
{
	const char		*token = have_key ? request_token(r) : NULL;
	struct token_claims	 c;
	enum token_status	 st;
	int64_t			 now = event_now_ms();

	memset(res, 0, sizeof *res);
	if (token == NULL) {
		if (have_key && auth_private(room)) {
			res->status = 401;
			res->why = "this room needs a token";
		}
		return;
	}
	if ((st = claims(token, now / 1000, &c)) != TOKEN_OK) {
		res->status = 401;
		res->why = token_why(st);
		return;
	}
	if (!token_grants(&c, room, write)) {
		res->status = 403;
		res->why = write ? "the token does not grant writing to this "
		    "room" : "the token does not grant reading this room";
		return;
	}
	res->token = true;
	memcpy(res->sub, c.sub, sizeof res->sub);
	res->exp_ms = c.exp * 1000;
}

/* The length of the host name of "name[:port]" or "[v6]:port". */
static size_t
host_len(const char *h)
{
	const char	*e;

	if (*h == '[' && (e = strchr(h, ']')) != NULL)
		return (size_t)(e - h) + 1;
	return strcspn(h, ":/");
}

/*
 * Origin "scheme://name[:port]" against the request's own Host: the same
 * name, and the same port where Host says one (Debian's fastcgi_params
 * pass nginx's $host, a name without its port).
 */
static bool
origin_is_host(const char *origin, const char *host)
{
	const char	*o = strstr(origin, "://");
	size_t		 on, hn;

	if (o == NULL || host == NULL)
		return false;
	o += 3;
	on = host_len(o);
	hn = host_len(host);
	if (on != hn || strncasecmp(o, host, on) != 0)
		return false;
	if (host[hn] != ':')
		return true;
	if (o[on] == ':')
		return strcmp(o + on, host + hn) == 0;
	return strcmp(host + hn + 1, strncmp(origin, "https:", 6) == 0 ?
	    "443" : "80") == 0;
}

static bool
origin_allowed(const char *origin)
{
	const char	*l = opt.allow_origin;
	size_t		 n = strlen(origin);

	while (l != NULL && *l) {
		size_t len = strcspn(l, ",");
		if ((len == 1 && *l == '*') ||
		    (len == n && strncasecmp(l, origin, n) == 0))
			return true;
		l += len + (l[len] == ',');
	}
	return false;
}

/*
 * A write from a page of another site is refused: a browser says where
 * the page came from (Origin; Sec-Fetch-Site). No such header, as from
 * curl or a script: not a browser, nothing to refuse.
 */
bool
auth_same_site(const struct request *r)
{
	if (r->origin != NULL)
		return origin_is_host(r->origin, r->host) ||
		    origin_allowed(r->origin);
	if (r->fetch_site != NULL)
		return strcmp(r->fetch_site, "same-origin") == 0 ||
		    strcmp(r->fetch_site, "none") == 0;
	return true;
}
