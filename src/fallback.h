/*
 * fallback: fallback smarthosts.  An account may name, with `fallback
 * ACCOUNT...`, other accounts of the same file to try in that order
 * when its own server fails before it has accepted the message; each
 * named account brings its whole route (host or socket, port, proxy,
 * TLS, authentication, protocol, timeouts), while the message, its
 * sender, the queue and the log stay the first account's.  The list is
 * resolved once the file is parsed; the fallbacks' own fallback lists
 * are not followed.  Whether a failure moves on is decided here, by one
 * rule: only when nothing of the message can have been accepted.
 */
#ifndef POSTHORN_FALLBACK_H
#define POSTHORN_FALLBACK_H

#include <stddef.h>

struct account;
struct conf;
struct err;

/* Most accounts a fallback list may name. */
#define FALLBACK_MAX	16

/*
 * Resolves every account's `fallback` list into its fallback_to
 * pointers (into c, not owned); an account that names itself skips
 * that name (so a defaults section can name the backup for all).
 * Errors, ERR_CONFIG with the account's file and line: a name that is
 * no account, a name twice, more than FALLBACK_MAX.  0 or -1.
 */
int	 fallback_resolve(struct conf *c, struct err *e);

/* The number of routes of a: itself and its fallbacks. */
size_t	 fallback_count(const struct account *a);
/* Route i of a: a for 0, then its fallbacks in order. */
const struct account *fallback_route(const struct account *a, size_t i);

/*
 * 1 when failure e (of smtp_open, or of smtp_send returning -1) lets
 * the next route be tried: the server cannot have accepted the message.
 * That is a temporary failure up to and including the message data
 * (refused, unreachable, timed out, lost, 4xx to the greeting, EHLO,
 * STARTTLS, AUTH, MAIL, every RCPT, DATA, or during the data), any TLS
 * failure (another server may have a certificate we trust), a host name
 * that does not resolve, and refused credentials (535: another relay has
 * other ones).  Never after the end of the data, never for a
 * configuration error or a message the server refused as such (5xx to
 * MAIL, every RCPT, the data), never once a signal arrived.
 */
int	 fallback_moves_on(const struct err *e);

#endif
