/*
 * auth: SASL for SMTP AUTH.  Picks the mechanism (the account's, or the
 * strongest the server offers), finds the secret (password, passwordeval,
 * ~/.netrc, a prompt on the terminal), and computes each step.  GNU SASL
 * does the mechanisms with cryptography (PLAIN, LOGIN, CRAM-MD5,
 * SCRAM-SHA-1/256 and their -PLUS channel-binding forms, EXTERNAL,
 * GSSAPI); XOAUTH2 and OAUTHBEARER, one message each, are built here.  No
 * I/O with the server: smtp carries the base64 strings.
 */
#ifndef POSTHORN_AUTH_H
#define POSTHORN_AUTH_H

struct account;
struct conn;
struct err;
struct auth;

/*
 * Starts an exchange.  offered is the server's AUTH list (upper case,
 * space separated); c the connection (for TLS channel binding).  A forced
 * mechanism the server does not offer, or no mechanism in common, is
 * ERR_UNAVAILABLE; a missing user or password ERR_CONFIG.  0 or -1.
 */
int	 auth_begin(struct auth **as, const struct account *a,
	    const char *offered, const struct conn *c, struct err *e);
/* The mechanism name chosen ("SCRAM-SHA-256"). */
const char *auth_mech(const struct auth *as);
/*
 * The initial response (base64; "=" for an empty one) to send with the
 * AUTH command, or NULL when the mechanism waits for the server first.
 * Caller frees (the string holds a secret: wipe_free).
 */
char	*auth_initial(struct auth *as, struct err *e);
/*
 * Answers a 334 challenge (base64 text after "334 "): *response gets the
 * base64 answer (caller wipe_frees).  ERR_PROTOCOL for a challenge that
 * is not valid for the mechanism (a server that fails its side of SCRAM
 * included).  0 or -1.
 */
int	 auth_step(struct auth *as, const char *challenge, char **response,
	    struct err *e);
/* 1 when the mechanism finished its side (a SCRAM server signature was
   verified, for instance). */
int	 auth_complete(const struct auth *as);
/* Ends the exchange and wipes every secret. */
void	 auth_end(struct auth *as);

/*
 * OAuth2 (oauth.h): 1 when e, a failed AUTH, is the server refusing a
 * token posthorn got from its OAuth2 store (535); auth_renew then gets a
 * new token (a refresh even though the old one looked valid), for one
 * more AUTH in the same session.  auth_renew: 0 or -1 (oauth_token's
 * errors).
 */
int	 auth_renewable(const struct account *a, const struct err *e);
int	 auth_renew(const struct account *a, struct err *e);

/*
 * The password (or OAuth token) for an account: `password`, else the
 * output of `passwordeval` (run by /bin/sh, standard input /dev/null, the
 * trailing newline removed; a failing command is ERR_CONFIG), else
 * ~/.netrc (machine and login), else a prompt on the terminal without
 * echo when one is attached.  ERR_CONFIG when there is none.  The caller
 * wipe_frees *pw.
 */
int	 auth_password(const struct account *a, char **pw, struct err *e);
/* The account's passwordeval command's output (the checks and limits of
   auth_password); 0, or -1 with e filled. */
int	 auth_eval(const struct account *a, char **pw, struct err *e);

#endif
