/*
 * wake.h: memcached mode's wake-ups between hosts (--peers,
 * --wake-listen): a datagram "ROOM ID", sent to every peer when this
 * host stored event ID in ROOM, so their relays fetch it at once instead
 * of at their next poll.
 */
#ifndef FCOMET_WAKE_H
#define FCOMET_WAKE_H

#include <sys/socket.h>

#include <stdint.h>

#include "event.h"

#define WAKE_PEERS_MAX	32
#define WAKE_BATCH	64	/* rooms a relay takes from one drain */

struct wake_msg {
	char		room[EVENT_ROOM_MAX + 1];
	uint64_t	id;		/* the newest id a peer stored there */
};

int	addr_parse(const char *, struct sockaddr_storage *, socklen_t *);
int	wake_init(char *err, size_t errlen);
void	wake_send(const char *room, uint64_t id);
int	wake_listen(char *err, size_t errlen);
int	wake_recv(int fd, struct wake_msg *, int max);

#endif
