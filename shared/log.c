/* log.c: key=value lines on stderr; debug lines cost nothing when off. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* value, quoted for key="value" (backslash before " and \, controls as
 * \xNN), into buf of len bytes. */
const char *
log_quote(char *buf, size_t len, const char *value)
{
	size_t	n = 0;

	if (len < 3)
		return "";
	buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)value;
	    p != NULL && *p != '\0' && n + 6 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", *p);
		else
			buf[n++] = (char)*p;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/*
 * One line: ts=... level=... prog=... pid=... then, for kv, fmt's own
 * key=value pairs, else msg="the text". The same shape everywhere, so
 * journalctl -u fcomet | grep 'event=send' reads like an access log.
 */
static void
log_vline(const char *level, bool kv, const char *fmt, va_list ap)
{
	char		 line[1024], text[768], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s prog=%s pid=%ld ",
	    stamp, ts.tv_nsec / 1000000, level, log_prog, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(text, sizeof text, fmt, ap);
	if (kv)
		snprintf(line + n, sizeof line - n, "%s", text);
	else {
		snprintf(line + n, sizeof line - n, "msg=");
		log_quote(line + n + 4, sizeof line - n - 4, text);
	}
	fprintf(stderr, "%s\n", line);	/* one write: lines never mix */
	errno = saved;
}

/* An info line of key=value pairs (values from log_quote where they are
 * not plain words or numbers). */
void
log_event(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("info", true, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("warning", false, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("info", false, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vline("debug", false, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline("fatal", false, fmt, ap);
	va_end(ap);
	exit(1);
}
