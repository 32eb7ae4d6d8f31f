/*
 * wake.h: memcached mode's wake-ups between hosts (--peers,
 * --wake-listen): a datagram naming a room, sent to every peer when this
 * host stored an event there, so their relays fetch it at once instead
 * of at their next poll.
 */
#ifndef FCOMET_WAKE_H
#define FCOMET_WAKE_H

#include <sys/socket.h>

#include "event.h"

#define WAKE_PEERS_MAX	32
#define WAKE_BATCH	64	/* rooms a relay takes from one drain */

int	addr_parse(const char *, struct sockaddr_storage *, socklen_t *);
int	wake_init(char *err, size_t errlen);
void	wake_send(const char *room);
int	wake_listen(char *err, size_t errlen);
int	wake_recv(int fd, char (*rooms)[EVENT_ROOM_MAX + 1], int max);

#endif
