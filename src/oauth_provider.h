/*
 * oauth_provider: the presets for OAuth2 providers (Microsoft identity
 * platform v2.0, Google, a generic one that needs its endpoints from the
 * configuration), and an account's settings resolved against its preset:
 * endpoints, scope, flow and SASL mechanism.  No I/O.
 */
#ifndef POSTHORN_OAUTH_PROVIDER_H
#define POSTHORN_OAUTH_PROVIDER_H

struct account;
struct err;

enum oauth_flow { OAUTH_DEVICE, OAUTH_CODE, OAUTH_CLIENT_CREDENTIALS };

/* An account's OAuth2 settings, every string owned (secret wiped). */
struct oauth_cfg {
	const char	*provider;	/* "microsoft", "google", "generic" */
	enum oauth_flow	 flow;
	char		*client_id;
	char		*client_secret;	/* NULL for a public client */
	char		*scope;
	char		*authorize_url;	/* NULL: none */
	char		*device_url;
	char		*token_url;
	char		*revoke_url;
	int		 redirect_port;	/* 0: any */
	const char	*mech;		/* "XOAUTH2", "OAUTHBEARER", or NULL:
					   OAUTHBEARER if offered, else
					   XOAUTH2 */
};

/*
 * 1 when the account gets its token from OAuth2: auth oauth2, or auth
 * xoauth2 / oauthbearer with an oauth2_* key set.
 */
int	 oauth_provider_used(const struct account *a);

/*
 * Fills cfg from the account and its provider's preset (microsoft's
 * endpoints with oauth2_tenant, "common" by default).  The client secret
 * comes from oauth2_client_secret or oauth2_client_secret_eval (run with
 * the account's command_timeout).  No client id, or an endpoint the flow
 * needs that neither preset nor configuration gives, is ERR_CONFIG.
 * 0 or -1; cfg is released with oauth_cfg_release either way.
 */
int	 oauth_cfg_resolve(const struct account *a, struct oauth_cfg *cfg,
	    struct err *e);
void	 oauth_cfg_release(struct oauth_cfg *cfg);

/*
 * The SASL mechanism for `auth oauth2` (the account's own for auth
 * xoauth2 / oauthbearer): the preset's, or for generic OAUTHBEARER when
 * offered (the server's AUTH list), else XOAUTH2.
 */
const char *oauth_provider_mech(const struct account *a, const char *offered);

/* "device", "code", "client_credentials" */
const char *oauth_flow_name(enum oauth_flow f);

#endif
