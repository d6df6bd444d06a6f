/*
 * smtp_reply: parsing of SMTP replies and of the EHLO capability list.
 * Pure: lines in, structures out.  Strict, after OpenSMTPD's client: three
 * digits from 2xx to 5xx, the same code on every line, '-' or ' ' (or
 * nothing) after it, printable text, capped line length and line count.
 */
#ifndef POSTHORN_SMTP_REPLY_H
#define POSTHORN_SMTP_REPLY_H

#include <stddef.h>

#include "util/buf.h"

struct err;

#define SMTP_REPLY_LINE_MAX	4096	/* one reply line, without CRLF */
#define SMTP_REPLY_LINES_MAX	256	/* lines of one reply */
#define SMTP_REPLY_TEXT_MAX	32768	/* all text of one reply */

struct smtp_reply {
	int		 code;		/* 200..599; 0 before the first line */
	char		 status[16];	/* enhanced status code of the first line
					   ("5.1.1"), "" if none */
	struct buf	 text;		/* text of every line (code, separator
					   and enhanced status removed), lines
					   joined by '\n' */
	size_t		 nlines;
	int		 done;		/* the last line was pushed */
};

void	 smtp_reply_init(struct smtp_reply *r);
void	 smtp_reply_release(struct smtp_reply *r);
/* Ready for the next reply. */
void	 smtp_reply_reset(struct smtp_reply *r);

/*
 * Pushes one line (without CRLF).  Returns 1 when it completed the reply,
 * 0 when more lines follow, -1 with ERR_PROTOCOL for a malformed line (the
 * message says what was wrong and quotes the start of the line, made
 * printable).  Pushing after completion is an error.
 */
int	 smtp_reply_push(struct smtp_reply *r, const char *line, size_t len,
	    struct err *e);

/*
 * The reply as one printable line, whole: "550 5.1.1 text", several
 * lines joined by a space ("" before the first line).  Caller frees.
 */
char	*smtp_reply_line(const struct smtp_reply *r);

/*
 * The same into out (size outsz), for a place with a fixed cap (the
 * queue's envelope, the log): a line that does not fit is cut at a
 * character boundary and ends with "..." (when outsz > 4), so a cut is
 * never silent.
 */
void	 smtp_reply_oneline(const struct smtp_reply *r, char *out,
	    size_t outsz);

/* Class of the code: 2, 3, 4 or 5. */
#define SMTP_REPLY_CLASS(r)	((r)->code / 100)

enum smtp_cap_flag {
	CAP_PIPELINING		= 1 << 0,
	CAP_SIZE		= 1 << 1,
	CAP_8BITMIME		= 1 << 2,
	CAP_SMTPUTF8		= 1 << 3,
	CAP_DSN			= 1 << 4,
	CAP_CHUNKING		= 1 << 5,
	CAP_BINARYMIME		= 1 << 6,
	CAP_STARTTLS		= 1 << 7,
	CAP_AUTH		= 1 << 8,
	CAP_ENHANCEDSTATUSCODES	= 1 << 9,
	CAP_REQUIRETLS		= 1 << 10,
};

struct smtp_caps {
	unsigned		 flags;
	unsigned long long	 size_max;	/* SIZE argument; 0 = none given */
	char			 auth[512];	/* AUTH mechanisms, upper case,
						   separated by one space; "AUTH=x"
						   lines are merged in */
	int			 auth_overflow;	/* more mechanisms than auth
						   holds: the list is incomplete */
};

/*
 * Fills caps from a complete EHLO reply (its lines after the first).
 * Unknown keywords are ignored; keywords are case-insensitive.
 */
void	 smtp_caps_parse(const struct smtp_reply *ehlo, struct smtp_caps *caps);
/* 1 if mech (case-insensitive) is in caps->auth. */
int	 smtp_caps_has_auth(const struct smtp_caps *caps, const char *mech);

#endif
