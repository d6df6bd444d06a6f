/*
 * auth owns SMTP AUTH's client side short of the wire: which mechanism,
 * where the secret comes from, and each SASL step.  One code path: a
 * mechanism table says for each name whether GNU SASL computes it or it is
 * one of the two token formats built here, whether the client speaks
 * first, and how it ranks when posthorn picks.  Secrets live in memory
 * only as long as the exchange and are wiped after.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gsasl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "err.h"
#include "evalcmd.h"
#include "net.h"
#include "oauth.h"
#include "oauth_provider.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/proc.h"
#include "util/secmem.h"
#include "util/sig.h"
#include "util/str.h"

#define SECRET_MAX	(64 * 1024)

enum mech_kind { MK_GSASL, MK_XOAUTH2, MK_OAUTHBEARER };

static const struct mech {
	const char	*name;
	enum mech_kind	 kind;
	int		 client_first;	/* send an initial response */
	int		 rank;		/* 0: never picked automatically */
	int		 needs_tls;	/* -PLUS: channel binding */
	int		 needs_password;
	int		 needs_user;
} mechs[] = {
	{ "SCRAM-SHA-256-PLUS",	MK_GSASL, 1, 90, 1, 1, 1 },
	{ "SCRAM-SHA-1-PLUS",	MK_GSASL, 1, 80, 1, 1, 1 },
	{ "SCRAM-SHA-256",	MK_GSASL, 1, 70, 0, 1, 1 },
	{ "SCRAM-SHA-1",	MK_GSASL, 1, 60, 0, 1, 1 },
	{ "CRAM-MD5",		MK_GSASL, 0, 50, 0, 1, 1 },
	{ "PLAIN",		MK_GSASL, 1, 40, 0, 1, 1 },
	{ "LOGIN",		MK_GSASL, 0, 30, 0, 1, 1 },
	{ "EXTERNAL",		MK_GSASL, 1, 0, 0, 0, 0 },
	{ "GSSAPI",		MK_GSASL, 1, 0, 0, 0, 0 },
	{ "XOAUTH2",		MK_XOAUTH2, 1, 0, 0, 1, 1 },
	{ "OAUTHBEARER",	MK_OAUTHBEARER, 1, 0, 0, 1, 1 },
};

struct auth {
	const struct mech	*mech;
	const struct account	*acct;
	const struct conn	*conn;
	Gsasl			*ctx;
	Gsasl_session		*sess;
	char			*password;
	char			*cb;		/* channel binding, base64 */
	int			 done;
	int			 steps;
};

/* ------------------------------------------------------ the secret */

/*
 * Runs passwordeval (util/proc: own process group, deadline, signals);
 * its output without the final newline.  A program named by a path must
 * pass the configuration file's ownership rules first.
 */
static int
run_eval(const struct account *a, char **pw, struct err *e)
{
	struct buf out;
	size_t len;
	int status;

	if (evalcmd_check(a->passwordeval, "passwordeval", e) == -1)
		return -1;
	buf_init_secret(&out, SECRET_MAX);
	if (proc_run(a->passwordeval, a->command_timeout, &out, &status) ==
	    -1) {
		int saved = errno;

		buf_release(&out);
		if (saved == ETIMEDOUT)
			return err_set(e, ERR_TEMP, "passwordeval command did "
			    "not finish within %d seconds (command_timeout); "
			    "it was killed", a->command_timeout);
		if (saved == EINTR)
			return err_set(e, ERR_TEMP, "interrupted while "
			    "passwordeval ran; it was killed");
		if (saved == EFBIG)
			return err_set(e, ERR_CONFIG, "passwordeval output is "
			    "longer than %d bytes", SECRET_MAX);
		return err_set(e, ERR_SOFTWARE, "cannot run passwordeval: %s",
		    strerror(saved));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_release(&out);
		if (WIFEXITED(status))
			return err_set(e, ERR_CONFIG, "passwordeval command "
			    "failed with exit status %d", WEXITSTATUS(status));
		return err_set(e, sig_caught ? ERR_TEMP : ERR_CONFIG,
		    "passwordeval command was killed by signal %d",
		    WTERMSIG(status));
	}
	len = out.len;
	if (len > 0 && out.data[len - 1] == '\n')
		len--;
	if (len > 0 && out.data[len - 1] == '\r')
		len--;
	buf_truncate(&out, len);
	if (out.len == 0) {
		buf_release(&out);
		return err_set(e, ERR_CONFIG,
		    "passwordeval command printed nothing");
	}
	*pw = buf_detach(&out);
	return 0;
}

#define NETRC_TOKEN_MAX	1024

/*
 * Next netrc token (white-space separated; quotes as in ftp's netrc) into
 * tok (NETRC_TOKEN_MAX bytes).  NULL at the end; *toolong set (and NULL)
 * for a token that does not fit, which is never cut short.
 */
static const char *
netrc_token(const char **p, char *tok, int *toolong)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
	    *s == '#') {
		if (*s == '#')
			while (*s != '\0' && *s != '\n')
				s++;
		else
			s++;
	}
	if (*s == '\0')
		return NULL;
	if (*s == '"') {
		for (s++; *s != '\0' && *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (n + 1 >= NETRC_TOKEN_MAX)
				goto toolong;
			tok[n++] = *s;
		}
		if (*s == '"')
			s++;
	} else {
		for (; *s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' &&
		    *s != '\r'; s++) {
			if (n + 1 >= NETRC_TOKEN_MAX)
				goto toolong;
			tok[n++] = *s;
		}
	}
	tok[n] = '\0';
	*p = s;
	return tok;
toolong:
	*toolong = 1;
	return NULL;
}

/*
 * ~/.netrc: the password for (host, user), or for "default"; NULL when
 * there is none.  -1 with ERR_CONFIG for a token too long to read whole.
 */
static int
netrc_lookup(const char *host, const char *user, char **pw, struct err *e)
{
	const char *home = getenv("HOME");
	char *path, tok[NETRC_TOKEN_MAX], *found = NULL, *fallback = NULL;
	char machine[NETRC_TOKEN_MAX] = "", login[NETRC_TOKEN_MAX] = "";
	const char *p;
	int is_default = 0, have = 0, toolong = 0;
	struct buf b;

	*pw = NULL;
	if (home == NULL || host == NULL)
		return 0;
	path = xasprintf("%s/.netrc", home);
	buf_init_secret(&b, 1024 * 1024);
	if (fsio_read_file(path, &b) == -1) {
		free(path);
		buf_release(&b);
		return 0;
	}
	p = buf_str(&b);
	while (found == NULL && netrc_token(&p, tok, &toolong) != NULL) {
		if (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0) {
			is_default = strcmp(tok, "default") == 0;
			machine[0] = login[0] = '\0';
			have = 1;
			if (!is_default && netrc_token(&p, tok, &toolong))
				memcpy(machine, tok, strlen(tok) + 1);
		} else if (strcmp(tok, "login") == 0 && have) {
			if (netrc_token(&p, tok, &toolong))
				memcpy(login, tok, strlen(tok) + 1);
		} else if (strcmp(tok, "password") == 0 && have) {
			if (netrc_token(&p, tok, &toolong) == NULL)
				break;
			int user_ok = user == NULL || login[0] == '\0' ||
			    strcmp(login, user) == 0;

			if (!is_default && strcasecmp(machine, host) == 0 &&
			    user_ok)
				found = xstrdup(tok);
			else if (is_default && user_ok && fallback == NULL)
				fallback = xstrdup(tok);
		}
	}
	wipe(tok, sizeof(tok));
	buf_release(&b);
	if (toolong) {
		wipe_free(found);
		wipe_free(fallback);
		err_set(e, ERR_CONFIG, "%s: a word is longer than %d bytes, "
		    "which posthorn does not cut short", path,
		    NETRC_TOKEN_MAX - 1);
		free(path);
		return -1;
	}
	free(path);
	if (found != NULL) {
		wipe_free(fallback);
		*pw = found;
	} else
		*pw = fallback;
	return 0;
}

#define PROMPT_MAX	1024

/*
 * Asks on /dev/tty without echo; *pw NULL when there is no terminal.  The
 * answer is read with read(2) (no stdio buffer keeps a copy), and a signal
 * ends the wait (-1, ERR_TEMP).  A line longer than PROMPT_MAX - 1 bytes
 * is refused, not cut.
 */
static int
prompt(const struct account *a, char **pw, struct err *e)
{
	struct termios t, saved;
	struct pollfd pf[2];
	char line[PROMPT_MAX], c, *q;
	size_t n = 0;
	int fd, np, rv = 0, toolong = 0;
	ssize_t r;

	*pw = NULL;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1)
		return 0;
	if (!isatty(fd) || tcgetattr(fd, &saved) == -1) {
		close(fd);
		return 0;
	}
	q = xasprintf("password for %s at %s: ", a->user ? a->user : "",
	    a->host ? a->host : "");
	(void)fsio_write_all(fd, q, strlen(q));
	free(q);
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &t);
	for (;;) {
		pf[0].fd = fd;
		pf[0].events = POLLIN;
		np = 1;
		if (sig_fd != -1) {
			pf[1].fd = sig_fd;
			pf[1].events = POLLIN;
			np = 2;
		}
		if (sig_caught || (poll(pf, (nfds_t)np, -1) == -1 &&
		    errno != EINTR) || sig_caught) {
			rv = err_set(e, ERR_TEMP, "interrupted while asking "
			    "for the password");
			break;
		}
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((r = read(fd, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n' || c == '\r')
			break;
		if (n + 1 >= sizeof(line))
			toolong = 1;
		else
			line[n++] = c;
	}
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &saved);
	(void)fsio_write_all(fd, "\n", 1);
	close(fd);
	if (rv == 0 && toolong)
		rv = err_set(e, ERR_CONFIG, "the password typed is longer "
		    "than %d bytes", PROMPT_MAX - 1);
	if (rv == 0 && n > 0)
		*pw = xstrndup(line, n);
	wipe(line, sizeof(line));
	return rv;
}

int
auth_renewable(const struct account *a, const struct err *e)
{
	return oauth_provider_used(a) && e->kind == ERR_NOPERM &&
	    e->reply == 535;
}

int
auth_renew(const struct account *a, struct err *e)
{
	char *token;

	if (oauth_token(a, OAUTH_RENEW, &token, e) == -1)
		return -1;
	wipe_free(token);
	return 0;
}

int
auth_eval(const struct account *a, char **pw, struct err *e)
{
	(void)secmem_protect();
	return run_eval(a, pw, e);
}

int
auth_password(const struct account *a, char **pw, struct err *e)
{
	*pw = NULL;
	/* Whatever the source, a secret is about to be in memory. */
	(void)secmem_protect();
	if (a->password != NULL) {
		*pw = xstrdup(a->password);
		return 0;
	}
	if (a->password_in_file)
		return conf_password(a, pw, e);
	if (a->passwordeval != NULL)
		return run_eval(a, pw, e);
	if (netrc_lookup(a->host, a->user, pw, e) == -1)
		return -1;
	if (*pw != NULL)
		return 0;
	if (prompt(a, pw, e) == -1)
		return -1;
	if (*pw != NULL)
		return 0;
	return err_set(e, ERR_CONFIG, "no password for user '%s' at '%s' "
	    "(set password or passwordeval, or use ~/.netrc)",
	    a->user ? a->user : "", a->host ? a->host : "");
}

/* ---------------------------------------------------------- choosing */

static int
offered_has(const char *offered, const char *mech)
{
	size_t n = strlen(mech);
	const char *p = offered;

	while ((p = strstr(p, mech)) != NULL) {
		if ((p == offered || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static const struct mech *
find_mech(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strcasecmp(mechs[i].name, name) == 0)
			return &mechs[i];
	return NULL;
}

static const struct mech *
pick(const struct account *a, const char *offered, const struct conn *c)
{
	const struct mech *best = NULL;
	size_t i;

	/* A client certificate means the user wants EXTERNAL if offered. */
	if (a->tls_cert_file != NULL && c->tls != NULL &&
	    offered_has(offered, "EXTERNAL"))
		return find_mech("EXTERNAL");
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (mechs[i].rank == 0 || !offered_has(offered, mechs[i].name))
			continue;
		if (mechs[i].needs_tls && c->tls == NULL)
			continue;
		if (best == NULL || mechs[i].rank > best->rank)
			best = &mechs[i];
	}
	return best;
}

/* ------------------------------------------------------------ GSASL */

static int
callback(Gsasl *ctx, Gsasl_session *sess, Gsasl_property prop)
{
	struct auth *as = gsasl_session_hook_get(sess);
	const char *tv;

	(void)ctx;
	if (as == NULL)
		return GSASL_NO_CALLBACK;
	switch (prop) {
	case GSASL_CB_TLS_UNIQUE:
	case GSASL_CB_TLS_EXPORTER:
		if (as->cb == NULL)
			return GSASL_NO_CALLBACK;
		tv = tls_version(as->conn->tls);
		/* tls-exporter for TLS 1.3, tls-unique for 1.2 (RFC 9266). */
		if ((prop == GSASL_CB_TLS_EXPORTER) !=
		    (tv != NULL && strcmp(tv, "TLS1.3") == 0))
			return GSASL_NO_CALLBACK;
		return gsasl_property_set(sess, prop, as->cb);
	default:
		return GSASL_NO_CALLBACK;
	}
}

static int
gsasl_err(struct err *e, enum err_kind kind, const char *what, int rc)
{
	return err_set(e, kind, "%s: %s", what, gsasl_strerror(rc));
}

static int
start_gsasl(struct auth *as, struct err *e)
{
	const struct account *a = as->acct;
	int rc;

	if ((rc = gsasl_init(&as->ctx)) != GSASL_OK)
		return gsasl_err(e, ERR_SOFTWARE, "GNU SASL", rc);
	gsasl_callback_set(as->ctx, callback);
	if ((rc = gsasl_client_start(as->ctx, as->mech->name, &as->sess))
	    != GSASL_OK)
		return gsasl_err(e, ERR_UNAVAILABLE, as->mech->name, rc);
	gsasl_session_hook_set(as->sess, as);
	if (a->user != NULL)
		gsasl_property_set(as->sess, GSASL_AUTHID, a->user);
	if (as->password != NULL)
		gsasl_property_set(as->sess, GSASL_PASSWORD, as->password);
	gsasl_property_set(as->sess, GSASL_SERVICE, "smtp");
	if (a->host != NULL)
		gsasl_property_set(as->sess, GSASL_HOSTNAME, a->host);
	/*
	 * Channel binding data only for the -PLUS forms.  Given it, GNU SASL
	 * 2.2's plain SCRAM client fails at once ("y" flag), so a server
	 * offering SCRAM without -PLUS over TLS could not be used at all;
	 * without it the client says "n", as every SCRAM client without
	 * channel binding does.
	 */
	if (as->mech->needs_tls) {
		struct buf cb;
		const char *tv = tls_version(as->conn->tls);

		buf_init(&cb, 4096);
		if (tls_channel_binding(as->conn->tls,
		    tv != NULL && strcmp(tv, "TLS1.3") == 0 ?
		    TLS_CB_EXPORTER : TLS_CB_UNIQUE, &cb) == 0 && cb.len > 0) {
			as->cb = xmalloc(B64_LEN(cb.len) + 1);
			b64_encode(cb.data, cb.len, as->cb);
		}
		buf_wipe(&cb);
		if (as->cb == NULL)
			return err_set(e, ERR_UNAVAILABLE, "%s: no TLS channel "
			    "binding available", as->mech->name);
	}
	return 0;
}

/* --------------------------------------------------------- exchange */

int
auth_begin(struct auth **out, const struct account *a, const char *offered,
    const struct conn *c, struct err *e)
{
	struct auth *as;
	const struct mech *m;
	const char *name;

	*out = NULL;
	if (a->auth_mech != NULL) {
		/* msmtp's NTLM: said when the account sends, not when the
		   file is read. */
		if (strcmp(a->auth_mech, "NTLM") == 0)
			return err_set(e, ERR_CONFIG, "account '%s' uses auth "
			    "ntlm, which posthorn does not support (choose "
			    "another mechanism the server offers: %s)",
			    a->name != NULL ? a->name : "", *offered ?
			    offered : "none");
		name = oauth_provider_used(a) ?
		    oauth_provider_mech(a, offered) : a->auth_mech;
		if ((m = find_mech(name)) == NULL)
			return err_set(e, ERR_CONFIG, "authentication "
			    "mechanism '%s' is not supported", a->auth_mech);
		if (!offered_has(offered, m->name))
			return err_set(e, ERR_UNAVAILABLE, "the server does "
			    "not offer AUTH %s (it offers: %s)", m->name,
			    *offered ? offered : "nothing");
	} else if ((m = pick(a, offered, c)) == NULL)
		return err_set(e, ERR_UNAVAILABLE, "no authentication "
		    "mechanism in common with the server (it offers: %s)",
		    *offered ? offered : "nothing");
	if (m->needs_user && (a->user == NULL || a->user[0] == '\0'))
		return err_set(e, ERR_CONFIG, "AUTH %s needs a user (set "
		    "'user' in the account)", m->name);

	as = xcalloc(1, sizeof(*as));
	as->mech = m;
	as->acct = a;
	as->conn = c;
	if (m->needs_password && (m->kind == MK_XOAUTH2 ||
	    m->kind == MK_OAUTHBEARER) && oauth_provider_used(a)) {
		if (oauth_token(a, OAUTH_AUTH, &as->password, e) == -1) {
			auth_end(as);
			return -1;
		}
	} else if (m->needs_password && auth_password(a, &as->password, e) ==
	    -1) {
		auth_end(as);
		return -1;
	}
	if (m->kind == MK_GSASL && start_gsasl(as, e) == -1) {
		auth_end(as);
		return -1;
	}
	*out = as;
	return 0;
}

const char *
auth_mech(const struct auth *as)
{
	return as->mech->name;
}

/* XOAUTH2 and OAUTHBEARER: a single client message carrying the token. */
static char *
token_message(struct auth *as)
{
	const struct account *a = as->acct;
	struct buf b;
	char *out;

	buf_init(&b, 0);
	if (as->mech->kind == MK_XOAUTH2)
		buf_printf(&b, "user=%s\001auth=Bearer %s\001\001", a->user,
		    as->password);
	else
		buf_printf(&b, "n,a=%s,\001host=%s\001port=%d\001"
		    "auth=Bearer %s\001\001", a->user, a->host ? a->host : "",
		    conf_port(a), as->password);
	out = xmalloc(B64_LEN(b.len) + 1);
	b64_encode(b.data, b.len, out);
	buf_wipe(&b);
	return out;
}

/*
 * One GNU SASL step on base64 text in, base64 text out (*out malloc'd, ""
 * for an empty answer).  gsasl_step64 would do it, but it frees the raw
 * answer (which holds the password for PLAIN and LOGIN) without wiping
 * it; here it is wiped.
 */
static int
gsasl_run(struct auth *as, const char *in, char **out, struct err *e)
{
	char *raw = NULL, *dec = NULL;
	size_t rawlen = 0, inlen = strlen(in);
	long declen = 0;
	int rc;

	*out = NULL;
	if (inlen > 0 && strcmp(in, "=") != 0) {
		dec = xmalloc(inlen / 4 * 3 + 1);
		if ((declen = b64_decode(in, inlen, dec)) < 0) {
			free(dec);
			return err_set(e, ERR_PROTOCOL, "%s: the server's "
			    "challenge is not base64", as->mech->name);
		}
	}
	rc = gsasl_step(as->sess, dec, (size_t)declen, &raw, &rawlen);
	if (dec != NULL) {
		wipe(dec, (size_t)declen);
		free(dec);
	}
	if (rc == GSASL_OK)
		as->done = 1;
	else if (rc != GSASL_NEEDS_MORE) {
		if (raw != NULL) {
			wipe(raw, rawlen);
			gsasl_free(raw);
		}
		return gsasl_err(e, ERR_PROTOCOL, as->mech->name, rc);
	}
	*out = xmalloc(B64_LEN(rawlen) + 1);
	b64_encode(raw != NULL ? raw : "", rawlen, *out);
	if (raw != NULL) {
		wipe(raw, rawlen);
		gsasl_free(raw);
	}
	return 0;
}

char *
auth_initial(struct auth *as, struct err *e)
{
	char *out;

	if (!as->mech->client_first)
		return NULL;
	as->steps++;
	if (as->mech->kind != MK_GSASL) {
		as->done = 1;
		return token_message(as);
	}
	if (gsasl_run(as, "", &out, e) == -1)
		return NULL;
	if (*out == '\0') {
		free(out);
		return xstrdup("=");
	}
	return out;
}

/*
 * SCRAM's last server message failed to check: "e=..." is the server
 * refusing the client's proof, anything else a signature (v=) that does
 * not match, i.e. a server that does not know the password.
 */
static void
scram_final_error(const struct auth *as, const char *challenge,
    struct err *e)
{
	size_t n = strlen(challenge);
	char *text = xmalloc(n / 4 * 3 + 1);
	long len = b64_decode(challenge, n, text);

	/* The server's words whole; err_set makes them safe and fit. */
	if (len > 2 && strncmp(text, "e=", 2) == 0)
		err_set(e, ERR_NOPERM, "%s: the server refused the "
		    "password: %.*s", as->mech->name, (int)(len - 2),
		    text + 2);
	else
		err_set(e, ERR_PROTOCOL, "%s: the server's signature is "
		    "wrong, so it does not know the password",
		    as->mech->name);
	free(text);
}

/*
 * The server-first message's iteration count (RFC 5802 "i="), checked
 * before GNU SASL computes: the client does that many HMACs, so a server
 * could make posthorn burn CPU for as long as it likes.  Above the
 * account's scram_max_iterations the exchange is refused, as a policy
 * decision about this server (ERR_UNAVAILABLE, like an untrusted
 * certificate): the count is within the protocol, and asking again will
 * not change it.  A message without a count is left to GNU SASL.
 */
static int
scram_check_iterations(const struct auth *as, const char *challenge,
    struct err *e)
{
	char *msg, *p;
	size_t n = strlen(challenge);
	unsigned long long iter = 0;
	long len;
	int found = 0, big = 0;

	if (n == 0 || n > 64 * 1024)
		return 0;
	msg = xmalloc(n / 4 * 3 + 1);
	if ((len = b64_decode(challenge, n, msg)) < 0) {
		free(msg);
		return 0;
	}
	msg[len] = '\0';
	for (p = msg; p != NULL && *p != '\0'; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (p[0] != 'i' || p[1] != '=')
			continue;
		found = 1;
		for (p += 2; *p >= '0' && *p <= '9'; p++) {
			iter = iter * 10 + (unsigned long long)(*p - '0');
			if (iter > (unsigned long long)INT_MAX) {
				big = 1;
				break;
			}
		}
		break;
	}
	free(msg);
	if (!found || (!big && iter <= (unsigned long long)
	    as->acct->scram_max_iterations))
		return 0;
	if (big)
		return err_set(e, ERR_UNAVAILABLE, "%s: the server asks for "
		    "more than %d iterations; posthorn allows at most %d "
		    "(scram_max_iterations) and stops here", as->mech->name,
		    INT_MAX, as->acct->scram_max_iterations);
	return err_set(e, ERR_UNAVAILABLE, "%s: the server asks for %llu "
	    "iterations; posthorn allows at most %d (scram_max_iterations) "
	    "and stops here rather than compute them", as->mech->name, iter,
	    as->acct->scram_max_iterations);
}

int
auth_step(struct auth *as, const char *challenge, char **response,
    struct err *e)
{
	*response = NULL;
	as->steps++;
	if (as->mech->kind != MK_GSASL) {
		/*
		 * The server sent an error report (JSON) in a 334; it sends
		 * the failure after the client's answer: a single ^A for
		 * OAUTHBEARER (RFC 7628 3.2.3), an empty line for XOAUTH2.
		 */
		*response = xstrdup(as->mech->kind == MK_OAUTHBEARER ?
		    "AQ==" : "");
		return 0;
	}
	if (as->mech->client_first && as->steps == 1 && *challenge == '\0')
		challenge = "";
	if (str_prefix(as->mech->name, "SCRAM-") &&
	    scram_check_iterations(as, challenge, e) == -1)
		return -1;
	if (gsasl_run(as, challenge, response, e) == -1) {
		if (str_prefix(as->mech->name, "SCRAM-") && as->steps >= 3)
			scram_final_error(as, challenge, e);
		return -1;
	}
	return 0;
}

int
auth_complete(const struct auth *as)
{
	return as->done;
}

/* Wipes GNU SASL's copy of a secret property before it is freed. */
static void
wipe_property(Gsasl_session *sess, Gsasl_property prop)
{
	const char *v = gsasl_property_fast(sess, prop);

	if (v != NULL)
		wipe((char *)(uintptr_t)v, strlen(v));
}

void
auth_end(struct auth *as)
{
	if (as == NULL)
		return;
	if (as->sess != NULL) {
		wipe_property(as->sess, GSASL_PASSWORD);
		wipe_property(as->sess, GSASL_SCRAM_SALTED_PASSWORD);
		wipe_property(as->sess, GSASL_SCRAM_SERVERKEY);
		wipe_property(as->sess, GSASL_SCRAM_STOREDKEY);
		gsasl_finish(as->sess);
	}
	if (as->ctx != NULL)
		gsasl_done(as->ctx);
	wipe_free(as->password);
	wipe_free(as->cb);
	free(as);
	/* What the exchange's calls left below this frame. */
	secmem_scrub_stack();
}
