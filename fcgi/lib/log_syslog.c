/*
 * log_syslog.c: send log lines to syslog (log_syslog = yes in cmdarena.conf).
 * Facility daemon, ident cmdarena-fcgi, the pid of each process in the line.
 */
#include <syslog.h>

#include "lib/log_syslog.h"

void log_syslog_write(int level, const char *msg)
{
	static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static int opened;

	if (!opened) {
		openlog("cmdarena-fcgi", LOG_PID, LOG_DAEMON);
		opened = 1;
	}
	if (level < 0 || level > 3)
		level = 0;
	/* The message is ours, already formatted: never a format string. */
	syslog(priorities[level], "%s", msg);
}
