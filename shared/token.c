/*
 * token.c: JSON Web Tokens through libjwt. The algorithm is the key's:
 * an HS256 secret accepts HS256 only, a PEM public key RS256 or ES256 as
 * configured; any other "alg" (none above all, or HS256 signed with the
 * public key as its secret) is refused before libjwt sees the token.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <jwt.h>

#include "token.h"

#define KEY_MAX		(64 << 10)

int
token_key_load(struct token_key *k, const char *file, const char *alg,
    char *err, size_t errlen)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	memset(k, 0, sizeof *k);
	k->alg = jwt_str_alg(alg ? alg : "HS256");
	if (k->alg != JWT_ALG_HS256 && k->alg != JWT_ALG_RS256 &&
	    k->alg != JWT_ALG_ES256) {
		snprintf(err, errlen, "token algorithm %s: use HS256, RS256 "
		    "or ES256", alg);
		return -1;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (st.st_size <= 0 || st.st_size > KEY_MAX ||
	    (k->key = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: a key of 1 byte to 64 KiB", file);
		close(fd);
		return -1;
	}
	n = read(fd, k->key, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errlen, "%s: short read", file);
		token_key_free(k);
		return -1;
	}
	k->len = (size_t)n;
	k->key[k->len] = '\0';
	if (k->alg == JWT_ALG_HS256) {	/* a secret: less one newline */
		if (k->key[k->len - 1] == '\n')
			k->key[--k->len] = '\0';
		if (k->len < TOKEN_SECRET_MIN) {
			snprintf(err, errlen, "%s: an HS256 secret of at least "
			    "%d bytes", file, TOKEN_SECRET_MIN);
			token_key_free(k);
			return -1;
		}
	} else if (strstr((char *)k->key, "-----BEGIN ") == NULL) {
		snprintf(err, errlen, "%s: a PEM key for %s", file, alg);
		token_key_free(k);
		return -1;
	}
	return 0;
}

void
token_key_free(struct token_key *k)
{
	if (k->key != NULL)
		explicit_bzero(k->key, k->len);
	free(k->key);
	k->key = NULL;
}

/* The "alg" of the token's header, decoded from base64url; NULL if none. */
static char *
header_alg(const char *token, char *out, size_t outlen)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char		*dot = strchr(token, '.');
	char			 json[512];
	size_t			 n = 0;
	uint32_t		 acc = 0;
	int			 bits = 0;
	struct json_object	*o, *a;

	if (dot == NULL || dot - token > 680)
		return NULL;
	for (const char *p = token; p < dot; p++) {
		const char *c = *p ? strchr(b64, *p) : NULL;
		if (c == NULL)
			return NULL;
		acc = acc << 6 | (uint32_t)(c - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			json[n++] = (char)(acc >> bits & 0xff);
		}
	}
	json[n] = '\0';
	out[0] = '\0';
	if ((o = json_tokener_parse(json)) == NULL)
		return NULL;
	if (json_object_object_get_ex(o, "alg", &a) &&
	    json_object_is_type(a, json_type_string))
		snprintf(out, outlen, "%s", json_object_get_string(a));
	json_object_put(o);
	return out[0] ? out : NULL;
}

/* A list of room patterns: room characters, an optional '*' at the end. */
static int
grant_list(struct json_object *l, struct token_claims *c, uint8_t *n)
{
	size_t	len;

	*n = 0;
	if (l == NULL)
		return 0;
	if (!json_object_is_type(l, json_type_array) ||
	    json_object_array_length(l) > TOKEN_GRANTS)
		return -1;
	for (size_t i = 0; i < json_object_array_length(l); i++) {
		struct json_object *e = json_object_array_get_idx(l, i);
		const char *s = json_object_get_string(e);
		if (!json_object_is_type(e, json_type_string))
			return -1;
		len = strlen(s);
		if (len == 0 || len > EVENT_ROOM_MAX + 1 ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789_.-") < len - (s[len - 1] == '*') ||
		    c->len + len + 1 > TOKEN_GRANT_BYTES)
			return -1;
		memcpy(c->grants + c->len, s, len + 1);
		c->len += (uint16_t)(len + 1);
		(*n)++;
	}
	return 0;
}

static int
claims_read(const char *json, struct token_claims *c)
{
	struct json_object	*o, *v, *rooms = NULL, *r = NULL, *w = NULL;
	const char		*sub, *why;
	size_t			 sublen;
	int			 rc = -1;

	memset(c, 0, sizeof *c);
	if ((o = json_tokener_parse(json)) == NULL)
		return -1;
	if (!json_object_object_get_ex(o, "sub", &v) ||
	    !json_object_is_type(v, json_type_string))
		goto out;
	sub = json_object_get_string(v);
	sublen = strlen(sub);
	if (event_check_nick(&sub, &sublen, &why) != 0)
		goto out;
	memcpy(c->sub, sub, sublen);
	if (!json_object_object_get_ex(o, "exp", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	c->exp = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "nbf", &v)) {
		if (!json_object_is_type(v, json_type_int))
			goto out;
		c->nbf = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "rooms", &rooms)) {
		if (!json_object_is_type(rooms, json_type_object))
			goto out;
		json_object_object_get_ex(rooms, "read", &r);
		json_object_object_get_ex(rooms, "write", &w);
	}
	if (grant_list(r, c, &c->nread) == -1 ||
	    grant_list(w, c, &c->nwrite) == -1)
		goto out;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

enum token_status
token_verify(const struct token_key *k, const char *token, int64_t now,
    struct token_claims *c)
{
	jwt_t		*jwt = NULL;
	char		 alg[16], *json;
	int		 st;

	if (strnlen(token, TOKEN_MAX + 1) > TOKEN_MAX)
		return TOKEN_MALFORMED;
	if (header_alg(token, alg, sizeof alg) == NULL)
		return TOKEN_MALFORMED;
	if (jwt_str_alg(alg) != (jwt_alg_t)k->alg)
		return TOKEN_BAD_ALG;
	if (jwt_decode(&jwt, token, k->key, (int)k->len) != 0 || jwt == NULL)
		return TOKEN_BAD_SIGNATURE;
	if (jwt_get_alg(jwt) != (jwt_alg_t)k->alg) {
		jwt_free(jwt);
		return TOKEN_BAD_ALG;
	}
	json = jwt_get_grants_json(jwt, NULL);
	st = json != NULL && claims_read(json, c) == 0 ? TOKEN_OK :
	    TOKEN_MALFORMED;
	free(json);
	jwt_free(jwt);
	if (st != TOKEN_OK)
		return st;
	if (c->exp <= now)
		return TOKEN_EXPIRED;
	if (c->nbf > now)
		return TOKEN_NOT_YET;
	return TOKEN_OK;
}

const char *
token_why(enum token_status st)
{
	switch (st) {
	case TOKEN_OK: return "ok";
	case TOKEN_MALFORMED: return "the token is not a JWT with a sub, an "
	    "exp and room grants fcomet reads";
	case TOKEN_BAD_ALG: return "the token's algorithm is not the one "
	    "fcomet's key takes";
	case TOKEN_BAD_SIGNATURE: return "the token's signature does not "
	    "verify";
	case TOKEN_EXPIRED: return "the token has expired";
	case TOKEN_NOT_YET: return "the token is not valid yet (nbf)";
	}
	return "bad token";
}

/* "lobby" is that room, "team-*" every room that starts with "team-". */
bool
token_match(const char *pattern, const char *room)
{
	size_t	len = strlen(pattern);

	if (len > 0 && pattern[len - 1] == '*')
		return strncmp(pattern, room, len - 1) == 0;
	return strcmp(pattern, room) == 0;
}

bool
token_grants(const struct token_claims *c, const char *room, bool write)
{
	const char	*g = c->grants;

	for (int i = 0; i < c->nread + c->nwrite; i++, g += strlen(g) + 1)
		if ((i >= c->nread) == write && token_match(g, room))
			return true;
	return false;
}

/* A signed token (malloc'ed), NULL with errno on failure. */
char *
token_issue(const struct token_key *k, const char *sub, int64_t exp,
    const char *const *read, int nread, const char *const *write,
    int nwrite)
{
	struct json_object	*rooms = json_object_new_object(), *l;
	jwt_t			*jwt = NULL;
	char			*out = NULL;
	const char		*json;

	l = json_object_new_array();
	for (int i = 0; i < nread; i++)
		json_object_array_add(l, json_object_new_string(read[i]));
	json_object_object_add(rooms, "read", l);
	l = json_object_new_array();
	for (int i = 0; i < nwrite; i++)
		json_object_array_add(l, json_object_new_string(write[i]));
	json_object_object_add(rooms, "write", l);
	l = json_object_new_object();
	json_object_object_add(l, "rooms", rooms);
	json = json_object_to_json_string_ext(l, JSON_C_TO_STRING_PLAIN);
	if (jwt_new(&jwt) == 0 && jwt_add_grant(jwt, "sub", sub) == 0 &&
	    jwt_add_grant_int(jwt, "exp", (long)exp) == 0 &&
	    jwt_add_grants_json(jwt, json) == 0 &&
	    jwt_set_alg(jwt, (jwt_alg_t)k->alg, k->key, (int)k->len) == 0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	json_object_put(l);
	return out;
}
