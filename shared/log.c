/* log.c: timestamped lines on stderr; debug lines cost nothing when off. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_prog = "fcomet";
static int		 log_debug_on;

void
log_init(const char *prog, int debug)
{
	log_prog = prog;
	log_debug_on = debug;
}

static void
log_vline(const char *level, const char *fmt, va_list ap)
{
	char		 line[1024], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03ldZ %s[%ld] %s: ", stamp,
	    ts.tv_nsec / 1000000, log_prog, (long)getpid(), level);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - n, fmt, ap);
	fprintf(stderr, "%s\n", line);	/* one write: lines never mix */
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("warning", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vline("debug", fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
