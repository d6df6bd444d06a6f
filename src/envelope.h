/*
 * envelope: what SMTP needs besides the message itself — sender,
 * recipients with their DSN parameters and per-recipient outcome, body
 * type, size — and the delivery bookkeeping the queue keeps beside it
 * (route, attempts, hold, last error).  Built by msg, stored by spool
 * (the env file's text is written and parsed here, as pure functions),
 * consumed by smtp and deliver.
 */
#ifndef POSTHORN_ENVELOPE_H
#define POSTHORN_ENVELOPE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "util/strv.h"

struct err;

/*
 * The longest server reply kept with a recipient, and the longest last
 * error kept with an entry, in octets.  Longer text is cut before it is
 * stored, at a character boundary, and ends in "..." so that the cut is
 * visible; addresses are never cut.
 */
#define ENVELOPE_REPLY_MAX	512
#define ENVELOPE_ERROR_MAX	1024

enum rcpt_state {
	RCPT_PENDING = 0,	/* not yet accepted by the server */
	RCPT_DONE,		/* the server took the message for it */
	RCPT_FAILED,		/* rejected for good */
};

struct rcpt {
	char		*addr;		/* envelope address without <> */
	char		*notify;	/* DSN NOTIFY value or NULL */
	char		*orcpt;		/* DSN ORCPT value or NULL */
	enum rcpt_state	 state;
	int		 code;		/* last reply code for it, 0 none */
	char		*reply;		/* last reply as one line, or NULL */
};

enum body_type { BODY_7BIT = 0, BODY_8BITMIME };

/* Why an entry waits without being failed: see deliver.c. */
enum env_hold {
	HOLD_NONE = 0,
	HOLD_AUTO,	/* a mistake a person must fix; every -q retries */
	HOLD_MANUAL,	/* --hold: nothing retries it until --release */
};

struct envelope {
	char		*sender;	/* "" = null sender <> */
	struct rcpt	*rcpt;
	size_t		 nrcpt;
	size_t		 rcptcap;	/* allocated entries of rcpt */
	char		*account;	/* account name, NULL = default */
	char		*dsn_ret;	/* "FULL", "HDRS" or NULL */
	char		*dsn_envid;	/* or NULL */
	enum body_type	 body;
	int		 body_forced;	/* -B was given */
	int		 smtputf8;	/* an address or header needs SMTPUTF8 */
	int		 long_lines;	/* a body line exceeds 998 octets */
	off_t		 size;		/* message octets as stored (CRLF) */
	time_t		 created;
	int		 attempts;
	time_t		 next_attempt;	/* 0 = now */
	char		*last_error;	/* one line, or NULL */
	/* Command-line overrides that chose the server, kept for -q. */
	char		*host;
	int		 port;
	char		*tls;
	char		*user;
	char		*auth;
	/* The route it was accepted for (route.c); NULL in older entries. */
	char		*conf;		/* configuration file, or NULL */
	char		*route;		/* digest, hex */
	char		*route_desc;	/* the same for people, one line */
	int		 lifetime;	/* queue_lifetime then; 0 unknown */
	enum env_hold	 hold;
	time_t		 failed_at;	/* when it went to failed/; 0 unknown */
	time_t		 requeued;	/* when --requeue put it back; 0 never */
	/* Its final failure reported (bounce.c): at most once. */
	time_t		 bounced;	/* when the report was made; 0 never */
	char		*bounce_id;	/* the report's queue id, or NULL */
	char		*bounce_to;	/* whom it went to, or NULL */
	/* Where a copy goes once it is sent (record.c), and the Bcc
	   recipients the copy notes; NULL / empty: no copy. */
	char		*record;
	struct strv	 record_bcc;
	struct strv	 extra;		/* lines with keys this version does
					   not know, written back as read */
	/* Index of rcpt for envelope_add_rcpt (open addressing). */
	size_t		*ix;
	size_t		 ixcap;
	size_t		 nix;		/* recipients indexed so far */
};

void	 envelope_init(struct envelope *env);
void	 envelope_release(struct envelope *env);
/*
 * Adds a recipient unless the same address (domain compared without
 * regard to case) is already there; returns it, or NULL for a duplicate.
 * Constant time on average, so a list of 100,000 costs no more than
 * reading it.
 */
struct rcpt *envelope_add_rcpt(struct envelope *env, const char *addr);
/* Recipients in state. */
size_t	 envelope_count(const struct envelope *env, enum rcpt_state state);
/* Replaces *slot with a copy of s (NULL allowed). */
void	 envelope_set(char **slot, const char *s);
/*
 * Replaces *slot with a copy of s cut to at most max octets (max > 3): a
 * longer s keeps its first octets up to a UTF-8 character boundary and
 * ends in "...".  Returns 1 when it cut, 0 when s fit.
 */
int	 envelope_set_capped(char **slot, const char *s, size_t max);
/*
 * Caps what servers said (each recipient's reply, the last error) to
 * ENVELOPE_REPLY_MAX / ENVELOPE_ERROR_MAX, as envelope_set_capped does.
 */
void	 envelope_cap(struct envelope *env);

/*
 * The env file.  envelope_write writes env as the queue stores it (the
 * format is described at the top of envelope.c), streaming: nothing is
 * held in memory, nothing is cut but the server text envelope_cap cuts.
 * 0, or -1 with errno when out failed.
 *
 * envelope_parse reads the text of an env file (len octets; no NUL
 * needed) into env (initialised here).  Pure: no I/O.  A file that is not
 * whole and sane — a line without its newline (a cut file), a recipient
 * count that does not match, an address that is not one, a number out of
 * range — is ERR_DATA with the reason and line; env is then empty.  0 or
 * -1.
 */
int	 envelope_write(const struct envelope *env, FILE *out);
int	 envelope_parse(struct envelope *env, const char *text, size_t len,
	    struct err *e);

#endif
