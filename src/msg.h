/*
 * msg: turns what the caller gives (a message on a file descriptor, or
 * compose-mode flags and files) into the message posthorn stores and
 * sends, and into its envelope.  The stored form is canonical: CRLF line
 * ends, headers posthorn must drop dropped (Bcc, Return-Path,
 * Content-Length, a leading mbox "From " line), the ones it must add added
 * (From, Date, Message-ID), unqualified addresses qualified.  Input is
 * streamed: memory does not grow with the message.
 */
#ifndef POSTHORN_MSG_H
#define POSTHORN_MSG_H

#include <stddef.h>
#include <time.h>

#include "envelope.h"
#include "util/strv.h"

struct account;
struct buf;
struct alias_map;
struct conf_env;
struct err;

#define MSG_LINE_MAX	998		/* RFC 5322 2.1.1, without CRLF */
#define MSG_FIELD_MAX	(256 * 1024)	/* one header field, folded */

struct msg_params {
	const struct account	*acct;
	const struct alias_map	*aliases;	/* NULL: no aliases file */
	const char		*sender;	/* -f as given ("" = <>), or NULL */
	const char		*full_name;	/* -F, or NULL */
	int			 read_recipients;	/* -t */
	const struct strv	*rcpts;		/* recipient words from argv */
	const char		*dsn_notify;	/* -N value or NULL */
	const char		*dsn_ret;	/* -R value or NULL */
	const char		*dsn_envid;	/* -V value or NULL */
	int			 body_forced;	/* -B given */
	enum body_type		 body;
	int			 remove_bcc;	/* drop Bcc whatever the account
						   says (compose mode) */
	const char		*user;		/* login name, for user@domain */
	const char		*domain;	/* mail domain when the account's
						   from has none */
	const struct strv	*local_domains;	/* user@one of these is the
						   local name user; NULL: none */
	const char		*admin;		/* recipient for local names no
						   alias maps, or NULL */
	struct conf_env		*env;		/* for the host's canonical name
						   (conf_local_fqdn), or NULL */
	time_t			 now;
};

/*
 * Where msg_read_source gets the message: read up to n bytes into buf;
 * returns the count, 0 at the end, -1 with e filled.
 */
struct msg_source {
	long	(*read)(void *arg, char *buf, size_t n, struct err *e);
	void	 *arg;
};

/*
 * Reads a whole RFC 5322 message from fd in, writes the stored form to fd
 * out and fills env (sender, recipients, body type, size; env must be
 * initialised).  Errors: malformed input (NUL byte, header line over 998
 * octets, unparseable address header under -t) and no recipient are
 * ERR_DATA; a bad recipient on the command line ERR_USAGE; a read error
 * ERR_IO; a write error ERR_CANTCREAT.  On error nothing useful is in out.
 */
int	 msg_read(int in, const struct msg_params *p, int out,
	    struct envelope *env, struct err *e);
/* The same, from a source (compose mode generates its message). */
int	 msg_read_source(const struct msg_source *src,
	    const struct msg_params *p, int out, struct envelope *env,
	    struct err *e);

/* The most msg_peek_header reads ahead. */
#define MSG_PEEK_MAX	(1024 * 1024)

/*
 * Reads from in until the header section has ended (a blank line), the
 * input ends, or MSG_PEEK_MAX is near; the bytes are in *pre (the caller
 * buf_releases it, and passes it to msg_read_prefixed).  ERR_IO or 0.
 */
int	 msg_peek_header(int in, struct buf *pre, struct err *e);
/*
 * The message's sender address as msmtp's --read-envelope-from finds it:
 * the first address of the From header, or of a Resent-From header that
 * comes before any From; buf holds the start of a message (a line cut
 * short at its end is not read).  0 with *addr malloc'd, or -1 (none).
 * Pure: no I/O.
 */
int	 msg_sender_of(const char *buf, size_t len, char **addr);
/* msg_read with the len bytes of pre read first, then in. */
int	 msg_read_prefixed(int in, const char *pre, size_t len,
	    const struct msg_params *p, int out, struct envelope *env,
	    struct err *e);

/*
 * Resolves one address the way recipients and senders are.  A local name
 * (no "@", or "@" one of p->local_domains other than from's domain) goes
 * through the aliases file (single: the alias must give exactly one
 * address, as for a sender); a recipient (not single) that no alias maps
 * goes to p->admin when set; what is left unqualified gets the mail
 * domain.  Appends the results to out.  -1 with ERR_CONFIG for a broken
 * alias.
 */
int	 msg_resolve(const struct msg_params *p, const char *addr, int single,
	    struct strv *out, struct err *e);

/* 1 if domain (not NUL-terminated: n octets) is one of p->local_domains
   and not the domain of the account's from. */
int	 msg_local_domain(const struct msg_params *p, const char *domain,
	    size_t n);

/* The mail domain: the account's from domain, else p->domain. */
const char *msg_domain(const struct msg_params *p);

#endif
