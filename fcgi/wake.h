/*
 * wake.h: memcached mode's wake-ups between hosts (--peers,
 * --wake-listen): a datagram "ROOM ID", sent to every peer when this
 * host stored event ID in ROOM, so their relays fetch it at once instead
 * of at their next poll. A host making a counter memcached lost asks
 * its peers first ("? ROOM", answered "= ROOM N F" by their relays: the
 * highest id held or taken, ids being taken), so the new counter starts
 * past every id any host holds.
 */
#ifndef FCOMET_WAKE_H
#define FCOMET_WAKE_H

#include <sys/socket.h>

#include <stdint.h>

#include "event.h"

#define WAKE_PEERS_MAX	32
#define WAKE_BATCH	64	/* rooms a relay takes from one drain */
#define WAKE_ASK_MS	100	/* peers answer a wake_ask this fast */
#define WAKE_INFLIGHT_MAX 100000	/* ids in flight an answer may claim */

struct wake_msg {
	char		room[EVENT_ROOM_MAX + 1];
	uint64_t	id;		/* the newest id a peer stored there */
};

int	addr_parse(const char *, struct sockaddr_storage *, socklen_t *);
int	wake_init(char *err, size_t errlen);
void	wake_send(const char *room, uint64_t id);
int	wake_listen(char *err, size_t errlen);
int	wake_recv(int fd, struct wake_msg *, int max,
	    void (*held)(const char *, uint64_t *, uint64_t *));
int	wake_ask(const char *room, uint64_t *max, uint64_t *inflight);

#endif
