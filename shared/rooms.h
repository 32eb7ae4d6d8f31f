/*
 * rooms.h: the room table's own, for the files of segment.h that write
 * rooms (rooms.c, publish.c). Not for the programs: they use segment.h.
 */
#ifndef FCOMET_ROOMS_H
#define FCOMET_ROOMS_H

#include <stddef.h>

#include "segment.h"

/* The window of region word; one out of range (a broken segment) is
 * read as the record's own class-0 region. */
void	region_bind(const struct segment *, int, uint32_t, struct window *);
/* Under the lock, before a record of total bytes goes in: the room moves
 * up a class, or takes a region back from an idle room, if it must. */
void	room_grow(struct segment *, int, struct window *, size_t);
/* Under the lock: the room's index, created if new; ENOSPC if full. */
int	room_get_locked(struct segment *, const char *);

#endif
