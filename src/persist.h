/*
 * persist: one warm, authenticated SMTP session per account and user,
 * shared by later posthorn processes (issue 14; OpenSSH's ControlPersist
 * for mail).  With `persist SECONDS`, the first process sends its own
 * message, then a background child of it (the holder: setsid, standard
 * input and output on /dev/null, one per account, user and route under a
 * flock) keeps the session for that many idle seconds.  Later processes
 * spool their message as always, pass the entry's locked file over a
 * Unix-domain socket in the user's private runtime directory, and wait
 * for the holder's outcome: the exit status, the lines on standard error
 * and standard output it wrote for them.  Queue runs (-q, the runner)
 * hand their entries over the same way, but never become holders
 * themselves.  A changed configuration file or a new OAuth2 sign-in (not
 * a refresh) ends a holder.  max_connections bounds the sessions one
 * user opens at once for one route (a flock'd slot each).
 */
#ifndef POSTHORN_PERSIST_H
#define POSTHORN_PERSIST_H

#include <stdio.h>
#include <sys/types.h>
#include <sys/un.h>

#include "route.h"

struct account;
struct deliver_ctx;
struct smtp;
struct spool_entry;

/* The holder's key: 24 hex digits of SHA-256 over route, config, queue. */
#define PERSIST_KEY_LEN		25

struct persist {
	char			 dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char			 key[PERSIST_KEY_LEN];
	const struct account	*a;
	const char		*conf_path;	/* NULL: no file */
	int			 seconds;	/* idle time to hold */
	int			 slot_fd;	/* max_connections slot; -1 none */
	int			 lock_fd;	/* the holder's lock; -1 none */
};

/*
 * Prepares p for account a (its route, the configuration file conf_path
 * and the queue directory spool_dir make the key) and seconds of idle
 * holding.  The runtime directory is $XDG_RUNTIME_DIR/posthorn when that
 * is the user's own private directory, else spool_dir/persist; created
 * 0700, refused when another user owns it or others can enter it.  0, or
 * -1 when there is no such directory (the caller sends as without
 * persist).
 */
int	 persist_init(struct persist *p, const struct account *a,
	    const char *conf_path, const char *spool_dir, int seconds);
void	 persist_release(struct persist *p);

enum persist_result {
	PERSIST_DIRECT = 0,	/* send on your own session (a
				   max_connections slot is held) */
	PERSIST_DONE,		/* the holder settled the message */
	PERSIST_LOST,		/* handed over, then the holder ended
				   without an answer: queue the entry */
	PERSIST_BUSY		/* every slot stayed taken and no holder
				   answered within the wait */
};

/*
 * Offers ent (locked, in tmp/) to the holder of p's key, waiting for a
 * holder or a free slot up to the account's timeout (60 s without one).
 * PERSIST_DONE: the holder's lines for the caller were written to stdout
 * and stderr and *code is the exit status.  verbose and json are the
 * caller's -v and --json.
 */
enum persist_result persist_offer(struct persist *p,
	    const struct spool_entry *ent, int verbose, int json, int *code);

/*
 * The queue run's offer (-q, the runner): ent is a queue entry (locked,
 * in queue/).  One try, no waiting for a holder that is not there and no
 * max_connections slot: PERSIST_DONE as persist_offer (the holder settled
 * it as a queue run would, its lines written to stdout and stderr),
 * PERSIST_LOST (handed over, no answer), or PERSIST_DIRECT when no holder
 * of p's key answered or it refused: deliver it on your own session.
 */
enum persist_result persist_try(struct persist *p,
	    const struct spool_entry *ent, int verbose, int json, int *code);

/*
 * s is open after the caller's own message: when no other holder exists
 * for p's key, forks the holder, which serves later messages through d
 * (its spool) and a until idle, then QUITs and exits; it never returns.
 * The caller (parent, or when no holder is started) keeps nothing of s:
 * it is closed here, without a QUIT when a holder took it over.
 */
void	 persist_hold(struct persist *p, struct smtp *s,
	    struct deliver_ctx *d, const struct account *a);

/*
 * --persist-status: one line per live holder in the runtime directory of
 * spool_dir ("ACCOUNT pid N, ROUTE, idle up to S s, config PATH").
 * --persist-stop: SIGTERM to each (only account's, when not NULL).
 * Return the number found.
 */
int	 persist_status(const char *spool_dir, FILE *out);
int	 persist_stop(const char *spool_dir, const char *account, FILE *out);

/* ------------------------------------------------ the wire, pure */

/* The most envelope text or captured output one exchange carries. */
#define PERSIST_ENV_MAX		(64 * 1024 * 1024)

struct persist_request {
	char	 key[PERSIST_KEY_LEN];
	char	 id[32];
	int	 verbose;	/* 0 to 9 */
	int	 json;		/* 0 or 1 */
	int	 queued;	/* 0: a new message in tmp/; 1: a queue
				   entry in queue/ (a queue run's) */
	size_t	 envlen;	/* at most PERSIST_ENV_MAX */
};

/*
 * The client's first line, len octets without its newline:
 * "posthorn-persist 2 KEY ID VERBOSE JSON QUEUED ENVLEN", single spaces,
 * KEY 24 lower-case hex digits, ID a queue id (spool_valid_id), numbers
 * in decimal without sign or leading zeros, in range (JSON and QUEUED 0
 * or 1).  persist_format_request writes it (with the newline) into out
 * (n octets); -1 when it does not fit.  The holder's last line "DONE CODE OUTLEN ERRLEN": CODE 0 to 255,
 * the lengths at most PERSIST_ENV_MAX.  Pure; 0, or -1 when malformed.
 */
int	 persist_parse_request(const char *line, size_t len,
	    struct persist_request *r);
int	 persist_format_request(const struct persist_request *r, char *out,
	    size_t n);
int	 persist_parse_done(const char *line, size_t len, int *code,
	    size_t *outlen, size_t *errlen);

#endif
