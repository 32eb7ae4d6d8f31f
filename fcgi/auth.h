/*
 * auth.h: who may do what. Signed tokens (shared/token.c) and the rooms
 * that need one (--auth token, --private), REMOTE_USER (--auth
 * remote-user), and the cross-site check of writes (Origin,
 * Sec-Fetch-Site, --allow-origin).
 */
#ifndef FCOMET_AUTH_H
#define FCOMET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum auth_mode { AUTH_NONE, AUTH_REMOTE_USER, AUTH_TOKEN };

struct request;

struct auth_result {		/* what a request may do, and as whom */
	int		 status;	/* 0 allowed; 401, 403 refused */
	const char	*why;
	bool		 token;		/* a token said who */
	char		 sub[EVENT_NICK_BYTES + 1];
	int64_t		 exp_ms;	/* the token's exp, ms; 0 none */
};

int	auth_init(char *err, size_t errlen);
bool	auth_private(const char *room);
bool	auth_same_site(const struct request *);
void	auth_room(const struct request *, const char *room, bool write,
	    struct auth_result *);

#endif
