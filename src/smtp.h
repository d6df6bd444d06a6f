/*
 * smtp: the client side of an SMTP submission, as sequential blocking
 * steps over a conn: greeting, EHLO (HELO fallback), STARTTLS or implicit
 * TLS, AUTH, then per message MAIL/RCPT/DATA (pipelined when offered) and
 * the body, dot-stuffed on the fly, and QUIT in the same write as the end
 * of the last message when the server pipelines.  A phase enum with a name
 * table says where a failure happened.
 *
 * Time: every reply must arrive whole within its phase's limit (RFC 5321
 * 4.5.3.2's values, or the account's `timeout`), counted from the moment
 * posthorn starts waiting for it; the message data as a whole gets the
 * data phase's limit plus a second per SMTP_DATA_RATE octets; and a
 * session (connecting and the first message, or each later message on
 * the same connection) ends after the account's session_timeout plus
 * that data allowance.  Each expiry is ERR_TEMP naming what it waited
 * for.
 */
#ifndef POSTHORN_SMTP_H
#define POSTHORN_SMTP_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "net.h"
#include "smtp_reply.h"

struct account;
struct envelope;
struct err;
struct progress;
struct transport;

/* Octets per second the message data is given beyond its phase's limit. */
#define SMTP_DATA_RATE		2048
/* The longest any stage may be given, in seconds (about 68 years). */
#define SMTP_SECONDS_MAX	(INT_MAX / 1000)

enum smtp_phase {
	SMTP_CONNECT = 0,
	SMTP_GREETING,
	SMTP_EHLO,
	SMTP_STARTTLS,
	SMTP_TLS,
	SMTP_AUTH,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_BODY,
	SMTP_END,	/* the reply to the end of the data */
	SMTP_RSET,
	SMTP_QUIT,
	SMTP_NPHASES
};

/* "connect", "greeting", "EHLO", ... for messages and -v. */
const char *smtp_phase_name(enum smtp_phase phase);

struct smtp {
	struct conn		 conn;
	struct smtp_caps	 caps;
	struct smtp_reply	 reply;		/* the last reply read */
	const struct account	*acct;
	char			*greeting;	/* the greeting, one line */
	char			*ehlo_text;	/* the EHLO reply, one keyword a line */
	int			 tls;		/* TLS is active */
	char			*auth_mech;	/* mechanism used, or NULL */
	int			 verbose;	/* trace the dialogue on stderr */
	int			 open;		/* connected and greeted */
	int			 quit_sent;
	int			 nmsgs;		/* messages accepted on this session */
	int			 need_rset;	/* a transaction is half done */
	int			 sent;		/* smtp_send was called */
	struct progress		*progress;	/* the terminal's status line */
};

/*
 * Connects to the account's host and gets the session ready to send:
 * greeting, EHLO, TLS as configured (STARTTLS must be offered when TLS is
 * configured: no downgrade; anything the server sends after its 220 to
 * STARTTLS and before the handshake is ERR_PROTOCOL), EHLO again, AUTH
 * when configured (never before TLS unless the account says tls off).
 * On failure e has the kind (SPEC.md's exit code), the phase and the
 * server's reply; the connection is closed.  0 or -1.
 */
int	 smtp_open(struct smtp *s, const struct account *a, int verbose,
	    struct err *e);

/*
 * The same over t, a transport that is connected already (an in-memory
 * one in tests and fuzzing); s owns t from now on, also on failure.
 */
int	 smtp_open_on(struct smtp *s, const struct account *a,
	    struct transport *t, int verbose, struct err *e);

/*
 * Sends one message: its envelope env and the stored message in file fd
 * (read from offset 0; env->size octets).  When last is set and the
 * server pipelines, QUIT follows the end of the data in the same write.
 * Each recipient's reply is recorded in env->rcpt[i] (code, reply; state
 * RCPT_FAILED for a 5xx, left RCPT_PENDING for a 4xx, RCPT_DONE once the
 * server accepted the data).  Returns 0 when the server accepted the data
 * for at least one recipient (check env for the others); -1 when nothing
 * was delivered: e says why (ERR_TEMP for 4xx and lost connections,
 * ERR_NOUSER when every recipient got a 5xx, ERR_UNAVAILABLE for other
 * 5xx, ERR_PROTOCOL, ...).  A reply that arrives while the data is
 * still being sent ends the transfer and answers it: 5xx fails the
 * message (ERR_UNAVAILABLE), 4xx defers it (ERR_TEMP).  A command that
 * cannot be expressed (an empty recipient, a line over 64 KiB) is ERR_DATA
 * before anything of the envelope is sent.  After -1 with ERR_TEMP or
 * ERR_PROTOCOL the session may be closed (s->open tells).
 */
int	 smtp_send(struct smtp *s, struct envelope *env, int fd, int last,
	    struct err *e);

/*
 * Seconds for sending octets of message data when the data phase's limit
 * is base: base plus one per SMTP_DATA_RATE octets (rounded up), at most
 * SMTP_SECONDS_MAX; 0 when base is 0 (no limit).
 */
int	 smtp_data_seconds(int base, off_t octets);

/*
 * Sends NOOP and reads its reply, for a session held open between
 * messages (persist.c): 0 on 2xx; -1 with e otherwise, and the session is
 * then not used again (s->open is 0: a 421, a lost connection).
 */
int	 smtp_noop(struct smtp *s, struct err *e);

/* Sends QUIT unless already sent, reads the reply briefly, closes.  Safe
   on a closed session. */
void	 smtp_close(struct smtp *s);

/*
 * Writes the greeting, the EHLO keywords, TLS details and AUTH mechanisms
 * of an open session to out (for --serverinfo).
 */
void	 smtp_describe(struct smtp *s, FILE *out);

#endif
