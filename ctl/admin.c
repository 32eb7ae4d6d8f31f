/*
 * admin.c: fcometctl's commands that change the segment (send, purge, rm,
 * unlink; the test hooks hold-lock and take-id) and token, which signs.
 */
#include <err.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "event.h"

#define CTL_LOCK_MS	5000	/* hold-lock: how long to wait for the lock */

/* Takes token's options out of the words after it. */
void
token_args(int *argc, char **argv)
{
	struct ctl_token	*t = &ctl.tk;
	int			 i, n = 1;

	t->ttl = 3600;
	for (i = 1; i < *argc; i++) {
		const char *o = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;
		if (v == NULL || strncmp(o, "--", 2) != 0) {
			argv[n++] = argv[i];
			continue;
		}
		i++;
		if (strcmp(o, "--key") == 0)
			t->key = v;
		else if (strcmp(o, "--alg") == 0)
			t->alg = v;
		else if (strcmp(o, "--sub") == 0)
			t->sub = v;
		else if (strcmp(o, "--ttl") == 0)
			t->ttl = ctl_number(v, "--ttl", 1, 10 * 365 * 86400ULL);
		else if (strcmp(o, "--read") == 0 && t->nread < TOKEN_GRANTS)
			t->read[t->nread++] = v;
		else if (strcmp(o, "--write") == 0 && t->nwrite < TOKEN_GRANTS)
			t->write[t->nwrite++] = v;
		else {
			fprintf(stderr, "fcometctl: token: %s?\n", o);
			ctl_usage(2);
		}
	}
	*argc = n;
	if (t->key == NULL || t->sub == NULL) {
		fprintf(stderr, "fcometctl: token needs --key FILE and --sub "
		    "NICK\n");
		ctl_usage(2);
	}
}

/* token: a token fcomet takes, signed with the key given. */
void
cmd_token(char **argv)
{
	struct ctl_token	*t = &ctl.tk;
	struct token_key	 k;
	const char		*sub = t->sub, *why;
	size_t			 sublen = strlen(sub);
	char			 err[256], *tok;

	(void)argv;
	if (event_check_nick(&sub, &sublen, &why) != 0)
		errx(1, "--sub: %s", why);
	for (int i = 0; i < t->nread + t->nwrite; i++) {
		const char *r = i < t->nread ? t->read[i] :
		    t->write[i - t->nread];
		size_t len = strlen(r) - (r[0] && r[strlen(r) - 1] == '*');
		if (len > 0 && event_check_room(r, len, &why) != 0)
			errx(1, "room pattern %s: %s", r, why);
	}
	if (token_key_load(&k, t->key, t->alg, err, sizeof err) == -1)
		errx(1, "%s", err);
	tok = token_issue(&k, t->sub, (int64_t)time(NULL) + (int64_t)t->ttl,
	    t->read, t->nread, t->write, t->nwrite);
	token_key_free(&k);
	if (tok == NULL)
		errx(1, "signing failed: is %s a %s key?", t->key,
		    t->alg ? t->alg : "HS256");
	printf("%s\n", tok);
	free(tok);
}

/* The store of --memcached, or the segment's own. */
static struct store *
ctl_store(void)
{
	char	why[256];

	if (ctl.st == NULL && (ctl.st = store_open(&ctl.sg, ctl.memcached,
	    ctl.mc_prefix, why, sizeof why)) == NULL)
		errx(1, "%s", why);
	return ctl.st;
}

/*
 * Opens the segment for send, creating it if missing; a text over the
 * maximum of the segment to be created is refused before it is created.
 */
static void
send_open(const char *text, size_t len)
{
	const char	*why;
	char		 why2[256] = "";
	int		 status;
	size_t		 max;

	ctl.opts.create = false;
	if (segment_open(&ctl.sg, &ctl.opts, why2, sizeof why2) == 0) {
		ctl.open = true;
		return;
	}
	if (errno != ENOENT)
		errx(1, "%s", *why2 != '\0' ? why2 : strerror(errno));
	max = ctl.opts.max_text ? ctl.opts.max_text : EVENT_TEXT_DEFAULT;
	if ((status = event_check_text(text, len, max, &why)) != 0)
		errx(1, "send refused (%d): %s", status, why);
	ctl_open(true);
}

/* send ROOM NICK TEXT: what POST /send does, answered as it answers. */
void
cmd_send(char **argv)
{
	struct event		 ev;
	struct json_object	*o;
	const char		*why, *nick = argv[1], *text = argv[2];
	char			 nbuf[EVENT_NICK_BYTES + 1];
	size_t			 nlen = strlen(nick), tlen = strlen(text);
	int64_t			 id, ts;
	int			 status;

	if ((status = event_check_room(argv[0], strlen(argv[0]), &why)) != 0 ||
	    (status = event_check_nick(&nick, &nlen, &why)) != 0)
		errx(1, "send refused (%d): %s", status, why);
	if (nlen >= sizeof nbuf)
		errx(1, "send refused (400): nick is too long");
	memcpy(nbuf, nick, nlen);
	nbuf[nlen] = '\0';
	send_open(text, tlen);
	status = event_check_text(text, tlen, ctl.sg.hdr->max_text, &why);
	if (status != 0)
		errx(1, "send refused (%d): %s", status, why);
	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_MESSAGE;
	ev.ts = event_now_ms();
	ev.room = argv[0];
	ev.nick = nbuf;
	ev.text = text;
	ev.textlen = tlen;
	if ((id = store_publish(ctl_store(), &ev, &ts)) == -1) {
		if (errno == EIO)
			errx(1, "memcached %s is unreachable: nothing stored",
			    ctl.memcached);
		if (errno == ENOSPC)
			errx(1, "%s: every one of its %u rooms is in use "
			    "(listeners or nicks): a new room waits for one",
			    ctl.sg.name, ctl.sg.hdr->nrooms);
		err(1, "%s: cannot store the event", ctl.sg.name);
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "ts", json_object_new_int64(ts));
	ctl_json(o);
}

/* purge ROOM: empty it; listeners get a reset, ids start again at 1. */
void
cmd_purge(char **argv)
{
	struct json_object	*o;
	int			 r;

	ctl_open(false);
	r = ctl_room(argv[0]);
	if (segment_purge(&ctl.sg, r) == -1)
		err(1, "purge %s", argv[0]);
	if (!ctl.json) {
		printf("purged %s\n", argv[0]);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "room", json_object_new_string(argv[0]));
	json_object_object_add(o, "purged", json_object_new_boolean(1));
	ctl_json(o);
}

/* rm ROOM: the room goes; its listeners get a reset, its name is free. */
void
cmd_rm(char **argv)
{
	struct json_object	*o;

	ctl_open(false);
	ctl_room(argv[0]);
	if (segment_room_remove(&ctl.sg, argv[0]) == -1)
		err(1, "rm %s", argv[0]);
	if (!ctl.json) {
		printf("removed %s\n", argv[0]);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "room", json_object_new_string(argv[0]));
	json_object_object_add(o, "removed", json_object_new_boolean(1));
	ctl_json(o);
}

/* unlink: remove segment and lock; processes attached keep their map. */
void
cmd_unlink(char **argv)
{
	struct json_object	*o;
	char			 why[256] = "";

	(void)argv;
	if (segment_unlink(ctl.opts.name, why, sizeof why) == -1) {
		if (*why == '\0')
			err(1, "unlink /fcomet-%s", ctl.opts.name);
		errx(1, "%s", why);
	}
	if (!ctl.json) {
		printf("unlinked /fcomet-%s\n", ctl.opts.name);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "unlinked", json_object_new_string(
	    ctl.opts.name));
	ctl_json(o);
}

/* take-id ROOM: test hook; takes a memcached id and stores nothing, as a
 * sender that died between the two would. */
void
cmd_take_id(char **argv)
{
	int64_t	id;

	if (ctl.memcached == NULL)
		errx(2, "take-id needs --memcached");
	ctl_open(true);
	if ((id = store_mc_take_id(ctl_store(), argv[0])) == -1)
		err(1, "take-id %s", argv[0]);
	printf("%lld\n", (long long)id);
}

/* hold-lock MS: test hook; takes the lock, says so, holds it MS ms. */
void
cmd_hold_lock(char **argv)
{
	struct timespec	ts;
	uint64_t	ms;

	ms = ctl_number(argv[0], "hold-lock", 0, 86400000);
	ctl_open(false);
	if (segment_lock(&ctl.sg, CTL_LOCK_MS) == -1)
		err(1, "lock %s", ctl.sg.name);
	printf("locked %ld\n", (long)getpid());
	fflush(stdout);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	segment_unlock(&ctl.sg);
}

