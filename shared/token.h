/*
 * token.h: JSON Web Tokens a site issues for its users (libjwt): verify
 * one against a key with its algorithm pinned, read its claims (sub, exp,
 * nbf, rooms.read, rooms.write), and issue one (fcometctl token).
 */
#ifndef FCOMET_TOKEN_H
#define FCOMET_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define TOKEN_MAX	4096	/* bytes of a token */
#define TOKEN_GRANTS	16	/* room patterns a list holds */
#define TOKEN_GRANT_BYTES 1024	/* of all patterns, NULs included */
#define TOKEN_SECRET_MIN 32	/* bytes of an HS256 secret (RFC 7518) */

struct token_key {
	int		 alg;		/* jwt_alg_t: the only one accepted */
	unsigned char	*key;		/* secret, or PEM public/private key */
	size_t		 len;
};

struct token_claims {
	char		sub[EVENT_NICK_BYTES + 1];
	int64_t		exp;		/* s since the epoch */
	int64_t		nbf;		/* 0: none */
	uint8_t		nread, nwrite;
	uint16_t	len;		/* bytes of grants used */
	char		grants[TOKEN_GRANT_BYTES];	/* the read patterns,
					   then the write ones, each ending
					   in NUL */
};

enum token_status {
	TOKEN_OK,
	TOKEN_MALFORMED,	/* not a JWT, or claims of the wrong type */
	TOKEN_BAD_ALG,		/* another algorithm than the key's ("none") */
	TOKEN_BAD_SIGNATURE,
	TOKEN_EXPIRED,
	TOKEN_NOT_YET,		/* nbf in the future */
};

int	token_key_load(struct token_key *, const char *file, const char *alg,
	    char *err, size_t errlen);
void	token_key_free(struct token_key *);
enum token_status token_verify(const struct token_key *, const char *token,
	    int64_t now, struct token_claims *);
const char *token_why(enum token_status);
bool	token_match(const char *pattern, const char *room);
bool	token_grants(const struct token_claims *, const char *room, bool write);
char	*token_issue(const struct token_key *, const char *sub, int64_t exp,
	    const char *const *read, int nread, const char *const *write,
	    int nwrite);

#endif
