// SPDX-License-Identifier: MIT
/* Timestamped log lines on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void emit(const char *msg)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ crosstrace agent: %s",
			      ts.tv_nsec / 1000000, msg);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write: lines from several threads stay whole (stderr is unbuffered anyway). */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere else to say it. */
	}
}

void ct_agent_log(const char *fmt, ...)
{
	char msg[1900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(msg);
}

void ct_agent_log_line(void *arg, const char *line)
{
	(void)arg;
	emit(line);
}
