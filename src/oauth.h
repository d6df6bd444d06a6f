/*
 * oauth: OAuth2 for SMTP AUTH, built in.  Signing in (the device
 * authorization grant, RFC 8628; the authorization code grant with PKCE
 * and a loopback redirect, RFC 7636 and RFC 8252, in oauth_code.c; client
 * credentials, RFC 6749 4.4), keeping the access token fresh (refresh,
 * RFC 6749 6) in the token store (oauth_store.h), signing out.  The
 * endpoints are reached with http.h; JSON is read and written with
 * jansson.  Tokens, refresh tokens, client secrets and device codes are
 * never printed, logged or put in an error.
 */
#ifndef POSTHORN_OAUTH_H
#define POSTHORN_OAUTH_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct account;
struct err;
struct oauth_tokens;

/* A cached access token is used while it has this long to live. */
#define OAUTH_MARGIN	60

/* The longest error code kept from a provider's answer. */
#define OAUTH_ERRCODE_MAX	64

/*
 * Reads a token endpoint's answer (HTTP status, body) received at now
 * into t (RFC 6749 5.1, 5.2).  Pure.  0 with t->access set; else -1,
 * errcode gets the provider's "error" (sanitised; "" none) and e:
 * invalid_grant, expired_token and access_denied are ERR_NOPERM
 * (sign in again); authorization_pending and slow_down ERR_TEMP (the
 * device flow keeps polling); invalid_client, unauthorized_client,
 * invalid_scope, invalid_request ERR_CONFIG; a 5xx, a body that is not
 * a JSON object, or one without a usable access_token ERR_TEMP.
 */
int	 oauth_token_parse(int status, const char *body, size_t n,
	    time_t now, struct oauth_tokens *t, char *errcode,
	    struct err *e);

/* A device authorization answer (RFC 8628 3.2). */
struct oauth_device {
	char	*device_code;	/* secret */
	char	*user_code;
	char	*verification_uri;
	char	*verification_uri_complete;	/* NULL none */
	int	 expires_in;	/* seconds */
	int	 interval;	/* seconds, 5 by default */
};

/*
 * Reads a device authorization answer.  Pure.  A 5xx or unreadable
 * answer ERR_TEMP, a 4xx ERR_CONFIG (with the provider's error), one
 * without device_code, user_code or verification_uri ERR_PROTOCOL.
 * 0 or -1; d is released with oauth_device_release either way.
 */
int	 oauth_device_parse(int status, const char *body, size_t n,
	    struct oauth_device *d, struct err *e);
void	 oauth_device_release(struct oauth_device *d);

/* What oauth_token is asked for. */
enum oauth_want {
	OAUTH_CONNECT,	/* before connecting: OAUTH_MARGIN seconds to live */
	OAUTH_AUTH,	/* for AUTH now: not expired */
	OAUTH_RENEW	/* the server refused the stored token: a new one */
};

/*
 * The access token (caller wipe_frees *token).  A stored token that
 * lives long enough for want costs no request; else, under the store's
 * lock (so concurrent senders refresh once), the tokens are read again
 * and refreshed (or, for client_credentials, fetched), and the new ones
 * stored before the token is handed out.  OAUTH_RENEW refreshes unless
 * another process already replaced the refused token.  invalid_grant
 * and a missing sign-in are ERR_NOPERM naming `posthorn --login -A
 * ACCOUNT`; an unreachable endpoint, a 5xx or an answer without a
 * usable access token ERR_TEMP.  0 or -1.
 */
int	 oauth_token(const struct account *a, enum oauth_want want,
	    char **token, struct err *e);

/*
 * posthorn --login: signs the account in by its flow, printing every
 * URL and user code on out, one per line, and stores the tokens.  0 or
 * -1.
 */
int	 oauth_login(const struct account *a, FILE *out, struct err *e);

/*
 * posthorn --logout: revokes the refresh token (or the access token)
 * where the provider has a revocation endpoint (a failing revocation is
 * said on out, and the tokens are removed anyway), then removes them.
 */
int	 oauth_logout(const struct account *a, FILE *out, struct err *e);

/*
 * One line on the stored tokens, for --serverinfo: signed in or not,
 * expiry, scopes; never a token.  Caller frees.
 */
char	*oauth_status(const struct account *a);

#endif
