/*
 * log_syslog.h: the syslog side of log.c, kept apart because <syslog.h>
 * defines LOG_INFO and LOG_DEBUG, which log.h uses as names of its own.
 */
#ifndef CMDARENA_LOG_SYSLOG_H
#define CMDARENA_LOG_SYSLOG_H

/* One message; level is log.h's (0 error .. 3 debug). Opens the connection on first use. */
void log_syslog_write(int level, const char *msg);

#endif
