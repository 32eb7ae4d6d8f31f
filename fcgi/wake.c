/*
 * wake.c: a host that stored an event sends each peer's relay one UDP
 * datagram, the room's name. The datagram carries no id: the relay reads
 * the room's counter from memcached and fetches exactly the ids it lacks,
 * so a forged, replayed or reordered datagram costs a counter read and
 * never an id, and a lost one costs the 30 ms poll that stays as the net.
 * Only datagrams from the addresses of --peers are read.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcomet.h"
#include "log.h"
#include "park.h"
#include "wake.h"

static struct sockaddr_storage	peers[WAKE_PEERS_MAX];
static socklen_t		peer_len[WAKE_PEERS_MAX];
static int			npeers;
static int			send_fd[2] = { -1, -1 };	/* v4, v6 */

/* "1.2.3.4:PORT" or "[::1]:PORT": 0, or -1. */
int
addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	const char	*colon = strrchr(spec, ':');
	char		 host[64], *end;
	long		 port;

	memset(ss, 0, sizeof *ss);
	if (colon == NULL || (size_t)(colon - spec) >= sizeof host)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end != '\0' || port < 1 || port > 65535)
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof *s4;
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
}

int
wake_init(char *err, size_t errlen)
{
	char	*list, *p, *save = NULL;

	if ((opt.peers != NULL || opt.wake_listen != NULL) &&
	    opt.memcached == NULL) {
		snprintf(err, errlen, "--peers and --wake-listen are for "
		    "--memcached mode");
		return -1;
	}
	if (opt.peers == NULL)
		return 0;
	if ((list = strdup(opt.peers)) == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	for (p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		int fam;
		if (npeers == WAKE_PEERS_MAX ||
		    addr_parse(p, &peers[npeers], &peer_len[npeers]) == -1) {
			snprintf(err, errlen, "--peers %s: up to %d of HOST:PORT "
			    "or [V6]:PORT", p, WAKE_PEERS_MAX);
			free(list);
			return -1;
		}
		fam = peers[npeers++].ss_family == AF_INET6;
		if (send_fd[fam] == -1 && (send_fd[fam] = socket(fam ?
		    AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			free(list);
			return -1;
		}
	}
	free(list);
	return 0;
}

/* Tells every peer; never waits (a full socket buffer drops the datagram:
 * the poll covers it). */
void
wake_send(const char *room, uint64_t id)
{
	char	msg[EVENT_ROOM_MAX + 24];
	int	len = snprintf(msg, sizeof msg, "%s %llu", room,
		    (unsigned long long)id);

	for (int i = 0; i < npeers; i++) {
		int fd = send_fd[peers[i].ss_family == AF_INET6];
		if (sendto(fd, msg, (size_t)len, MSG_DONTWAIT,
		    (struct sockaddr *)&peers[i], peer_len[i]) == -1)
			log_debug("wake-up to peer %d: %s", i, strerror(errno));
	}
}

int
wake_listen(char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd;

	if (opt.wake_listen == NULL)
		return -1;
	if (addr_parse(opt.wake_listen, &ss, &len) == -1) {
		snprintf(err, errlen, "--wake-listen %s: HOST:PORT or "
		    "[V6]:PORT", opt.wake_listen);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1) {
		snprintf(err, errlen, "--wake-listen %s: %s", opt.wake_listen,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* The peer from is (by address; with port too if port), or -1. */
static int
peer_index(const struct sockaddr_storage *from, bool port)
{
	for (int i = 0; i < npeers; i++) {
		const struct sockaddr_storage *p = &peers[i];
		if (p->ss_family != from->ss_family)
			continue;
		if (p->ss_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)p,
			    *b = (const void *)from;
			if (a->sin_addr.s_addr == b->sin_addr.s_addr &&
			    (!port || a->sin_port == b->sin_port))
				return i;
		} else {
			const struct sockaddr_in6 *a = (const void *)p,
			    *b = (const void *)from;
			if (memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0 &&
			    (!port || a->sin6_port == b->sin6_port))
				return i;
		}
	}
	return -1;
}

/* "ROOM N": 0 with *room (buf, cut at the space) and *id, or -1. */
static int
parse_room_id(char *buf, size_t n, char **room, uint64_t *id)
{
	char		*sp = memchr(buf, ' ', n), *end;
	const char	*why;

	if (sp == NULL || event_check_room(buf, (size_t)(sp - buf), &why) != 0)
		return -1;
	*sp = '\0';
	errno = 0;
	*id = strtoull(sp + 1, &end, 10);
	if (errno != 0 || end == sp + 1 || *end != '\0' || *id > EVENT_ID_MAX)
		return -1;
	*room = buf;
	return 0;
}

/*
 * A counter memcached lost (wake.h): asks every peer for the highest id it
 * holds or took in room, and how many it is taking. *max gets the highest
 * answer (left as is if none is higher), *inflight their sum added; 0 if
 * every peer answered within WAKE_ASK_MS, -1 if one did not.
 */
int
wake_ask(const char *room, uint64_t *max, uint64_t *inflight)
{
	char		 msg[EVENT_ROOM_MAX + 24];
	bool		 answered[WAKE_PEERS_MAX] = { false };
	struct pollfd	 pfd[2] = { { .fd = -1 }, { .fd = -1 } };
	int		 left = npeers, len = snprintf(msg, sizeof msg, "? %s",
			    room);
	int64_t		 end = mono_ms() + WAKE_ASK_MS, now;

	for (int i = 0; i < npeers; i++) {
		int fam = peers[i].ss_family == AF_INET6;
		if (pfd[fam].fd == -1) {
			pfd[fam].fd = socket(fam ? AF_INET6 : AF_INET,
			    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
			pfd[fam].events = POLLIN;
		}
		if (pfd[fam].fd != -1)
			sendto(pfd[fam].fd, msg, (size_t)len, 0,
			    (struct sockaddr *)&peers[i], peer_len[i]);
	}
	while (left > 0 && (now = mono_ms()) < end &&
	    poll(pfd, 2, (int)(end - now)) > 0) {
		for (int k = 0; k < 2; k++) {
			struct sockaddr_storage	from;
			socklen_t		flen = sizeof from;
			ssize_t			n;
			char			buf[EVENT_ROOM_MAX + 48], *r, *sp;
			uint64_t		id;
			unsigned long		nf;
			int			i;

			while (pfd[k].fd != -1 && (n = recvfrom(pfd[k].fd, buf,
			    sizeof buf - 1, 0, (struct sockaddr *)&from,
			    &flen)) >= 0) {
				buf[n] = '\0';
				flen = sizeof from;
				if (n < 4 || buf[0] != '=' || buf[1] != ' ' ||
				    (i = peer_index(&from, true)) == -1 ||
				    answered[i] || (sp = strrchr(buf, ' ')) ==
				    buf + 1 || sscanf(sp, " %lu", &nf) != 1 ||
				    nf > WAKE_INFLIGHT_MAX)
					continue;
				*sp = '\0';
				if (parse_room_id(buf + 2, (size_t)(sp - buf) - 2,
				    &r, &id) == -1 || strcmp(r, room) != 0)
					continue;
				answered[i] = true;
				left--;
				if (id > *max)
					*max = id;
				*inflight += nf;
			}
		}
	}
	for (int f = 0; f < 2; f++)
		if (pfd[f].fd != -1)
			close(pfd[f].fd);
	return left == 0 ? 0 : -1;
}

/*
 * Drains fd: the distinct valid rooms peers named, at most max, each with
 * the highest id named. A peer's question "? ROOM" is answered at once
 * with "= ROOM N F", held(room) giving N and F.
 */
int
wake_recv(int fd, struct wake_msg *msgs, int max,
    void (*held)(const char *, uint64_t *, uint64_t *))
{
	char			buf[EVENT_ROOM_MAX + 24], *room;
	struct sockaddr_storage	from;
	socklen_t		flen;
	ssize_t			n;
	int			nr = 0, k;
	uint64_t		id;

	for (int i = 0; i < 4 * max; i++) {
		const char *why;
		flen = sizeof from;
		n = recvfrom(fd, buf, sizeof buf - 1, MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (n < 0)
			break;
		buf[n] = '\0';
		if (peer_index(&from, false) == -1)
			continue;
		if (n > 2 && buf[0] == '?' && buf[1] == ' ' &&
		    event_check_room(buf + 2, (size_t)n - 2, &why) == 0) {
			char		answer[EVENT_ROOM_MAX + 48];
			uint64_t	top, f;
			held(buf + 2, &top, &f);
			int len = snprintf(answer, sizeof answer, "= %s %llu %llu",
			    buf + 2, (unsigned long long)top,
			    (unsigned long long)f);
			sendto(fd, answer, (size_t)len, MSG_DONTWAIT,
			    (struct sockaddr *)&from, flen);
			continue;
		}
		if (parse_room_id(buf, (size_t)n, &room, &id) == -1 || id == 0)
			continue;
		for (k = 0; k < nr && strcmp(msgs[k].room, room) != 0; k++)
			;
		if (k == nr && nr == max)
			continue;
		if (k == nr) {
			snprintf(msgs[nr].room, sizeof msgs[nr].room, "%s", room);
			msgs[nr++].id = id;
		} else if (id > msgs[k].id)
			msgs[k].id = id;
	}
	return nr;
}
