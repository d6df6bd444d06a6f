/*
 * log owns the three places posthorn writes about itself: the -v trace,
 * the logfile and syslog.  Text that came from elsewhere (server replies,
 * addresses) goes through str_sanitize, whole: never cut, never raw.  Log lines are built once and written with one
 * write(2) on an O_APPEND descriptor, so lines from concurrent posthorn
 * processes never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/str.h"

void
log_trace(enum log_dir dir, const char *line, size_t len)
{
	static const char *const arrows[] = { "--> ", "<-- ", "*** " };
	struct buf clean;

	/* Whole (lines are capped where they are read), made safe. */
	buf_init(&clean, 0);
	buf_adds(&clean, arrows[dir]);
	str_sanitize(&clean, line, len);
	buf_addc(&clean, '\n');
	fputs(buf_str(&clean), stderr);
	buf_release(&clean);
}

/* strftime with the user's format from the configuration. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static size_t
strftime_user(char *out, size_t n, const char *fmt, const struct tm *tm)
{
	return strftime(out, n, fmt, tm);
}
#pragma GCC diagnostic pop

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "LOG_MAIL", LOG_MAIL }, { "LOG_USER", LOG_USER },
	{ "LOG_DAEMON", LOG_DAEMON },
	{ "LOG_LOCAL0", LOG_LOCAL0 }, { "LOG_LOCAL1", LOG_LOCAL1 },
	{ "LOG_LOCAL2", LOG_LOCAL2 }, { "LOG_LOCAL3", LOG_LOCAL3 },
	{ "LOG_LOCAL4", LOG_LOCAL4 }, { "LOG_LOCAL5", LOG_LOCAL5 },
	{ "LOG_LOCAL6", LOG_LOCAL6 }, { "LOG_LOCAL7", LOG_LOCAL7 },
};

static int
facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(facilities[i].name, name) == 0)
			return facilities[i].facility;
	return LOG_MAIL;
}

/* Appends key='value' with quotes escaped, for values with spaces. */
static void
quoted(struct buf *b, const char *key, const char *v)
{
	struct buf clean;
	const char *p;

	buf_init(&clean, 0);
	str_sanitize(&clean, v, strlen(v));
	buf_printf(b, " %s='", key);
	for (p = buf_str(&clean); *p != '\0'; p++) {
		if (*p == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *p);
	}
	buf_addc(b, '\'');
	buf_release(&clean);
}

/* Appends text from outside (an address, a host name) made safe. */
static void
plain(struct buf *b, const char *s)
{
	str_sanitize(b, s, strlen(s));
}

static void
format(const struct account *a, const struct log_outcome *o, struct buf *b)
{
	const struct envelope *env = o->env;
	size_t i;

	buf_adds(b, "host=");
	plain(b, o->host ? o->host : "-");
	buf_printf(b, " tls=%s auth=%s", o->tls ? "on" : "off",
	    o->auth ? "on" : "off");
	if (o->auth != NULL && a->user != NULL) {
		buf_adds(b, " user=");
		plain(b, a->user);
	}
	if (env != NULL) {
		buf_adds(b, " from=");
		plain(b, env->sender[0] ? env->sender : "<>");
		buf_adds(b, " recipients=");
		for (i = 0; i < env->nrcpt; i++) {
			if (i > 0)
				buf_addc(b, ',');
			plain(b, env->rcpt[i].addr);
		}
		buf_printf(b, " mailsize=%lld", (long long)env->size);
	}
	if (o->queue_id != NULL) {
		buf_adds(b, " queueid=");
		plain(b, o->queue_id);
	}
	buf_printf(b, " outcome=%s", o->outcome);
	if (o->code != 0)
		buf_printf(b, " smtpstatus=%d", o->code);
	if (o->reply != NULL)
		quoted(b, "smtpmsg", o->reply);
	if (o->error != NULL)
		quoted(b, "errormsg", o->error);
	buf_printf(b, " exitcode=%s", err_exitname(o->exitcode));
}

void
log_outcome(const struct account *a, const struct log_outcome *o)
{
	struct buf line;
	char stamp[128];
	struct tm tm;
	time_t now;
	int fd;

	if (a == NULL || (a->logfile == NULL && a->syslog == NULL))
		return;
	buf_init(&line, 0);
	format(a, o, &line);
	if (a->logfile != NULL && a->logfile[0] != '\0') {
		struct buf full;

		now = time(NULL);
		localtime_r(&now, &tm);
		if (a->logfile_time_format == NULL ||
		    strftime_user(stamp, sizeof(stamp), a->logfile_time_format,
		    &tm) == 0)
			strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm);
		buf_init(&full, 0);
		/* logfile_time_format none: no time stamp (msmtp's word). */
		if (a->logfile_time_format != NULL &&
		    strcmp(a->logfile_time_format, "none") == 0)
			buf_printf(&full, "%s\n", buf_str(&line));
		else
			buf_printf(&full, "%s %s\n", stamp, buf_str(&line));
		if (strcmp(a->logfile, "-") == 0)
			fd = 1;
		else
			fd = open(a->logfile, O_WRONLY | O_APPEND | O_CREAT |
			    O_CLOEXEC, 0600);
		if (fd == -1 || fsio_write_all(fd, full.data, full.len) == -1)
			fprintf(stderr, "posthorn: cannot write log file "
			    "'%s': %s\n", a->logfile, strerror(errno));
		if (fd > 2)
			close(fd);
		buf_release(&full);
	}
	if (a->syslog != NULL) {
		openlog("posthorn", LOG_PID, facility(a->syslog));
		syslog(o->exitcode == 0 ? LOG_INFO : LOG_ERR, "%s",
		    buf_str(&line));
		closelog();
	}
	buf_release(&line);
}
