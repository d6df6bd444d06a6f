/*
 * oauth_code: the authorization code grant's browser part (RFC 6749 4.1)
 * with PKCE S256 (RFC 7636) and a loopback redirect (RFC 8252 7.3): a
 * listener on 127.0.0.1, a random state checked on return, the URL opened
 * with xdg-open when there is a display, and otherwise the final address
 * pasted by the user from the browser's address bar (so it works over
 * SSH).  The exchange of the code for tokens is oauth.c's.
 */
#ifndef POSTHORN_OAUTH_CODE_H
#define POSTHORN_OAUTH_CODE_H

#include <stddef.h>
#include <stdio.h>

struct err;
struct oauth_cfg;

struct oauth_code_result {
	char	*code;		/* secret */
	char	*verifier;	/* secret: the PKCE code_verifier */
	char	*redirect_uri;
};

/*
 * Prints the authorization URL on out (one line, with a line saying what
 * to do before it), waits for the browser's redirect (or a pasted
 * address on standard input) for up to 10 minutes, and checks state.  A
 * denied sign-in is ERR_NOPERM, a wrong state ERR_PROTOCOL, no answer
 * in time ERR_TEMP.  0 or -1; r is released either way by
 * oauth_code_result_release.
 */
int	 oauth_code_obtain(const struct oauth_cfg *cfg, FILE *out,
	    struct oauth_code_result *r, struct err *e);
void	 oauth_code_result_release(struct oauth_code_result *r);

/*
 * The parameter name of a query string (after '?', up to '#'), decoded
 * (%XX and '+'); NULL when absent or malformed.  Pure.  Caller frees.
 */
char	*oauth_query_param(const char *query, const char *name);

#endif
