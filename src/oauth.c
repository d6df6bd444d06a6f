/*
 * oauth owns the OAuth2 conversations: the token endpoint's answers
 * (parsed by oauth_token_parse, pure, fuzzed), the refresh that keeps a
 * sender authorised, client credentials, the device flow's polling, the
 * revocation on logout and the status line.  The token store decides
 * where tokens live (oauth_store.c), the presets what the endpoints are
 * (oauth_provider.c), oauth_code.c the browser flow.  A refresh happens
 * under the store's lock and reads the store again first, so of several
 * senders that find the token expired one refreshes and the rest use its
 * result; a rotated refresh token is written before the access token is
 * used.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "err.h"
#include "http.h"
#include "oauth.h"
#include "oauth_code.h"
#include "oauth_provider.h"
#include "oauth_store.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/secmem.h"
#include "util/sig.h"
#include "util/str.h"

#define TOKEN_MAX	(16 * 1024)	/* longest token accepted */
#define FORM_MAX	(64 * 1024)
#define HTTP_TIMEOUT	60
#define DEVICE_MAX_WAIT	(30 * 60)

/* ------------------------------------------------------------ parsing */

/* A provider's error code, kept only when it looks like one. */
static void
copy_errcode(const char *s, char *out)
{
	size_t i;

	out[0] = '\0';
	if (s == NULL)
		return;
	for (i = 0; s[i] != '\0' && i < OAUTH_ERRCODE_MAX - 1; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return;
	if (s[i] != '\0')
		return;
	memcpy(out, s, i + 1);
}

/* What a provider's error code means for posthorn. */
static enum err_kind
errcode_kind(const char *code, int status)
{
	static const char *const noperm[] = { "invalid_grant",
	    "expired_token", "access_denied", NULL };
	static const char *const temp[] = { "authorization_pending",
	    "slow_down", "temporarily_unavailable", "server_error", NULL };
	static const char *const config[] = { "invalid_client",
	    "unauthorized_client", "invalid_scope", "invalid_request",
	    "unsupported_grant_type", NULL };
	size_t i;

	for (i = 0; noperm[i] != NULL; i++)
		if (strcmp(code, noperm[i]) == 0)
			return ERR_NOPERM;
	for (i = 0; temp[i] != NULL; i++)
		if (strcmp(code, temp[i]) == 0)
			return ERR_TEMP;
	for (i = 0; config[i] != NULL; i++)
		if (strcmp(code, config[i]) == 0)
			return ERR_CONFIG;
	return status >= 500 || status < 400 ? ERR_TEMP : ERR_UNAVAILABLE;
}

/* A token usable in a SASL message: printable ASCII, no spaces. */
static int
token_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0 && i <= TOKEN_MAX;
}

/* expires_in as a number or a numeric string (some providers). */
static long long
json_seconds(json_t *v)
{
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v))
		return json_integer_value(v);
	if ((s = json_string_value(v)) == NULL)
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	return n;
}

/* The body as a JSON object, or NULL. */
static json_t *
load_object(const char *body, size_t n)
{
	json_error_t je;
	json_t *o;

	oauth_json_secure();
	o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* An answer with "error": -1 with the kind it means. */
static int
answer_error(json_t *o, int status, char *errcode, struct err *e)
{
	copy_errcode(json_string_value(json_object_get(o, "error")),
	    errcode);
	if (errcode[0] == '\0')
		return err_set(e, ERR_TEMP, "the token endpoint answered %d "
		    "without an error code", status);
	return err_set(e, errcode_kind(errcode, status), "the token "
	    "endpoint answered %d: %s", status, errcode);
}

static int
tokens_from(json_t *o, time_t now, struct oauth_tokens *t, struct err *e)
{
	const char *access = json_string_value(json_object_get(o,
	    "access_token"));
	const char *refresh = json_string_value(json_object_get(o,
	    "refresh_token"));
	const char *type = json_string_value(json_object_get(o,
	    "token_type"));
	const char *scope = json_string_value(json_object_get(o, "scope"));
	json_t *exp = json_object_get(o, "expires_in");
	long long secs = exp != NULL ? json_seconds(exp) : 3600;

	if (access == NULL || !token_ok(access))
		return err_set(e, ERR_TEMP, "the token endpoint's answer has "
		    "no usable access_token");
	if (type != NULL && strcasecmp(type, "Bearer") != 0)
		return err_set(e, ERR_TEMP, "the token endpoint issued a "
		    "token of type '%.40s', not Bearer", type);
	if (refresh != NULL && !token_ok(refresh))
		return err_set(e, ERR_TEMP, "the token endpoint's answer has "
		    "an unusable refresh_token");
	if (secs < 0 || secs > 10LL * 365 * 86400)
		return err_set(e, ERR_TEMP, "the token endpoint's answer has "
		    "a bad expires_in");
	t->access = xstrdup(access);
	t->refresh = refresh != NULL ? xstrdup(refresh) : NULL;
	t->scope = scope != NULL && !str_has_ctl(scope) ? xstrdup(scope) :
	    NULL;
	t->obtained = now;
	t->expires = now + (time_t)secs;
	return 0;
}

int
oauth_token_parse(int status, const char *body, size_t n, time_t now,
    struct oauth_tokens *t, char *errcode, struct err *e)
{
	json_t *o;
	int rv;

	memset(t, 0, sizeof(*t));
	errcode[0] = '\0';
	o = load_object(body, n);
	if (o == NULL)
		return err_set(e, ERR_TEMP, "the token endpoint answered %d "
		    "with something that is not a JSON object", status);
	if (json_object_get(o, "error") != NULL || status < 200 ||
	    status > 299)
		rv = answer_error(o, status, errcode, e);
	else
		rv = tokens_from(o, now, t, e);
	json_decref(o);
	if (rv == -1)
		oauth_tokens_release(t);
	return rv;
}

void
oauth_device_release(struct oauth_device *d)
{
	wipe_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	memset(d, 0, sizeof(*d));
}

/* A string member fit to print: no control characters, bounded. */
static char *
printable(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || s[0] == '\0' || strlen(s) > 2048 || str_has_ctl(s))
		return NULL;
	return xstrdup(s);
}

int
oauth_device_parse(int status, const char *body, size_t n,
    struct oauth_device *d, struct err *e)
{
	char code[OAUTH_ERRCODE_MAX];
	json_t *o;
	long long v;
	const char *dc;

	memset(d, 0, sizeof(*d));
	o = load_object(body, n);
	if (o == NULL)
		return err_set(e, ERR_TEMP, "the device authorization "
		    "endpoint answered %d with something that is not a JSON "
		    "object", status);
	if (status < 200 || status > 299) {
		copy_errcode(json_string_value(json_object_get(o, "error")),
		    code);
		json_decref(o);
		return err_set(e, status >= 500 ? ERR_TEMP : ERR_CONFIG,
		    "the device authorization endpoint answered %d%s%s",
		    status, code[0] ? ": " : "", code);
	}
	dc = json_string_value(json_object_get(o, "device_code"));
	d->device_code = dc != NULL && token_ok(dc) ? xstrdup(dc) : NULL;
	d->user_code = printable(o, "user_code");
	d->verification_uri = printable(o, "verification_uri");
	if (d->verification_uri == NULL)	/* Google's older name */
		d->verification_uri = printable(o, "verification_url");
	d->verification_uri_complete = printable(o,
	    "verification_uri_complete");
	v = json_seconds(json_object_get(o, "expires_in"));
	d->expires_in = v > 0 && v < DEVICE_MAX_WAIT ? (int)v :
	    DEVICE_MAX_WAIT;
	v = json_seconds(json_object_get(o, "interval"));
	d->interval = v >= 0 && v <= 60 ? (int)v : 5;
	json_decref(o);
	if (d->device_code == NULL || d->user_code == NULL ||
	    d->verification_uri == NULL) {
		oauth_device_release(d);
		return err_set(e, ERR_PROTOCOL, "the device authorization "
		    "answer lacks device_code, user_code or "
		    "verification_uri");
	}
	return 0;
}

/* ---------------------------------------------------------- requests */

/* How to reach the endpoints: the account's TLS trust and timeouts. */
static void
http_opts_of(const struct account *a, struct tls_params *tp,
    struct http_opts *o)
{
	memset(tp, 0, sizeof(*tp));
	tp->trust_file = a->tls_trust_file;
	tp->crl_file = a->tls_crl_file;
	tp->certcheck = 1;	/* endpoints are always verified */
	tp->priorities = a->tls_priorities;
	memset(o, 0, sizeof(*o));
	o->tls = tp;
	o->source_ip = a->source_ip;
	o->connect_timeout = a->timeout > 0 ? a->timeout : 30;
	o->timeout = a->timeout > 0 ? a->timeout : HTTP_TIMEOUT;
	/* The endpoints through the account's SOCKS5 proxy, as SMTP. */
	o->proxy_host = a->proxy_host;
	o->proxy_port = a->proxy_port;
	o->proxy_user = a->proxy_user;
	o->proxy_password = a->proxy_password;
}

/* Appends "&key=value" (form-encoded) to b. */
static int
form_add(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if ((b->len > 0 && buf_addc(b, '&') == -1) || buf_adds(b, key) == -1 ||
	    buf_addc(b, '=') == -1 || http_form_escape(b, value) == -1)
		return -1;
	return 0;
}

/* The client's identification: client_id, and the secret if any. */
static int
form_client(struct buf *b, const struct oauth_cfg *cfg)
{
	return form_add(b, "client_id", cfg->client_id) == -1 ||
	    form_add(b, "client_secret", cfg->client_secret) == -1 ? -1 : 0;
}

/*
 * POSTs form to the token endpoint and reads the answer into t.  A
 * transport failure is ERR_TEMP whatever it was (an untrusted
 * certificate stays what tls.c said).
 */
static int
token_post(const struct account *a, const struct oauth_cfg *cfg,
    struct buf *form, struct oauth_tokens *t, char *errcode, struct err *e)
{
	struct tls_params tp;
	struct http_opts o;
	struct http_resp r;
	int rv;

	errcode[0] = '\0';
	memset(t, 0, sizeof(*t));
	http_opts_of(a, &tp, &o);
	if (http_request(cfg->token_url, buf_str(form), &o, &r, e) == -1) {
		http_resp_release(&r);
		if (e->kind == ERR_PROTOCOL || e->kind == ERR_NOHOST)
			e->kind = ERR_TEMP;
		return err_prefix(e, "OAuth2 token endpoint: ");
	}
	rv = oauth_token_parse(r.status, buf_str(&r.body), r.body.len,
	    time(NULL), t, errcode, e);
	http_resp_release(&r);
	return rv;
}

/* RFC 6749 6: a new access token for the refresh token in old. */
static int
refresh(const struct account *a, const struct oauth_cfg *cfg,
    const struct oauth_tokens *old, struct oauth_tokens *t, char *errcode,
    struct err *e)
{
	struct buf form;
	int rv;

	buf_init_secret(&form, FORM_MAX);
	if (form_add(&form, "grant_type", "refresh_token") == -1 ||
	    form_add(&form, "refresh_token", old->refresh) == -1 ||
	    form_client(&form, cfg) == -1 ||
	    form_add(&form, "scope", cfg->scope) == -1)
		rv = err_set(e, ERR_CONFIG, "the refresh request is too long");
	else
		rv = token_post(a, cfg, &form, t, errcode, e);
	buf_wipe(&form);
	/* No new refresh token: the old one stays valid (RFC 6749 6). */
	if (rv == 0 && t->refresh == NULL)
		t->refresh = xstrdup(old->refresh);
	return rv;
}

/* RFC 6749 4.4: an app-only token. */
static int
client_credentials(const struct account *a, const struct oauth_cfg *cfg,
    struct oauth_tokens *t, char *errcode, struct err *e)
{
	struct buf form;
	int rv;

	buf_init_secret(&form, FORM_MAX);
	if (form_add(&form, "grant_type", "client_credentials") == -1 ||
	    form_client(&form, cfg) == -1 ||
	    form_add(&form, "scope", cfg->scope) == -1)
		rv = err_set(e, ERR_CONFIG, "the token request is too long");
	else
		rv = token_post(a, cfg, &form, t, errcode, e);
	buf_wipe(&form);
	return rv;
}

/* -------------------------------------------------------- send time */

static const char *
acct_name(const struct account *a)
{
	return a->name != NULL ? a->name : "default";
}

/* The access token in t lives long enough, and is not the refused one. */
static int
usable(const struct oauth_tokens *t, enum oauth_want want,
    const char *refused)
{
	time_t now = time(NULL);

	if (t->access == NULL)
		return 0;
	if (want == OAUTH_RENEW)
		return refused != NULL && strcmp(t->access, refused) != 0 &&
		    t->expires > now;
	return t->expires > now + (want == OAUTH_CONNECT ? OAUTH_MARGIN : 0);
}

/* Gets new tokens into fresh, by refresh or client credentials. */
static int
renew(const struct account *a, const struct oauth_cfg *cfg,
    const struct oauth_tokens *old, struct oauth_tokens *fresh,
    struct err *e)
{
	char code[OAUTH_ERRCODE_MAX];
	int rv;

	if (cfg->flow == OAUTH_CLIENT_CREDENTIALS)
		rv = client_credentials(a, cfg, fresh, code, e);
	else if (old->refresh == NULL)
		return err_set(e, ERR_NOPERM, "account '%s' is not signed in "
		    "to OAuth2: run posthorn --login -A %s", acct_name(a),
		    acct_name(a));
	else
		rv = refresh(a, cfg, old, fresh, code, e);
	if (rv == -1 && e->kind == ERR_NOPERM)
		err_set(e, ERR_NOPERM, "account '%s': the OAuth2 sign-in was "
		    "revoked or has expired (%s): run posthorn --login -A %s",
		    acct_name(a), code[0] ? code : "refused", acct_name(a));
	return rv;
}

/*
 * A refresh is the same sign-in: its id goes over to the new tokens (a
 * connection holder goes on, persist.c).  A file without one gets one
 * now: a holder that started from it ends this once.
 */
static void
keep_sign_in(const struct oauth_tokens *old, struct oauth_tokens *fresh)
{
	if (old->sign_in != NULL) {
		free(fresh->sign_in);
		fresh->sign_in = xstrdup(old->sign_in);
	} else
		oauth_store_new_sign_in(fresh);
}

/*
 * Under the lock: the store again (another process may have refreshed),
 * then a refresh when still needed.  refused: the token the server
 * refused, or NULL.
 */
static int
token_locked(const struct account *a, const char *path,
    enum oauth_want want, const char *refused, char **token, struct err *e)
{
	struct oauth_cfg cfg;
	struct oauth_tokens t, fresh;
	int rv = -1;

	memset(&fresh, 0, sizeof(fresh));
	if (oauth_store_load(path, &t, e) == -1)
		return -1;
	if (usable(&t, want, refused)) {
		*token = xstrdup(t.access);
		oauth_tokens_release(&t);
		return 0;
	}
	if (oauth_cfg_resolve(a, &cfg, e) == 0 &&
	    renew(a, &cfg, &t, &fresh, e) == 0) {
		keep_sign_in(&t, &fresh);
		if (oauth_store_save(path, &fresh, e) == 0) {
			*token = xstrdup(fresh.access);
			rv = 0;
		}
	}
	oauth_cfg_release(&cfg);
	oauth_tokens_release(&t);
	oauth_tokens_release(&fresh);
	return rv;
}

int
oauth_token(const struct account *a, enum oauth_want want, char **token,
    struct err *e)
{
	struct oauth_tokens t;
	char *path, *refused = NULL;
	int fd, rv;

	*token = NULL;
	(void)secmem_protect();
	if (oauth_store_path(a, &path, e) == -1)
		return -1;
	if (oauth_store_load(path, &t, e) == -1) {
		free(path);
		return -1;
	}
	if (want != OAUTH_RENEW && usable(&t, want, NULL)) {
		*token = xstrdup(t.access);
		oauth_tokens_release(&t);
		free(path);
		return 0;
	}
	if (want == OAUTH_RENEW && t.access != NULL)
		refused = xstrdup(t.access);
	oauth_tokens_release(&t);
	if (oauth_store_lock(path, &fd, e) == -1) {
		wipe_free(refused);
		free(path);
		return -1;
	}
	rv = token_locked(a, path, want, refused, token, e);
	close(fd);
	wipe_free(refused);
	free(path);
	return rv;
}

/* ----------------------------------------------------------- sign-in */

/* Waits seconds, or less when a signal arrives: -1 then. */
static int
pause_for(int seconds, struct err *e)
{
	struct timespec ts;

	ts.tv_sec = seconds;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		if (sig_caught)
			return err_set(e, ERR_TEMP, "interrupted by a signal");
	return sig_caught ? err_set(e, ERR_TEMP, "interrupted by a signal") :
	    0;
}

/* RFC 8628 3.1: the device and user codes. */
static int
device_start(const struct account *a, const struct oauth_cfg *cfg,
    struct oauth_device *d, struct err *e)
{
	struct tls_params tp;
	struct http_opts o;
	struct http_resp r;
	struct buf form;
	int rv;

	memset(d, 0, sizeof(*d));
	http_opts_of(a, &tp, &o);
	buf_init_secret(&form, FORM_MAX);
	if (form_client(&form, cfg) == -1 ||
	    form_add(&form, "scope", cfg->scope) == -1) {
		buf_wipe(&form);
		return err_set(e, ERR_CONFIG, "the device request is too long");
	}
	rv = http_request(cfg->device_url, buf_str(&form), &o, &r, e);
	buf_wipe(&form);
	if (rv == 0)
		rv = oauth_device_parse(r.status, buf_str(&r.body), r.body.len,
		    d, e);
	else
		err_prefix(e, "OAuth2 device authorization endpoint: ");
	http_resp_release(&r);
	return rv;
}

/* RFC 8628 3.4 and 3.5: polls until the user has answered. */
static int
device_poll(const struct account *a, const struct oauth_cfg *cfg,
    const struct oauth_device *d, struct oauth_tokens *t, struct err *e)
{
	char code[OAUTH_ERRCODE_MAX];
	struct buf form;
	time_t end = time(NULL) + d->expires_in;
	int interval = d->interval, rv;

	for (;;) {
		if (pause_for(interval, e) == -1)
			return -1;
		buf_init_secret(&form, FORM_MAX);
		if (form_add(&form, "grant_type",
		    "urn:ietf:params:oauth:grant-type:device_code") == -1 ||
		    form_add(&form, "device_code", d->device_code) == -1 ||
		    form_client(&form, cfg) == -1)
			rv = err_set(e, ERR_CONFIG, "the token request is too "
			    "long");
		else
			rv = token_post(a, cfg, &form, t, code, e);
		buf_wipe(&form);
		if (rv == 0)
			return 0;
		if (strcmp(code, "slow_down") == 0)
			interval += 5;
		else if (strcmp(code, "authorization_pending") != 0) {
			if (strcmp(code, "expired_token") == 0)
				return err_set(e, ERR_NOPERM, "the code expired "
				    "before the sign-in was finished; run "
				    "posthorn --login again");
			if (strcmp(code, "access_denied") == 0)
				return err_set(e, ERR_NOPERM, "the sign-in was "
				    "declined");
			return -1;
		}
		if (time(NULL) + interval > end)
			return err_set(e, ERR_NOPERM, "the code expired before "
			    "the sign-in was finished; run posthorn --login "
			    "again");
	}
}

static int
device_login(const struct account *a, const struct oauth_cfg *cfg,
    FILE *out, struct oauth_tokens *t, struct err *e)
{
	struct oauth_device d;
	int rv;

	if (device_start(a, cfg, &d, e) == -1)
		return -1;
	fprintf(out, "To sign in account '%s', open this address in a "
	    "browser:\n%s\nand enter this code:\n%s\n", acct_name(a),
	    d.verification_uri, d.user_code);
	if (d.verification_uri_complete != NULL)
		fprintf(out, "(or open this address, which has the code in "
		    "it:)\n%s\n", d.verification_uri_complete);
	fprintf(out, "Waiting for the sign-in (up to %d minutes)...\n",
	    (d.expires_in + 59) / 60);
	fflush(out);
	rv = device_poll(a, cfg, &d, t, e);
	oauth_device_release(&d);
	return rv;
}

/* The code flow's code, exchanged for tokens (RFC 6749 4.1.3). */
static int
code_login(const struct account *a, const struct oauth_cfg *cfg, FILE *out,
    struct oauth_tokens *t, struct err *e)
{
	struct oauth_code_result cr;
	char code[OAUTH_ERRCODE_MAX];
	struct buf form;
	int rv;

	if (oauth_code_obtain(cfg, out, &cr, e) == -1) {
		oauth_code_result_release(&cr);
		return -1;
	}
	buf_init_secret(&form, FORM_MAX);
	if (form_add(&form, "grant_type", "authorization_code") == -1 ||
	    form_add(&form, "code", cr.code) == -1 ||
	    form_add(&form, "redirect_uri", cr.redirect_uri) == -1 ||
	    form_add(&form, "code_verifier", cr.verifier) == -1 ||
	    form_client(&form, cfg) == -1)
		rv = err_set(e, ERR_CONFIG, "the token request is too long");
	else
		rv = token_post(a, cfg, &form, t, code, e);
	buf_wipe(&form);
	oauth_code_result_release(&cr);
	return rv;
}

int
oauth_login(const struct account *a, FILE *out, struct err *e)
{
	struct oauth_cfg cfg;
	struct oauth_tokens t;
	char *path = NULL, code[OAUTH_ERRCODE_MAX];
	int fd = -1, rv = -1;

	(void)secmem_protect();
	memset(&t, 0, sizeof(t));
	if (!oauth_provider_used(a))
		return err_set(e, ERR_CONFIG, "account '%s' does not use "
		    "OAuth2 (set auth oauth2 and oauth2_provider)",
		    acct_name(a));
	if (oauth_cfg_resolve(a, &cfg, e) == -1 ||
	    oauth_store_path(a, &path, e) == -1)
		goto done;
	if (cfg.flow == OAUTH_DEVICE)
		rv = device_login(a, &cfg, out, &t, e);
	else if (cfg.flow == OAUTH_CODE)
		rv = code_login(a, &cfg, out, &t, e);
	else
		rv = client_credentials(a, &cfg, &t, code, e);
	/* A new sign-in ends the holders of the old one (persist.c). */
	if (rv == 0)
		oauth_store_new_sign_in(&t);
	if (rv == 0 && (rv = oauth_store_lock(path, &fd, e)) == 0) {
		rv = oauth_store_save(path, &t, e);
		close(fd);
	}
	if (rv == 0)
		fprintf(out, "Signed in; the tokens are in %s\n", path);
done:
	oauth_tokens_release(&t);
	oauth_cfg_release(&cfg);
	free(path);
	return rv;
}

/* ---------------------------------------------------------- sign-out */

/* RFC 7009: asks the provider to forget the token. */
static int
revoke_token(const struct account *a, const struct oauth_cfg *cfg,
    const struct oauth_tokens *t, struct err *e)
{
	struct tls_params tp;
	struct http_opts o;
	struct http_resp r;
	struct buf form;
	int rv;

	http_opts_of(a, &tp, &o);
	buf_init_secret(&form, FORM_MAX);
	if (form_add(&form, "token", t->refresh ? t->refresh : t->access) ==
	    -1 || form_add(&form, "token_type_hint", t->refresh ?
	    "refresh_token" : "access_token") == -1 ||
	    form_client(&form, cfg) == -1) {
		buf_wipe(&form);
		return err_set(e, ERR_CONFIG, "the revocation request is too "
		    "long");
	}
	rv = http_request(cfg->revoke_url, buf_str(&form), &o, &r, e);
	buf_wipe(&form);
	if (rv == 0 && (r.status < 200 || r.status > 299))
		rv = err_set(e, ERR_TEMP, "the revocation endpoint answered "
		    "%d", r.status);
	http_resp_release(&r);
	return rv;
}

int
oauth_logout(const struct account *a, FILE *out, struct err *e)
{
	struct oauth_cfg cfg;
	struct oauth_tokens t;
	struct err re;
	char *path;
	int fd, rv;

	memset(&cfg, 0, sizeof(cfg));
	if (oauth_store_path(a, &path, e) == -1)
		return -1;
	if (oauth_store_lock(path, &fd, e) == -1) {
		free(path);
		return -1;
	}
	rv = oauth_store_load(path, &t, e);
	err_clear(&re);
	if (rv == 0 && (t.refresh != NULL || t.access != NULL) &&
	    oauth_cfg_resolve(a, &cfg, &re) == 0 && cfg.revoke_url != NULL) {
		if (revoke_token(a, &cfg, &t, &re) == -1)
			fprintf(out, "The provider did not confirm the "
			    "revocation (%s); the tokens are removed here "
			    "anyway\n", re.text);
		else
			fprintf(out, "The provider revoked the sign-in\n");
	}
	oauth_cfg_release(&cfg);
	if (rv == 0)
		rv = oauth_store_remove(path, e);
	if (rv == 0)
		fprintf(out, "Signed out of account '%s'\n", acct_name(a));
	oauth_tokens_release(&t);
	close(fd);
	free(path);
	return rv;
}

/* ------------------------------------------------------------ status */

char *
oauth_status(const struct account *a)
{
	struct oauth_tokens t;
	struct err e;
	char *path, *s, when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (oauth_store_path(a, &path, &e) == -1)
		return xstrdup(e.text);
	if (oauth_store_load(path, &t, &e) == -1) {
		free(path);
		return xstrdup(e.text);
	}
	free(path);
	if (t.access == NULL && t.refresh == NULL)
		return xasprintf("not signed in (run posthorn --login -A %s)",
		    acct_name(a));
	gmtime_r(&t.expires, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	s = xasprintf("signed in; access token %s %s; refresh token %s; "
	    "scopes: %s", t.expires > now ? "expires" : "expired", when,
	    t.refresh != NULL ? "stored" : "none",
	    t.scope != NULL ? t.scope : "(not stated)");
	oauth_tokens_release(&t);
	return s;
}
