/*
 * oauth_provider owns what posthorn knows about OAuth2 providers: the
 * endpoint templates, default scopes, flows and SASL mechanisms of the
 * presets, and the resolution of an account's oauth2_* keys against them
 * (a key always wins over the preset).  posthorn ships no client id: each
 * user or organisation registers its own application (posthorn.conf(5)
 * says how), so nothing here is secret.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "conf.h"
#include "err.h"
#include "oauth_provider.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/proc.h"
#include "util/str.h"

#define CLIENT_SECRET_MAX	4096

struct preset {
	const char	*name;
	const char	*authorize;	/* {tenant}: the tenant (microsoft) */
	const char	*device;
	const char	*token;
	const char	*revoke;
	const char	*scope;
	const char	*app_scope;	/* for client_credentials */
	enum oauth_flow	 flow;
	const char	*mech;
};

static const struct preset presets[] = {
	{ "microsoft",
	  "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
	  "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
	  "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
	  NULL,
	  "https://outlook.office365.com/SMTP.Send offline_access",
	  "https://outlook.office365.com/.default",
	  OAUTH_DEVICE, "XOAUTH2" },
	{ "google",
	  "https://accounts.google.com/o/oauth2/v2/auth",
	  NULL,		/* Google's device flow does not grant mail */
	  "https://oauth2.googleapis.com/token",
	  "https://oauth2.googleapis.com/revoke",
	  "https://mail.google.com/",
	  NULL,
	  OAUTH_CODE, "XOAUTH2" },
	{ "generic", NULL, NULL, NULL, NULL, NULL, NULL, OAUTH_CODE, NULL },
};

static const struct preset *
preset_of(const struct account *a)
{
	size_t i;

	for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (a->oauth2_provider != NULL &&
		    strcmp(presets[i].name, a->oauth2_provider) == 0)
			return &presets[i];
	return &presets[2];
}

int
oauth_provider_used(const struct account *a)
{
	if (!a->auth || a->auth_mech == NULL)
		return 0;
	if (strcmp(a->auth_mech, "OAUTH2") == 0)
		return 1;
	if (strcmp(a->auth_mech, "XOAUTH2") != 0 &&
	    strcmp(a->auth_mech, "OAUTHBEARER") != 0)
		return 0;
	return a->oauth2_provider != NULL || a->oauth2_client_id != NULL ||
	    a->oauth2_token_url != NULL || a->oauth2_token_file != NULL;
}

const char *
oauth_provider_mech(const struct account *a, const char *offered)
{
	const struct preset *p = preset_of(a);
	const char *o;
	size_t n = strlen("OAUTHBEARER");

	if (a->auth_mech != NULL && strcmp(a->auth_mech, "OAUTH2") != 0)
		return a->auth_mech;
	if (p->mech != NULL)
		return p->mech;
	for (o = offered; (o = strstr(o, "OAUTHBEARER")) != NULL; o += n)
		if ((o == offered || o[-1] == ' ') && (o[n] == ' ' ||
		    o[n] == '\0'))
			return "OAUTHBEARER";
	return "XOAUTH2";
}

const char *
oauth_flow_name(enum oauth_flow f)
{
	switch (f) {
	case OAUTH_DEVICE:
		return "device";
	case OAUTH_CODE:
		return "code";
	case OAUTH_CLIENT_CREDENTIALS:
		return "client_credentials";
	}
	return "?";
}

/* The configured URL, else the preset's template with the tenant. */
static char *
endpoint(const char *configured, const char *tmpl, const char *tenant)
{
	const char *at;

	if (configured != NULL)
		return xstrdup(configured);
	if (tmpl == NULL)
		return NULL;
	if ((at = strstr(tmpl, "{tenant}")) != NULL)
		return xasprintf("%.*s%s%s", (int)(at - tmpl), tmpl, tenant,
		    at + strlen("{tenant}"));
	return xstrdup(tmpl);
}

static int
tenant_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '-' ||
		    t[i] == '.' || t[i] == '_'))
			return 0;
	return i > 0;
}

/* oauth2_client_secret_eval: its output, the trailing newline cut. */
static int
secret_eval(const struct account *a, char **out, struct err *e)
{
	struct buf b;
	int status;

	buf_init_secret(&b, CLIENT_SECRET_MAX);
	if (proc_run(a->oauth2_client_secret_eval, a->command_timeout, &b,
	    &status) == -1) {
		int saved = errno;

		buf_wipe(&b);
		if (saved == ETIMEDOUT || saved == EINTR)
			return err_set(e, ERR_TEMP, "oauth2_client_secret_eval "
			    "did not finish; it was killed");
		return err_set(e, ERR_CONFIG, "cannot run "
		    "oauth2_client_secret_eval: %s", strerror(saved));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_wipe(&b);
		return err_set(e, ERR_CONFIG, "oauth2_client_secret_eval "
		    "command failed");
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
	    b.data[b.len - 1] == '\r'))
		buf_truncate(&b, b.len - 1);
	*out = xstrdup(buf_str(&b));
	buf_wipe(&b);
	return 0;
}

/* The endpoints the flow needs are there. */
static int
check_endpoints(const struct account *a, const struct oauth_cfg *cfg,
    struct err *e)
{
	const char *missing = NULL;

	if (cfg->token_url == NULL)
		missing = "oauth2_token_url";
	else if (cfg->flow == OAUTH_DEVICE && cfg->device_url == NULL)
		missing = "oauth2_device_url";
	else if (cfg->flow == OAUTH_CODE && cfg->authorize_url == NULL)
		missing = "oauth2_authorize_url";
	if (missing != NULL)
		return err_set(e, ERR_CONFIG, "account '%s': the %s flow of "
		    "provider %s needs %s", a->name ? a->name : "",
		    oauth_flow_name(cfg->flow), cfg->provider, missing);
	if (cfg->client_id == NULL || cfg->client_id[0] == '\0')
		return err_set(e, ERR_CONFIG, "account '%s': OAuth2 needs "
		    "oauth2_client_id (the id of the application you "
		    "registered with %s)", a->name ? a->name : "",
		    cfg->provider);
	if (cfg->flow == OAUTH_CLIENT_CREDENTIALS &&
	    cfg->client_secret == NULL)
		return err_set(e, ERR_CONFIG, "account '%s': the "
		    "client_credentials flow needs oauth2_client_secret or "
		    "oauth2_client_secret_eval", a->name ? a->name : "");
	if (cfg->scope == NULL)
		return err_set(e, ERR_CONFIG, "account '%s': provider %s "
		    "needs oauth2_scope", a->name ? a->name : "",
		    cfg->provider);
	return 0;
}

int
oauth_cfg_resolve(const struct account *a, struct oauth_cfg *cfg,
    struct err *e)
{
	const struct preset *p = preset_of(a);
	const char *tenant = a->oauth2_tenant ? a->oauth2_tenant : "common";

	memset(cfg, 0, sizeof(*cfg));
	cfg->provider = p->name;
	cfg->flow = p->flow;
	if (a->oauth2_flow != NULL)
		cfg->flow = strcmp(a->oauth2_flow, "device") == 0 ?
		    OAUTH_DEVICE : strcmp(a->oauth2_flow, "code") == 0 ?
		    OAUTH_CODE : OAUTH_CLIENT_CREDENTIALS;
	if (!tenant_ok(tenant))
		return err_set(e, ERR_CONFIG, "account '%s': bad "
		    "oauth2_tenant '%s'", a->name ? a->name : "", tenant);
	cfg->authorize_url = endpoint(a->oauth2_authorize_url, p->authorize,
	    tenant);
	cfg->device_url = endpoint(a->oauth2_device_url, p->device, tenant);
	cfg->token_url = endpoint(a->oauth2_token_url, p->token, tenant);
	cfg->revoke_url = endpoint(a->oauth2_revoke_url, p->revoke, tenant);
	if (a->oauth2_scope != NULL)
		cfg->scope = xstrdup(a->oauth2_scope);
	else if (cfg->flow == OAUTH_CLIENT_CREDENTIALS && p->app_scope)
		cfg->scope = xstrdup(p->app_scope);
	else if (p->scope != NULL)
		cfg->scope = xstrdup(p->scope);
	if (a->oauth2_client_id != NULL)
		cfg->client_id = xstrdup(a->oauth2_client_id);
	cfg->redirect_port = a->oauth2_redirect_port;
	cfg->mech = a->auth_mech != NULL && strcmp(a->auth_mech, "OAUTH2") !=
	    0 ? a->auth_mech : p->mech;
	if (a->oauth2_client_secret != NULL)
		cfg->client_secret = xstrdup(a->oauth2_client_secret);
	else if (a->oauth2_client_secret_eval != NULL &&
	    secret_eval(a, &cfg->client_secret, e) == -1)
		return -1;
	return check_endpoints(a, cfg, e);
}

void
oauth_cfg_release(struct oauth_cfg *cfg)
{
	free(cfg->client_id);
	wipe_free(cfg->client_secret);
	free(cfg->scope);
	free(cfg->authorize_url);
	free(cfg->device_url);
	free(cfg->token_url);
	free(cfg->revoke_url);
	memset(cfg, 0, sizeof(*cfg));
}
