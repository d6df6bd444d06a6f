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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "err.h"
#include "net.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/fsio.h"
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

/* Runs passwordeval with /bin/sh; its output without the final newline. */
static int
run_eval(const char *cmd, char **pw, struct err *e)
{
	struct buf out;
	char chunk[4096];
	int fds[2], status, devnull;
	size_t len;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) == -1)
		return err_set(e, ERR_SOFTWARE, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return err_set(e, ERR_SOFTWARE, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* Output to the pipe, input from /dev/null, no other fd. */
		if (fds[1] != 1) {
			dup2(fds[1], 1);
			close(fds[1]);
		}
		if (fds[0] != 1)
			close(fds[0]);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull > 0) {
			dup2(devnull, 0);
			close(devnull);
		}
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	buf_init(&out, SECRET_MAX);
	while ((n = fsio_read(fds[0], chunk, sizeof(chunk))) > 0)
		if (buf_add(&out, chunk, (size_t)n) == -1)
			break;
	wipe(chunk, sizeof(chunk));
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	/* Too long first: the command dies of SIGPIPE when cut short. */
	if (n > 0) {
		buf_wipe(&out);
		return err_set(e, ERR_CONFIG, "passwordeval output is longer "
		    "than %d bytes", SECRET_MAX);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_wipe(&out);
		if (WIFEXITED(status))
			return err_set(e, ERR_CONFIG, "passwordeval command "
			    "failed with exit status %d", WEXITSTATUS(status));
		return err_set(e, ERR_CONFIG, "passwordeval command was "
		    "killed by signal %d", WTERMSIG(status));
	}
	len = out.len;
	if (len > 0 && out.data[len - 1] == '\n')
		len--;
	if (len > 0 && out.data[len - 1] == '\r')
		len--;
	buf_truncate(&out, len);
	if (out.len == 0) {
		buf_wipe(&out);
		return err_set(e, ERR_CONFIG,
		    "passwordeval command printed nothing");
	}
	*pw = buf_detach(&out);
	return 0;
}

/* Next netrc token (white-space separated; quotes as in ftp's netrc). */
static const char *
netrc_token(const char **p, char *tok, size_t toksz)
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
			if (n + 1 < toksz)
				tok[n++] = *s;
		}
		if (*s == '"')
			s++;
	} else {
		for (; *s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' &&
		    *s != '\r'; s++)
			if (n + 1 < toksz)
				tok[n++] = *s;
	}
	tok[n] = '\0';
	*p = s;
	return tok;
}

/* ~/.netrc: the password for (host, user), or for "default". */
static char *
netrc_lookup(const char *host, const char *user)
{
	const char *home = getenv("HOME");
	char *path, tok[1024], *found = NULL, *fallback = NULL;
	char machine[1024] = "", login[1024] = "";
	const char *p;
	int is_default = 0, have = 0;
	struct buf b;

	if (home == NULL || host == NULL)
		return NULL;
	path = xasprintf("%s/.netrc", home);
	buf_init(&b, 1024 * 1024);
	if (fsio_read_file(path, &b) == -1) {
		free(path);
		buf_wipe(&b);
		return NULL;
	}
	free(path);
	p = buf_str(&b);
	while (found == NULL && netrc_token(&p, tok, sizeof(tok)) != NULL) {
		if (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0) {
			is_default = strcmp(tok, "default") == 0;
			machine[0] = login[0] = '\0';
			have = 1;
			if (!is_default && netrc_token(&p, tok, sizeof(tok)))
				snprintf(machine, sizeof(machine), "%s", tok);
		} else if (strcmp(tok, "login") == 0 && have) {
			if (netrc_token(&p, tok, sizeof(tok)))
				snprintf(login, sizeof(login), "%s", tok);
		} else if (strcmp(tok, "password") == 0 && have) {
			if (netrc_token(&p, tok, sizeof(tok)) == NULL)
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
	buf_wipe(&b);
	if (found != NULL) {
		wipe_free(fallback);
		return found;
	}
	return fallback;
}

/* Asks on /dev/tty without echo; NULL when there is no terminal. */
static char *
prompt(const struct account *a)
{
	struct termios t, saved;
	char line[1024];
	FILE *tty;
	size_t n;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1)
		return NULL;
	if (!isatty(fd) || tcgetattr(fd, &saved) == -1 ||
	    (tty = fdopen(fd, "r+")) == NULL) {
		close(fd);
		return NULL;
	}
	fprintf(tty, "password for %s at %s: ", a->user ? a->user : "",
	    a->host ? a->host : "");
	fflush(tty);
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &t);
	if (fgets(line, sizeof(line), tty) == NULL)
		line[0] = '\0';
	tcsetattr(fd, TCSAFLUSH, &saved);
	fputc('\n', tty);
	fclose(tty);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	char *pw = n > 0 ? xstrdup(line) : NULL;

	wipe(line, sizeof(line));
	return pw;
}

int
auth_password(const struct account *a, char **pw, struct err *e)
{
	*pw = NULL;
	if (a->password != NULL) {
		*pw = xstrdup(a->password);
		return 0;
	}
	if (a->passwordeval != NULL)
		return run_eval(a->passwordeval, pw, e);
	if ((*pw = netrc_lookup(a->host, a->user)) != NULL)
		return 0;
	if ((*pw = prompt(a)) != NULL)
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

	*out = NULL;
	if (a->auth_mech != NULL) {
		if ((m = find_mech(a->auth_mech)) == NULL)
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
	if (m->needs_password && auth_password(a, &as->password, e) == -1) {
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

static int
gsasl_run(struct auth *as, const char *in, char **out, struct err *e)
{
	int rc;

	*out = NULL;
	rc = gsasl_step64(as->sess, in, out);
	if (rc == GSASL_OK)
		as->done = 1;
	else if (rc != GSASL_NEEDS_MORE) {
		if (*out != NULL)
			wipe_free(*out);
		*out = NULL;
		return gsasl_err(e, ERR_PROTOCOL, as->mech->name, rc);
	}
	if (*out == NULL)
		*out = xstrdup("");
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
	char text[96], shown[96];
	size_t n = strlen(challenge);
	long len = -1;

	if (n <= sizeof(text) / 3 * 4)
		len = b64_decode(challenge, n, text);
	if (len > 2 && strncmp(text, "e=", 2) == 0) {
		str_oneline(shown, sizeof(shown), text + 2, (size_t)len - 2);
		err_set(e, ERR_NOPERM, "%s: the server refused the "
		    "password: %s", as->mech->name, shown);
	} else
		err_set(e, ERR_PROTOCOL, "%s: the server's signature is "
		    "wrong, so it does not know the password",
		    as->mech->name);
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

void
auth_end(struct auth *as)
{
	if (as == NULL)
		return;
	if (as->sess != NULL)
		gsasl_finish(as->sess);
	if (as->ctx != NULL)
		gsasl_done(as->ctx);
	wipe_free(as->password);
	wipe_free(as->cb);
	free(as);
}
