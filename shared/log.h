/* log.h: one line per event worth telling an operator, on stderr. */
#ifndef FCOMET_LOG_H
#define FCOMET_LOG_H

void	log_init(const char *prog, int debug);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
