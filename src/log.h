/*
 * log: what posthorn tells besides its exit status — the -v trace of the
 * SMTP dialogue on stderr (secrets shown as *** by the caller, never
 * passed here in clear), and one line per message and outcome in the
 * logfile and syslog, in msmtp's style.
 */
#ifndef POSTHORN_LOG_H
#define POSTHORN_LOG_H

#include <stddef.h>
#include <sys/types.h>

struct account;
struct envelope;

enum log_dir { LOG_OUT, LOG_IN, LOG_NOTE };

/* One trace line on stderr: "--> EHLO x", "<-- 250 ok", "*** note". */
void	 log_trace(enum log_dir dir, const char *line, size_t len);

struct log_outcome {
	const char		*host;
	int			 tls;		/* TLS was used */
	const char		*auth;		/* mechanism, or NULL */
	const struct envelope	*env;
	const char		*queue_id;
	const char		*outcome;	/* "sent", "queued", "failed",
						   "partial" */
	int			 code;		/* last SMTP reply code or 0 */
	const char		*reply;		/* last reply, one line, or NULL */
	const char		*error;		/* posthorn's error line, or NULL */
	int			 exitcode;
};

/*
 * Writes one line for a message's outcome to the account's logfile and
 * syslog, if configured.  Problems writing the log are reported on stderr
 * once and do not change the outcome.
 */
void	 log_outcome(const struct account *a, const struct log_outcome *o);

#endif
