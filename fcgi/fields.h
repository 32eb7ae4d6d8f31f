/*
 * fields.h: the known fields of a request, from a query string, a form
 * body or a JSON body, decoded by the rules of PROTOCOL.md.
 */
#ifndef FCOMET_FIELDS_H
#define FCOMET_FIELDS_H

#include <stddef.h>
#include <stdint.h>

enum field {
	F_ROOM,
	F_NICK,
	F_TEXT,
	F_SINCE,
	F_TIMEOUT,
	F_TOKEN,
	F_COUNT
};

struct fields {
	char	*v[F_COUNT];	/* NUL-terminated (may hold NULs), or NULL */
	size_t	 len[F_COUNT];
	char	*mem;		/* owns every v[] */
};

int	fields_form(struct fields *, const char *, size_t, const char **);
int	fields_json(struct fields *, const char *, size_t, const char **);
void	fields_free(struct fields *);
int	number_parse(const char *, size_t, uint64_t *);

#endif
