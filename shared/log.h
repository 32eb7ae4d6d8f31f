/* log.h: one line per event worth telling an operator, and one per send,
 * on stderr, as key=value pairs (log.c). */
#ifndef FCOMET_LOG_H
#define FCOMET_LOG_H

#include <stddef.h>

void	log_init(const char *prog, int debug);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *log_quote(char *, size_t, const char *);
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
