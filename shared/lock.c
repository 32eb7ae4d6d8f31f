/*
 * lock.c: the segment's named semaphore and its change futex. A lock
 * owner that died holding the lock is noticed within two rounds and its
 * room mended (segment_recover); the futex is how readers, which never
 * lock, learn that something changed.
 */
#include <sys/syscall.h>
#include <linux/futex.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "segment.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define LOCK_ROUND_MS	250	/* a dead owner is noticed within 2 rounds */

static void
deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* A zombie is dead too: kill(pid, 0) alone says it is alive. */
static bool
pid_alive(pid_t pid)
{
	char	path[64], buf[256], *p;
	FILE	*f;
	bool	 zombie = false;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return false;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	if (fgets(buf, sizeof buf, f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		zombie = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return !zombie;
}

/* The owner died holding the lock: take it over and mend its room. */
static void
segment_recover(struct segment *sg, int32_t dead)
{
	int32_t	 ri = sg->hdr->owner_room;

	if (ri >= 0 && (uint32_t)ri < sg->hdr->nrooms) {
		struct window w;
		segment_window(sg, ri, &w);
		window_repair(&w);
	}
	rooms_rebuild(sg);
	sg->hdr->owner_room = -1;
	sg->hdr->c.recoveries++;
	log_warn("%s: lock owner %d died holding the lock; recovered room %d",
	    sg->name, (int)dead, (int)ri);
}

static int32_t		segment_pid;	/* getpid() is a syscall: 1.7 us here */
static pthread_once_t	segment_pid_once = PTHREAD_ONCE_INIT;

static void
segment_pid_forget(void)
{
	segment_pid = 0;
}

static void
segment_pid_init(void)
{
	pthread_atfork(NULL, NULL, segment_pid_forget);
}

static int32_t
segment_me(void)
{
	if (segment_pid == 0) {
		pthread_once(&segment_pid_once, segment_pid_init);
		segment_pid = (int32_t)getpid();
	}
	return segment_pid;
}

/*
 * Takes the lock, waiting at most timeout_ms. A dead owner is noticed
 * within two rounds and its lock taken over. -1 with ETIMEDOUT if a live
 * owner keeps it; with timeout_ms 0, -1 with EBUSY at once if it is taken.
 */
int
segment_lock(struct segment *sg, int timeout_ms)
{
	struct segment_hdr	*h = sg->hdr;
	struct timespec		 ts;
	int32_t			 me = segment_me(), seen, zero_rounds = 0;
	int			 waited = 0;

	if (sem_trywait(sg->lock) == 0) {	/* uncontended: no clock read */
		seen = 0;
		if (__atomic_compare_exchange_n(&h->owner, &seen, me, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
	if (timeout_ms <= 0) {		/* a caller that must not wait */
		errno = EBUSY;
		return -1;
	}
	for (;;) {
		deadline_in(&ts, timeout_ms < LOCK_ROUND_MS ? timeout_ms :
		    LOCK_ROUND_MS);
		if (sem_timedwait(sg->lock, &ts) == 0) {
			seen = 0;
			if (__atomic_compare_exchange_n(&h->owner, &seen, me, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return 0;
			continue;	/* taken over meanwhile: wait again */
		}
		if (errno == EINTR)
			continue;
		if (errno != ETIMEDOUT)
			return -1;
		waited += timeout_ms < LOCK_ROUND_MS ? timeout_ms :
		    LOCK_ROUND_MS;
		seen = LOAD(&h->owner);
		if ((seen == 0 && ++zero_rounds >= 2) ||
		    (seen != 0 && !pid_alive(seen))) {
			if (__atomic_compare_exchange_n(&h->owner, &seen, me, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				segment_recover(sg, seen);
				return 0;
			}
		}
		if (waited >= timeout_ms) {
			ADD(&h->c.lock_timeouts, 1);
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

void
segment_unlock(struct segment *sg)
{
	sg->hdr->owner_room = -1;
	STORE(&sg->hdr->owner, 0);
	sem_post(sg->lock);
}

static long
futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

/* Bumps the change counter; a syscall only if somebody waits. */
void
segment_notify(struct segment *sg)
{
	ADD(&sg->hdr->change, 1);
	if (__atomic_load_n(&sg->hdr->sleepers, __ATOMIC_SEQ_CST) > 0)
		futex(&sg->hdr->change, FUTEX_WAKE, INT_MAX, NULL);
}

uint32_t
segment_change(const struct segment *sg)
{
	return __atomic_load_n(&sg->hdr->change, __ATOMIC_SEQ_CST);
}

/* Sleeps until the counter differs from seen: 0, or -1 with ETIMEDOUT. */
int
segment_wait(struct segment *sg, uint32_t seen, int timeout_ms)
{
	struct timespec	ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	long		rc = 0;

	ADD(&sg->hdr->sleepers, 1);
	if (segment_change(sg) == seen)
		rc = futex(&sg->hdr->change, FUTEX_WAIT, seen,
		    timeout_ms < 0 ? NULL : &ts);
	ADD(&sg->hdr->sleepers, -1);
	if (rc == -1 && errno == EAGAIN)
		rc = 0;
	if (rc == 0 && segment_change(sg) == seen) {
		errno = EINTR;
		return -1;
	}
	return rc == 0 ? 0 : -1;
}
