/*
 * envelope: what SMTP needs besides the message itself — sender,
 * recipients with their DSN parameters and per-recipient outcome, body
 * type, size — and the delivery bookkeeping the queue keeps beside it.
 * Built by msg, stored by spool, consumed by smtp and deliver.
 */
#ifndef POSTHORN_ENVELOPE_H
#define POSTHORN_ENVELOPE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

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

struct envelope {
	char		*sender;	/* "" = null sender <> */
	struct rcpt	*rcpt;
	size_t		 nrcpt;
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
};

void	 envelope_init(struct envelope *env);
void	 envelope_release(struct envelope *env);
/*
 * Adds a recipient unless the same address (domain compared without
 * regard to case) is already there; returns it, or NULL for a duplicate.
 */
struct rcpt *envelope_add_rcpt(struct envelope *env, const char *addr);
/* Recipients in state. */
size_t	 envelope_count(const struct envelope *env, enum rcpt_state state);
/* Replaces *slot with a copy of s (NULL allowed). */
void	 envelope_set(char **slot, const char *s);

#endif
