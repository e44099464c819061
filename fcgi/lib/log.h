/*
 * log.h: one logging path for every process (master, workers, pool keeper,
 * cmdarena-check): a line per event on stderr, prefixed with the time, the
 * role and the pid. Messages are printf formats written by us; user text is
 * only ever passed as an argument, never as the format.
 */
#ifndef CMDARENA_LOG_H
#define CMDARENA_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *role, enum log_level level);
void log_set_role(const char *role);
/* Send lines to syslog (facility daemon) instead of stderr. */
void log_use_syslog(bool on);
int log_level_parse(const char *s, enum log_level *out);

__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level level, const char *fmt, ...);

#define lerr(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define lwarn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define linfo(...) log_msg(LOG_INFO, __VA_ARGS__)
#define ldebug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
