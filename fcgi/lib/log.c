/*
 * log.c: timestamped log lines on stderr, or syslog (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/log_syslog.h"

static char log_role[32] = "cmdarena";
static enum log_level log_threshold = LOG_INFO;
static bool log_to_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *role, enum log_level level)
{
	log_set_role(role);
	log_threshold = level;
}

void log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

void log_use_syslog(bool on)
{
	log_to_syslog = on;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;

	if (level > log_threshold)
		return;
	if (log_to_syslog) {
		/* syslog stamps time and pid itself: send "role: message". */
		n = (size_t)snprintf(line, sizeof(line), "%s: ", log_role);
		va_start(ap, fmt);
		if (n < sizeof(line))
			vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		log_syslog_write((int)level, line);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s[%ld] ",
	    (long)(tv.tv_usec / 1000), level_names[level], log_role, (long)getpid());
	va_start(ap, fmt);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so lines from several processes never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
