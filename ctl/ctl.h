/*
 * ctl.h: what fcometctl's files share: its state (options and the attached
 * segment), the helpers every command uses, and the commands themselves,
 * one cmd_*() per verb (inspect.c reads, admin.c acts, fcometctl.c parses).
 */
#ifndef FCOMET_CTL_H
#define FCOMET_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "store.h"
#include "token.h"
#include "window.h"

struct json_object;

struct ctl {
	struct segment_opts	 opts;
	struct segment		 sg;
	bool			 open;	/* sg is attached */
	bool			 json;	/* --json */
	bool			 prometheus;	/* stat --prometheus */
	bool			 since_set;
	uint64_t		 since;	/* dump --since */
	struct window_out	 out;	/* read buffer, for dump and tail */
	const char		*memcached;	/* --memcached servers */
	const char		*mc_prefix;	/* --memcached-prefix */
	struct store		*st;	/* send's store, once opened */
	bool			 out_set;
	bool			 idle;	/* rooms --idle */
	uint64_t		 top;	/* rooms --top N, 0: all */
	bool			 by_listeners;	/* rooms --by listeners */
	struct ctl_token {		/* token's options */
		const char	*key, *alg, *sub;
		const char	*read[TOKEN_GRANTS], *write[TOKEN_GRANTS];
		int		 nread, nwrite;
		uint64_t	 ttl;
	} tk;
};


extern struct ctl	ctl;

void		 ctl_usage(int) __attribute__((noreturn));
void		 ctl_open(bool);
void		 ctl_out(void);
void		 ctl_json(struct json_object *);
uint64_t	 ctl_number(const char *, const char *, uint64_t, uint64_t);
void		 ctl_room_check(const char *);
int		 ctl_room(const char *);
void		 ctl_room_ids(int, uint64_t *, uint64_t *, uint64_t *);
void		 ctl_time(int64_t, char *, size_t);
void		 ctl_text(const char *, size_t);
struct json_object *ctl_parse(const char *, size_t);
void		 ctl_event(const char *, size_t);

/* inspect.c: the segment as it is. */
void		 cmd_stat(char **);
void		 cmd_rooms(char **);
void		 cmd_dump(char **);
void		 cmd_tail(char **);
void		 rooms_args(int *, char **);
void		 since_args(int *, char **);

/* admin.c: what changes it, and tokens. */
void		 cmd_send(char **);
void		 cmd_purge(char **);
void		 cmd_rm(char **);
void		 cmd_unlink(char **);
void		 cmd_token(char **);
void		 cmd_hold_lock(char **);
void		 cmd_take_id(char **);
void		 token_args(int *, char **);

#endif
