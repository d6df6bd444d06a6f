/*
 * bounce: final failures reported.  When a message finally fails (a 5xx
 * after the server took some of it, its lifetime reached), the run that
 * failed it sends a delivery status notification (RFC 3464
 * multipart/report: a part for people, a message/delivery-status part
 * with a block per recipient that did not get it, and the original's
 * header section as text/rfc822-headers) to its envelope sender, or to
 * the account's bounce_to, with the null sender, through the same
 * account (the same route), queued like any message when it cannot go
 * at once.  Never for a message whose sender was null (so a report never
 * reports on a report), never with bounce off, at most once per message:
 * the failed entry records it (bounced, bounce-id, bounce-to) before the
 * report can go, and -bp shows it.
 */
#ifndef POSTHORN_BOUNCE_H
#define POSTHORN_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "util/buf.h"

struct account;
struct deliver_ctx;
struct envelope;
struct spool_entry;

/* The most of the original's header section a report carries. */
#define BOUNCE_HEADER_MAX	(64 * 1024)

/*
 * The length of the header section at the start of a stored message
 * (msg bytes; CRLF or LF lines): up to and without the empty line that
 * ends it, or all of msg when there is none.  When that is more than
 * max, the length of the whole header lines (fields and their
 * continuation lines) that fit in max.  Pure.
 */
size_t	 bounce_header_len(const char *msg, size_t len, size_t max);

/*
 * The enhanced status code (RFC 3463) a reply carries ("550 5.1.1 ..."
 * or "5.1.1 ..." gives "5.1.1"), written to out (room for 16); else the
 * class its reply code gives ("5.0.0", "4.0.0"); else dflt.  Pure.
 */
void	 bounce_status(const char *reply, const char *dflt, char *out);

/* What a report says; everything but the envelope is plain text. */
struct bounce_report {
	const struct envelope *env;	/* the failed message's */
	const char	*id;		/* its queue id */
	const char	*to;		/* the report's recipient */
	const char	*why;		/* the final error, one line */
	const char	*mta;		/* Reporting-MTA: this host's name */
	const char	*remote;	/* Remote-MTA: the server, or NULL */
	const char	*domain;	/* for MAILER-DAEMON@ and Message-ID */
	const char	*boundary;	/* found in no header of the original */
	const char	*headers;	/* the original's header section */
	size_t		 headers_len;
	int		 expired;	/* failed because its lifetime passed */
	time_t		 now;
};

/*
 * Appends the report (CRLF lines, as the queue stores a message) to out.
 * Server text and headers are made safe for their place (one line, no
 * control characters).  Pure.  0, or -1 when out's cap was reached.
 */
int	 bounce_compose(struct buf *out, const struct bounce_report *r);

/*
 * The on_failed hook: ent (locked in failed/) finally failed with why,
 * tried with account a (NULL: no route, no report).  mta is this host's
 * name.  Makes, records and sends the report as described at the top;
 * says on stderr only what went wrong (and, with verbose, where the
 * report went).
 */
void	 bounce_failed(struct deliver_ctx *d, struct spool_entry *ent,
	    const struct account *a, const char *why, const char *mta);

#endif
