/*
 * smtp owns the client dialogue.  Each step writes its command group into
 * the conn's output buffer, flushes once, and reads the replies it
 * expects; with PIPELINING a whole transaction (MAIL, every RCPT, DATA or
 * BDAT) is one write and one wait.  Replies go through the strict parser
 * in smtp_reply; after the last reply a step expects, anything more in the
 * input buffer is a protocol error (this is what stops STARTTLS response
 * injection).  Every failure fills the error record with the phase, the
 * reply and SPEC.md's kind; nothing here prints except the -v trace (and
 * the terminal's status line, through progress).  Each wait is a stage of
 * the conn with its own deadline: a reply must arrive whole within its
 * phase's limit, the message data within a limit that grows with its
 * size, and everything within the session's; while the data is written
 * the conn watches for a reply, which then ends the data and answers it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "mime.h"
#include "net.h"
#include "progress.h"
#include "smtp.h"
#include "smtp_reply.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"

#define BODY_CHUNK	65536
#define CMD_MAX		(64 * 1024)	/* a command line, without CRLF */
#define AUTH_IR_MAX	8000	/* longer initial responses wait for a 334 */
#define AUTH_STEPS_MAX	16
#define BDAT_PIPELINE_MAX (1024 * 1024)

static const char *const phase_names[SMTP_NPHASES] = {
	[SMTP_CONNECT] = "connect",
	[SMTP_GREETING] = "greeting",
	[SMTP_EHLO] = "EHLO",
	[SMTP_STARTTLS] = "STARTTLS",
	[SMTP_TLS] = "TLS handshake",
	[SMTP_AUTH] = "AUTH",
	[SMTP_MAIL] = "MAIL FROM",
	[SMTP_RCPT] = "RCPT TO",
	[SMTP_DATA] = "DATA",
	[SMTP_BODY] = "message data",
	[SMTP_END] = "end of data",
	[SMTP_RSET] = "RSET",
	[SMTP_QUIT] = "QUIT",
};

/* RFC 5321 4.5.3.2 waits, in seconds; `timeout N` replaces them all. */
static const int default_timeout[SMTP_NPHASES] = {
	[SMTP_CONNECT] = 30,
	[SMTP_GREETING] = 300,
	[SMTP_EHLO] = 300,
	[SMTP_STARTTLS] = 300,
	[SMTP_TLS] = 60,
	[SMTP_AUTH] = 300,
	[SMTP_MAIL] = 300,
	[SMTP_RCPT] = 300,
	[SMTP_DATA] = 120,
	[SMTP_BODY] = 180,
	[SMTP_END] = 600,
	[SMTP_RSET] = 60,
	[SMTP_QUIT] = 10,
};

/* What a stage that reads a reply waits for (after "waiting"). */
static const char *const phase_reply[SMTP_NPHASES] = {
	[SMTP_CONNECT] = "to connect",
	[SMTP_GREETING] = "for the greeting",
	[SMTP_EHLO] = "for the reply to EHLO",
	[SMTP_STARTTLS] = "for the reply to STARTTLS",
	[SMTP_TLS] = "for the TLS handshake",
	[SMTP_AUTH] = "for the reply to AUTH",
	[SMTP_MAIL] = "for the reply to MAIL FROM",
	[SMTP_RCPT] = "for the reply to RCPT TO",
	[SMTP_DATA] = "for the reply to DATA",
	[SMTP_BODY] = "for the reply sent during the message data",
	[SMTP_END] = "for the reply to the end of the data",
	[SMTP_RSET] = "for the reply to RSET",
	[SMTP_QUIT] = "for the reply to QUIT",
};

/* What a stage that writes waits for. */
static const char *const phase_send[SMTP_NPHASES] = {
	[SMTP_CONNECT] = "to connect",
	[SMTP_GREETING] = "to send",
	[SMTP_EHLO] = "to send EHLO",
	[SMTP_STARTTLS] = "to send STARTTLS",
	[SMTP_TLS] = "for the TLS handshake",
	[SMTP_AUTH] = "to send AUTH",
	[SMTP_MAIL] = "to send MAIL FROM",
	[SMTP_RCPT] = "to send RCPT TO",
	[SMTP_DATA] = "to send DATA",
	[SMTP_BODY] = "to send the message data",
	[SMTP_END] = "to send the end of the data",
	[SMTP_RSET] = "to send RSET",
	[SMTP_QUIT] = "to send QUIT",
};

const char *
smtp_phase_name(enum smtp_phase phase)
{
	if ((unsigned)phase >= SMTP_NPHASES)
		return "?";
	return phase_names[phase];
}

/* Seconds a stage of phase ph may take: `timeout N`, else the default. */
static int
limit(const struct smtp *s, enum smtp_phase ph)
{
	return s->acct->timeout > 0 ? s->acct->timeout : default_timeout[ph];
}

int
smtp_data_seconds(int base, off_t octets)
{
	long long t;

	if (base <= 0)
		return 0;
	t = (long long)base;
	if (octets > 0)
		t += ((long long)octets + SMTP_DATA_RATE - 1) / SMTP_DATA_RATE;
	return t > SMTP_SECONDS_MAX ? SMTP_SECONDS_MAX : (int)t;
}

static const char *
host(const struct smtp *s)
{
	return s->acct->host;
}

/* Marks where an error happened (and the reply, if one is current). */
static int
at(struct err *e, enum smtp_phase ph)
{
	if (e->phase == 0)
		e->phase = (int)ph + 1;
	return -1;
}

/*
 * Queues one command.  With redact >= 0, the -v trace shows the line up
 * to that offset followed by "***".
 */
static int __attribute__((format(printf, 4, 5)))
cmd(struct smtp *s, int redact, struct err *e, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int r;

	/* An AUTH line must leave no copy behind when the buffer grows. */
	if (redact >= 0)
		buf_init_secret(&b, CMD_MAX + 2);
	else
		buf_init(&b, CMD_MAX + 2);
	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r == -1) {
		buf_wipe(&b);
		return err_set(e, ERR_SOFTWARE, "SMTP command too long");
	}
	if (s->verbose) {
		if (redact >= 0 && (size_t)redact <= b.len) {
			char shown[256];

			snprintf(shown, sizeof(shown), "%.*s***",
			    redact > 200 ? 200 : redact, b.data);
			log_trace(LOG_OUT, shown, strlen(shown));
		} else
			log_trace(LOG_OUT, b.data, b.len);
	}
	if (buf_add(&b, "\r\n", 2) == -1)
		r = err_set(e, ERR_SOFTWARE, "SMTP command too long");
	else if (redact >= 0)
		r = conn_write_secret(&s->conn, b.data, b.len, e);
	else
		r = conn_write(&s->conn, b.data, b.len, e);
	if (redact >= 0)
		buf_wipe(&b);
	else
		buf_release(&b);
	return r;
}

/*
 * Reads one reply as a stage of seconds (CONN_NOWAIT: only what has
 * arrived) for phase ph.
 */
static int
read_reply_in(struct smtp *s, enum smtp_phase ph, int seconds, struct err *e)
{
	const char *line;
	size_t len;
	int r;

	smtp_reply_reset(&s->reply);
	if (conn_stage(&s->conn, seconds, phase_reply[ph], e) == -1) {
		err_prefix(e, "%s (%s): ", host(s), smtp_phase_name(ph));
		return at(e, ph);
	}
	for (;;) {
		if (conn_getline(&s->conn, &line, &len, SMTP_REPLY_LINE_MAX,
		    e) == -1) {
			err_prefix(e, "%s (%s): ", host(s),
			    smtp_phase_name(ph));
			return at(e, ph);
		}
		if (s->verbose)
			log_trace(LOG_IN, line, len);
		r = smtp_reply_push(&s->reply, line, len, e);
		if (r == -1) {
			err_prefix(e, "%s sent a malformed reply (%s): ",
			    host(s), smtp_phase_name(ph));
			return at(e, ph);
		}
		if (r == 1)
			return 0;
	}
}

/* Reads one reply within the phase's limit. */
static int
read_reply(struct smtp *s, enum smtp_phase ph, struct err *e)
{
	return read_reply_in(s, ph, limit(s, ph), e);
}

/* After the last reply a step expects, nothing more may be waiting. */
static int
no_trailing(struct smtp *s, enum smtp_phase ph, struct err *e)
{
	if (conn_buffered(&s->conn) == 0)
		return 0;
	err_set(e, ERR_PROTOCOL, "%s sent %zu unexpected bytes after its "
	    "reply to %s", host(s), conn_buffered(&s->conn),
	    smtp_phase_name(ph));
	return at(e, ph);
}

/*
 * Fills e from the current reply: 4xx is temporary, 5xx is perm (the
 * kind the caller says), anything else a protocol error.  The text is
 * what (printf-style), a colon and the reply.
 */
static int __attribute__((format(printf, 5, 6)))
reply_error(struct smtp *s, enum smtp_phase ph, enum err_kind perm,
    struct err *e, const char *what, ...)
{
	enum err_kind kind;
	struct buf text;
	va_list ap;
	char *one;

	switch (SMTP_REPLY_CLASS(&s->reply)) {
	case 4:
		kind = ERR_TEMP;
		break;
	case 5:
		kind = perm;
		break;
	default:
		kind = ERR_PROTOCOL;
		break;
	}
	buf_init(&text, 0);
	va_start(ap, what);
	buf_vprintf(&text, what, ap);
	va_end(ap);
	one = smtp_reply_line(&s->reply);
	err_set(e, kind, "%s: %s", buf_str(&text), one);
	free(one);
	buf_release(&text);
	e->reply = s->reply.code;
	snprintf(e->status, sizeof(e->status), "%s", s->reply.status);
	e->phase = (int)ph + 1;
	return -1;
}

static int
flush(struct smtp *s, enum smtp_phase ph, struct err *e)
{
	if (conn_stage(&s->conn, limit(s, ph), phase_send[ph], e) == -1 ||
	    conn_flush(&s->conn, e) == -1) {
		err_prefix(e, "%s (%s): ", host(s), smtp_phase_name(ph));
		return at(e, ph);
	}
	return 0;
}

/* ------------------------------------------------------ session */

/* The account's TLS settings, for the handshake. */
static void
tls_params_of(const struct smtp *s, struct tls_params *p)
{
	const struct account *a = s->acct;

	memset(p, 0, sizeof(*p));
	p->host = a->tls_host_override ? a->tls_host_override : a->host;
	p->trust_file = a->tls_trust_file;
	p->crl_file = a->tls_crl_file;
	p->certcheck = a->tls_certcheck;
	if (a->tls_fingerprint_len > 0) {
		p->fingerprint = a->tls_fingerprint;
		p->fingerprint_len = a->tls_fingerprint_len;
	}
	p->cert_file = a->tls_cert_file;
	p->key_file = a->tls_key_file;
	p->cert_pem = a->tls_cert_pem;
	p->cert_pem_len = a->tls_cert_pem_len;
	p->key_pem = a->tls_key_pem;
	p->key_pem_len = a->tls_key_pem_len;
	p->priorities = a->tls_priorities;
	p->min_dh_bits = (unsigned)a->tls_min_dh_prime_bits;
	p->timeout = limit(s, SMTP_TLS);
}

static void
note_tls(struct smtp *s)
{
	char *note;

	s->tls = 1;
	if (s->verbose) {
		note = xasprintf("TLS started (%s)", tls_version(s->conn.tls) ?
		    tls_version(s->conn.tls) : "?");
		log_trace(LOG_NOTE, note, strlen(note));
		free(note);
	}
}

static int
start_tls(struct smtp *s, struct err *e)
{
	struct tls_params p;

	tls_params_of(s, &p);
	if (conn_starttls(&s->conn, &p, e) == -1)
		return at(e, SMTP_TLS);
	note_tls(s);
	return 0;
}

static int
ehlo(struct smtp *s, struct err *e)
{
	const struct account *a = s->acct;
	const char *domain = a->domain ? a->domain : "localhost";
	const char *nl;
	int lmtp = a->protocol == PROTO_LMTP;

	/* LMTP (RFC 2033 4.1): LHLO in place of EHLO, and no HELO. */
	if (cmd(s, -1, e, "%s %s", lmtp ? "LHLO" : "EHLO", domain) == -1 ||
	    flush(s, SMTP_EHLO, e) == -1 || read_reply(s, SMTP_EHLO, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) == 2) {
		smtp_caps_parse(&s->reply, &s->caps);
		free(s->ehlo_text);
		nl = strchr(buf_str(&s->reply.text), '\n');
		s->ehlo_text = xstrdup(nl ? nl + 1 : "");
		return no_trailing(s, SMTP_EHLO, e);
	}
	if (SMTP_REPLY_CLASS(&s->reply) != 5 || lmtp)
		return reply_error(s, SMTP_EHLO, ERR_UNAVAILABLE, e,
		    "%s refused", lmtp ? "LHLO" : "EHLO");
	/* An old server: HELO, and none of the extensions. */
	if ((a->tls && a->tls_starttls && !s->tls) || a->auth)
		return reply_error(s, SMTP_EHLO, ERR_UNAVAILABLE, e,
		    "the server does not speak ESMTP (needed for STARTTLS and "
		    "AUTH); EHLO refused");
	if (cmd(s, -1, e, "HELO %s", domain) == -1 ||
	    flush(s, SMTP_EHLO, e) == -1 || read_reply(s, SMTP_EHLO, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) != 2)
		return reply_error(s, SMTP_EHLO, ERR_UNAVAILABLE, e,
		    "HELO refused");
	memset(&s->caps, 0, sizeof(s->caps));
	return no_trailing(s, SMTP_EHLO, e);
}

static int
starttls(struct smtp *s, struct err *e)
{
	if (!(s->caps.flags & CAP_STARTTLS)) {
		err_set(e, ERR_UNAVAILABLE, "%s does not offer STARTTLS; not "
		    "sending in clear (say 'tls off' in the configuration to "
		    "allow that)", host(s));
		return at(e, SMTP_STARTTLS);
	}
	if (cmd(s, -1, e, "STARTTLS") == -1 ||
	    flush(s, SMTP_STARTTLS, e) == -1 ||
	    read_reply(s, SMTP_STARTTLS, e) == -1)
		return -1;
	if (s->reply.code != 220)
		return reply_error(s, SMTP_STARTTLS, ERR_UNAVAILABLE, e,
		    "STARTTLS refused");
	if (conn_buffered(&s->conn) > 0) {
		err_set(e, ERR_PROTOCOL, "%s sent data after its 220 reply to "
		    "STARTTLS, before the TLS handshake (a response injection "
		    "attempt?); connection closed, nothing sent", host(s));
		return at(e, SMTP_STARTTLS);
	}
	if (start_tls(s, e) == -1)
		return -1;
	memset(&s->caps, 0, sizeof(s->caps));
	return ehlo(s, e);
}

static int
authenticate(struct smtp *s, struct err *e)
{
	struct auth *as = NULL;
	char *out = NULL, *pending = NULL;
	const char *mech;
	int steps, rv = -1;
	size_t prefix;

	if (!(s->caps.flags & CAP_AUTH)) {
		err_set(e, ERR_UNAVAILABLE, "%s does not offer AUTH, but the "
		    "account says auth on", host(s));
		return at(e, SMTP_AUTH);
	}
	if (s->caps.auth_overflow) {
		err_set(e, ERR_PROTOCOL, "%s offers more AUTH mechanisms than "
		    "posthorn accepts (%zu bytes of names)", host(s),
		    sizeof(s->caps.auth) - 1);
		return at(e, SMTP_AUTH);
	}
	if (auth_begin(&as, s->acct, s->caps.auth, &s->conn, e) == -1)
		return at(e, SMTP_AUTH);
	mech = auth_mech(as);
	err_clear(e);
	out = auth_initial(as, e);
	if (out == NULL && e->kind != ERR_NONE)
		goto done;
	prefix = strlen("AUTH ") + strlen(mech) + 1;
	if (out != NULL && strlen(out) > AUTH_IR_MAX) {
		pending = out;
		out = NULL;
	}
	if (out != NULL)
		rv = cmd(s, (int)prefix, e, "AUTH %s %s", mech, out);
	else
		rv = cmd(s, -1, e, "AUTH %s", mech);
	wipe_free(out);
	out = NULL;
	if (rv == -1 || flush(s, SMTP_AUTH, e) == -1) {
		rv = -1;
		goto done;
	}
	rv = -1;
	for (steps = 0; steps < AUTH_STEPS_MAX; steps++) {
		if (read_reply(s, SMTP_AUTH, e) == -1)
			goto done;
		if (s->reply.code == 235) {
			if (str_prefix(mech, "SCRAM-") && !auth_complete(as)) {
				err_set(e, ERR_PROTOCOL, "%s accepted %s "
				    "without proving that it knows the "
				    "password", host(s), mech);
				at(e, SMTP_AUTH);
				goto done;
			}
			free(s->auth_mech);
			s->auth_mech = xstrdup(mech);
			rv = no_trailing(s, SMTP_AUTH, e);
			goto done;
		}
		if (s->reply.code != 334) {
			reply_error(s, SMTP_AUTH, ERR_NOPERM, e,
			    "authentication (%s) failed at %s", mech, host(s));
			if (SMTP_REPLY_CLASS(&s->reply) == 2 ||
			    SMTP_REPLY_CLASS(&s->reply) == 3)
				e->kind = ERR_PROTOCOL;
			goto done;
		}
		if (pending != NULL) {
			out = pending;
			pending = NULL;
		} else if (auth_step(as, buf_str(&s->reply.text), &out,
		    e) == -1) {
			/* Cancel the exchange, then report. */
			struct err ignore;

			cmd(s, -1, &ignore, "*");
			flush(s, SMTP_AUTH, &ignore);
			read_reply(s, SMTP_AUTH, &ignore);
			err_prefix(e, "%s: ", host(s));
			at(e, SMTP_AUTH);
			goto done;
		}
		rv = cmd(s, 0, e, "%s", out);
		wipe_free(out);
		out = NULL;
		if (rv == -1 || flush(s, SMTP_AUTH, e) == -1) {
			rv = -1;
			goto done;
		}
		rv = -1;
	}
	err_set(e, ERR_PROTOCOL, "%s: AUTH exchange did not end", host(s));
	at(e, SMTP_AUTH);
done:
	wipe_free(out);
	wipe_free(pending);
	auth_end(as);
	return rv;
}

/*
 * AUTH; when the server refuses an OAuth2 token that posthorn believed
 * valid, the token is renewed and AUTH tried once more, in the same
 * session.
 */
static int
authenticate_once_more(struct smtp *s, struct err *e)
{
	if (authenticate(s, e) == 0)
		return 0;
	if (!auth_renewable(s->acct, e) || !s->conn.t)
		return -1;
	if (auth_renew(s->acct, e) == -1)
		return at(e, SMTP_AUTH);
	return authenticate(s, e);
}

/* The progress line hears about long waits. */
static void
waiting(void *arg, const char *what, long long waited, int lim)
{
	struct smtp *s = arg;

	progress_wait(s->progress, what, waited, lim);
}

/* A fresh session object for account a, not connected yet. */
static void
begin(struct smtp *s, const struct account *a, int verbose, struct err *e)
{
	memset(s, 0, sizeof(*s));
	conn_init(&s->conn);
	smtp_reply_init(&s->reply);
	err_clear(e);
	s->acct = a;
	s->verbose = verbose;
	/* The -v trace has the terminal; the progress line stays away. */
	s->progress = verbose ? NULL : progress_new(2);
	conn_on_wait(&s->conn, waiting, s);
	conn_session(&s->conn, a->session_timeout);
}

/* Connected (and with implicit TLS, encrypted): greeting to AUTH. */
static int
greet(struct smtp *s, struct err *e)
{
	const struct account *a = s->acct;

	if (read_reply(s, SMTP_GREETING, e) == -1)
		goto fail;
	s->greeting = smtp_reply_line(&s->reply);
	if (s->reply.code != 220) {
		reply_error(s, SMTP_GREETING, ERR_UNAVAILABLE, e,
		    "the server refused the connection");
		if (SMTP_REPLY_CLASS(&s->reply) == 2)
			e->kind = ERR_PROTOCOL;
		goto fail;
	}
	if (no_trailing(s, SMTP_GREETING, e) == -1 || ehlo(s, e) == -1)
		goto fail;
	if (a->tls && a->tls_starttls && starttls(s, e) == -1)
		goto fail;
	if (a->auth && authenticate_once_more(s, e) == -1)
		goto fail;
	s->open = 1;
	return 0;
fail:
	/* Say goodbye when the dialogue is still in step. */
	s->open = e->reply != 0 && e->kind != ERR_PROTOCOL;
	smtp_close(s);
	return -1;
}

/* The setgid run could not read this account's secret: not used. */
static int
unusable_account(struct smtp *s, const struct account *a, struct err *e)
{
	err_set(e, ERR_CONFIG, "%s", a->secret_error);
	smtp_close(s);
	return at(e, SMTP_CONNECT);
}

int
smtp_open(struct smtp *s, const struct account *a, int verbose,
    struct err *e)
{
	struct conn_dial d;
	struct tls_params p;
	char *note;

	begin(s, a, verbose, e);
	if (a->secret_error != NULL)
		return unusable_account(s, a, e);
	if (a->socket == NULL && (a->host == NULL || a->host[0] == '\0')) {
		err_set(e, ERR_CONFIG, "no host in account '%s'",
		    a->name ? a->name : "");
		smtp_close(s);
		return at(e, SMTP_CONNECT);
	}
	if (a->socket != NULL && a->tls && a->tls_certcheck &&
	    a->tls_fingerprint_len == 0 && a->host == NULL &&
	    a->tls_host_override == NULL) {
		err_set(e, ERR_CONFIG, "account '%s' uses TLS over socket '%s' "
		    "but names no host to check the certificate against "
		    "(host or tls_host_override)", a->name ? a->name : "",
		    a->socket);
		smtp_close(s);
		return at(e, SMTP_CONNECT);
	}
	memset(&d, 0, sizeof(d));
	d.host = a->host;
	d.port = conf_port(a);
	d.source_ip = a->source_ip;
	d.unix_path = a->socket;
	d.proxy_host = a->proxy_host;
	d.proxy_port = a->proxy_port;
	d.proxy_user = a->proxy_user;
	d.proxy_password = a->proxy_password;
	d.connect_timeout = limit(s, SMTP_CONNECT);
	if (conn_dial(&s->conn, &d, e) == -1) {
		at(e, SMTP_CONNECT);
		smtp_close(s);
		return -1;
	}
	if (verbose) {
		if (a->socket != NULL)
			note = xasprintf("connected to socket %s", a->socket);
		else
			note = xasprintf("connected to %s port %d (%s)",
			    a->host, d.port, s->conn.peer);
		log_trace(LOG_NOTE, note, strlen(note));
		free(note);
	}
	if (a->tls && !a->tls_starttls) {
		tls_params_of(s, &p);
		if (conn_starttls(&s->conn, &p, e) == -1) {
			at(e, SMTP_TLS);
			smtp_close(s);
			return -1;
		}
		note_tls(s);
	}
	return greet(s, e);
}

int
smtp_open_on(struct smtp *s, const struct account *a, struct transport *t,
    int verbose, struct err *e)
{
	begin(s, a, verbose, e);
	conn_attach(&s->conn, t);
	if (a->secret_error != NULL)
		return unusable_account(s, a, e);
	if (a->tls && !a->tls_starttls && start_tls(s, e) == -1) {
		smtp_close(s);
		return -1;
	}
	return greet(s, e);
}

/* ------------------------------------------------------ messages */

/*
 * The address as it goes on the wire: as is when the server takes
 * SMTPUTF8 (or it is ASCII), else with A-label domains.  Caller frees.
 */
static int
wire_addr(struct smtp *s, const struct envelope *env, const char *addr,
    char **out, struct err *e)
{
	if (!addr_is_utf8(addr) || (env->smtputf8 &&
	    (s->caps.flags & CAP_SMTPUTF8))) {
		*out = xstrdup(addr);
		return 0;
	}
	if (addr_to_ascii(addr, out, e) == -1) {
		err_prefix(e, "%s does not offer SMTPUTF8: ", host(s));
		return -1;
	}
	return 0;
}

/* A command that would be longer than CMD_MAX: refused, never cut. */
static int
too_long(const char *what, const char *addr, struct err *e)
{
	return err_set(e, ERR_DATA, "the %s command for <%.60s%s> would be "
	    "longer than %d bytes; nothing was sent", what, addr,
	    strlen(addr) > 60 ? "..." : "", CMD_MAX);
}

/*
 * MAIL FROM with the parameters the server offers and the message needs,
 * into b (empty, capped at CMD_MAX without the line end).  0 or -1.
 */
static int
mail_line(struct smtp *s, const struct envelope *env, off_t size,
    struct buf *b, struct err *e)
{
	char *addr;
	int r = 0;

	if (wire_addr(s, env, env->sender, &addr, e) == -1)
		return -1;
	r |= buf_printf(b, "MAIL FROM:<%s>", addr);
	free(addr);
	if (s->caps.flags & CAP_SIZE)
		r |= buf_printf(b, " SIZE=%lld", (long long)size);
	if (env->body == BODY_8BITMIME && (s->caps.flags & CAP_8BITMIME))
		r |= buf_adds(b, " BODY=8BITMIME");
	if (env->smtputf8 && (s->caps.flags & CAP_SMTPUTF8))
		r |= buf_adds(b, " SMTPUTF8");
	if (s->caps.flags & CAP_DSN) {
		if (env->dsn_ret != NULL)
			r |= buf_printf(b, " RET=%s", env->dsn_ret);
		if (env->dsn_envid != NULL) {
			r |= buf_adds(b, " ENVID=");
			r |= str_xtext_encode(b, env->dsn_envid);
		}
	}
	if (r != 0)
		return too_long("MAIL FROM", env->sender, e);
	return 0;
}

/* RCPT TO for rc into b, as mail_line.  An empty address is refused. */
static int
rcpt_line(struct smtp *s, const struct envelope *env, const struct rcpt *rc,
    struct buf *b, struct err *e)
{
	char *addr;
	int r = 0;

	if (rc->addr == NULL || rc->addr[0] == '\0')
		return err_set(e, ERR_DATA, "a recipient address is empty; "
		    "nothing was sent");
	if (wire_addr(s, env, rc->addr, &addr, e) == -1)
		return -1;
	r |= buf_printf(b, "RCPT TO:<%s>", addr);
	free(addr);
	if ((s->caps.flags & CAP_DSN) && (rc->notify || rc->orcpt)) {
		if (rc->notify != NULL)
			r |= buf_printf(b, " NOTIFY=%s", rc->notify);
		r |= buf_adds(b, " ORCPT=rfc822;");
		r |= str_xtext_encode(b, rc->orcpt ? rc->orcpt : rc->addr);
	}
	if (r != 0)
		return too_long("RCPT TO", rc->addr, e);
	return 0;
}

/* Queues MAIL FROM (or, rc not NULL, RCPT TO for rc).  0 or -1. */
static int
envelope_cmd(struct smtp *s, const struct envelope *env,
    const struct rcpt *rc, off_t size, struct err *e)
{
	struct buf b;
	int r;

	buf_init(&b, CMD_MAX);
	r = rc == NULL ? mail_line(s, env, size, &b, e) :
	    rcpt_line(s, env, rc, &b, e);
	if (r == 0)
		r = cmd(s, -1, e, "%s", buf_str(&b));
	buf_release(&b);
	return r;
}

/*
 * Records the reply to RCPT for rc (capped for the queue's envelope, the
 * cut marked).  Only 2xx, 4xx and 5xx answer RCPT; anything else is
 * ERR_PROTOCOL.  0 or -1.
 */
static int
record_rcpt(struct smtp *s, struct rcpt *rc, struct err *e)
{
	char one[768];
	int cls = SMTP_REPLY_CLASS(&s->reply);

	if (cls != 2 && cls != 4 && cls != 5)
		return reply_error(s, SMTP_RCPT, ERR_PROTOCOL, e, "%s answered "
		    "RCPT TO:<%s> with", host(s), rc->addr);
	smtp_reply_oneline(&s->reply, one, sizeof(one));
	rc->code = s->reply.code;
	envelope_set(&rc->reply, one);
	if (cls == 5)
		rc->state = RCPT_FAILED;
	return 0;
}

/*
 * The error when no recipient was accepted: 67 when every one got a 5xx;
 * 75, naming a deferred one, when some got a 4xx (they are retried).
 */
static int
no_recipient(struct smtp *s, struct envelope *env, size_t first_bad,
    struct err *e)
{
	struct rcpt *rc = &env->rcpt[first_bad];
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == RCPT_PENDING &&
		    env->rcpt[i].code / 100 == 4) {
			rc = &env->rcpt[i];
			break;
		}
	err_set(e, rc->state == RCPT_PENDING ? ERR_TEMP : ERR_NOUSER,
	    "recipient <%s> %s by %s: %s", rc->addr,
	    rc->state == RCPT_PENDING ? "deferred" : "rejected", host(s),
	    rc->reply ? rc->reply : "");
	e->reply = rc->code;
	e->phase = SMTP_RCPT + 1;
	return -1;
}

/* Where body bytes go: dot-stuffed (DATA) or as they are (BDAT). */
struct body_out {
	struct smtp	*s;
	int		 stuff;
	int		 bol;		/* the next byte starts a line */
	off_t		 sent;
};

static int
body_put(struct body_out *o, const char *p, size_t n, struct err *e)
{
	const char *end = p + n, *q, *nl;

	o->sent += (off_t)n;
	progress_update(o->s->progress, o->sent);
	if (!o->stuff || n == 0)
		return conn_write(&o->s->conn, p, n, e);
	/* One write per span between lines that start with a dot. */
	while (p < end) {
		if (o->bol && *p == '.' &&
		    conn_write(&o->s->conn, ".", 1, e) == -1)
			return -1;
		for (q = p;; q = nl + 1) {
			nl = memchr(q, '\n', (size_t)(end - q));
			if (nl == NULL || nl + 1 == end) {
				o->bol = nl != NULL;
				return conn_write(&o->s->conn, p,
				    (size_t)(end - p), e);
			}
			if (nl[1] == '.')
				break;
		}
		if (conn_write(&o->s->conn, p, (size_t)(nl + 1 - p), e) == -1)
			return -1;
		o->bol = 1;
		p = nl + 1;
	}
	return 0;
}

static int
dg_emit(void *arg, const char *p, size_t n, struct err *e)
{
	return body_put(arg, p, n, e);
}

/*
 * Streams the stored message: dot-stuffed unless chunked, and through the
 * 7-bit downgrade when plan is given (the server lacks 8BITMIME).  The
 * whole transfer is one stage: the phase's limit plus a second for every
 * SMTP_DATA_RATE octets, and the session's deadline moves by as much.
 * With watch, input from the server ends it (conn_early).  -1 leaves e
 * for data_failed.
 */
static int
send_body(struct smtp *s, int fd, off_t size, int stuff,
    const struct mime_dg_plan *plan, off_t wire_size, int watch,
    struct err *e)
{
	struct body_out o = { s, stuff, 1, 0 };
	struct mime_dg *dg = NULL;
	char *buf;
	off_t off = 0;
	ssize_t n;
	int rv = -1, secs;

	secs = smtp_data_seconds(limit(s, SMTP_BODY), wire_size);
	conn_session_extend(&s->conn, secs - limit(s, SMTP_BODY));
	if (conn_stage(&s->conn, secs, phase_send[SMTP_BODY], e) == -1)
		return at(e, SMTP_BODY);
	conn_watch(&s->conn, watch);
	buf = xmalloc(BODY_CHUNK);
	progress_start(s->progress, wire_size);
	if (plan != NULL)
		dg = mime_dg_converter(plan, dg_emit, &o);
	while (off < size) {
		size_t want = size - off > BODY_CHUNK ? BODY_CHUNK :
		    (size_t)(size - off);

		n = pread(fd, buf, want, off);
		if (n <= 0) {
			err_set(e, ERR_IO, "cannot read the queued message: %s",
			    n == 0 ? "file is shorter than its envelope says" :
			    strerror(errno));
			at(e, SMTP_BODY);
			goto out;
		}
		off += n;
		if ((dg != NULL ? mime_dg_feed(dg, buf, (size_t)n, e) :
		    body_put(&o, buf, (size_t)n, e)) == -1)
			goto out;
	}
	if (dg != NULL && mime_dg_finish(dg, e) == -1)
		goto out;
	if (stuff && !o.bol && conn_write(&s->conn, "\r\n", 2, e) == -1)
		goto out;
	if (!stuff && o.sent != wire_size) {
		err_set(e, ERR_SOFTWARE, "the message changed size while it "
		    "was sent (%lld octets, %lld announced)", (long long)o.sent,
		    (long long)wire_size);
		at(e, SMTP_BODY);
		goto out;
	}
	if (s->verbose) {
		char *note = xasprintf("[message: %lld octets%s]",
		    (long long)o.sent, plan != NULL ?
		    ", 8-bit parts converted to quoted-printable" : "");

		log_trace(LOG_OUT, note, strlen(note));
		free(note);
	}
	rv = 0;
out:
	progress_end(s->progress);
	mime_dg_free(dg);
	free(buf);
	return rv;
}

/*
 * The end of the data, still within send_body's stage: the final dot
 * (DATA), QUIT when it rides along, and everything still queued.
 */
static int
end_data(struct smtp *s, int dot, int quit, struct err *e)
{
	int r = 0;

	if (dot) {
		if (s->verbose)
			log_trace(LOG_OUT, ".", 1);
		r = conn_write(&s->conn, ".\r\n", 3, e);
	}
	if (r == 0 && quit && cmd(s, -1, e, "QUIT") == 0)
		s->quit_sent = 1;
	if (r == 0)
		r = conn_flush(&s->conn, e);
	conn_watch(&s->conn, 0);
	return r;
}

/*
 * The data did not reach its end: the server said something before it
 * (conn_early), or the connection broke under a write; a server that
 * refuses a message in the middle often replies and closes.  A reply
 * that is there (or, when the server spoke first, that arrives within
 * the phase's limit) is the answer to the data: 5xx refuses the message
 * for good, 4xx defers it, anything else breaks the protocol.  Without
 * one, the failure stays what it was.  The session is out of step
 * either way and is not used again.  Always -1.
 */
static int
data_failed(struct smtp *s, struct err *e)
{
	struct err re;
	int early = conn_early(&s->conn);

	conn_watch(&s->conn, 0);
	if (!early && (e->kind != ERR_TEMP || s->conn.t == NULL)) {
		/* Not the connection: a local read error, say. */
		if (e->phase == 0)
			err_prefix(e, "%s (message data): ", host(s));
		return at(e, SMTP_BODY);
	}
	/* Nothing more is said on this session, not even QUIT. */
	s->open = 0;
	s->quit_sent = 0;
	err_clear(&re);
	if (read_reply_in(s, SMTP_BODY, early ? limit(s, SMTP_END) :
	    CONN_NOWAIT, &re) == -1) {
		if (early)
			*e = re;
		else {
			e->phase = 0;
			err_prefix(e, "%s (message data): ", host(s));
		}
		if (e->kind != ERR_PROTOCOL)
			e->kind = ERR_TEMP;
		e->phase = SMTP_BODY + 1;
		return -1;
	}
	switch (SMTP_REPLY_CLASS(&s->reply)) {
	case 4:
	case 5:
		return reply_error(s, SMTP_BODY, ERR_UNAVAILABLE, e,
		    "message refused by %s during the data", host(s));
	default:
		return reply_error(s, SMTP_BODY, ERR_PROTOCOL, e,
		    "%s sent a reply during the data, before its end",
		    host(s));
	}
}

static int
rset(struct smtp *s, struct err *e)
{
	if (cmd(s, -1, e, "RSET") == -1 || flush(s, SMTP_RSET, e) == -1 ||
	    read_reply(s, SMTP_RSET, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) != 2)
		return reply_error(s, SMTP_RSET, ERR_TEMP, e, "RSET refused");
	s->need_rset = 0;
	return no_trailing(s, SMTP_RSET, e);
}

/*
 * LMTP (RFC 2033 4.2): after the end of the data, one reply for each
 * recipient the server accepted, in the order of the RCPT commands.
 * Each is recorded as a reply to that recipient's RCPT would be: 2xx
 * delivered, 5xx refused for good, 4xx left pending (queued), so the
 * exit status, the summary, --json and the queue treat a recipient the
 * delivery agent refused after the data exactly as one refused at RCPT.
 * A connection lost part-way leaves the recipients not yet answered
 * pending with no code (another attempt may deliver a second copy to
 * them: a duplicate is better than a loss).  0 when at least one was
 * delivered; -1 as no_recipient (phase: the end of the data) when none
 * was, or as the lost connection when nobody answered at all.
 */
static int
lmtp_end(struct smtp *s, struct envelope *env, struct err *e)
{
	char one[768];
	struct rcpt *rc;
	size_t i, done = 0, answered = 0, first_bad = (size_t)-1;
	int cls;

	for (i = 0; i < env->nrcpt; i++) {
		rc = &env->rcpt[i];
		if (rc->state != RCPT_PENDING || rc->code / 100 != 2)
			continue;
		if (read_reply(s, SMTP_END, e) == -1)
			goto lost;
		cls = SMTP_REPLY_CLASS(&s->reply);
		if (cls != 2 && cls != 4 && cls != 5) {
			reply_error(s, SMTP_END, ERR_PROTOCOL, e, "%s answered "
			    "the data for <%s> with", host(s), rc->addr);
			goto lost;
		}
		answered++;
		smtp_reply_oneline(&s->reply, one, sizeof(one));
		rc->code = s->reply.code;
		envelope_set(&rc->reply, one);
		if (cls == 2) {
			rc->state = RCPT_DONE;
			done++;
			continue;
		}
		if (cls == 5)
			rc->state = RCPT_FAILED;
		if (first_bad == (size_t)-1)
			first_bad = i;
	}
	s->need_rset = 0;
	if (done == 0) {
		no_recipient(s, env, first_bad, e);
		e->phase = SMTP_END + 1;
		return -1;
	}
	s->nmsgs++;
	if (!s->quit_sent && no_trailing(s, SMTP_END, e) == -1) {
		s->open = 0;
		smtp_close(s);
	}
	err_clear(e);
	return 0;

lost:
	s->open = 0;
	if (e->kind != ERR_PROTOCOL)
		e->kind = ERR_TEMP;
	/* Those not answered yet: nobody knows; they stay pending. */
	for (; i < env->nrcpt; i++) {
		rc = &env->rcpt[i];
		if (rc->state != RCPT_PENDING || rc->code / 100 != 2)
			continue;
		rc->code = 0;
		envelope_set(&rc->reply, "no reply after the end of the data "
		    "(LMTP); may or may not have been delivered");
	}
	if (done > 0) {
		s->nmsgs++;
		err_clear(e);
		return 0;
	}
	if (answered == 0)
		err_prefix(e, "no reply after the end of the data, so the "
		    "message may or may not have been delivered; it is kept "
		    "for another attempt: ");
	return -1;
}

int
smtp_noop(struct smtp *s, struct err *e)
{
	err_clear(e);
	if (!s->open)
		return err_set(e, ERR_TEMP, "SMTP session not open");
	conn_session(&s->conn, s->acct->session_timeout);
	if (cmd(s, -1, e, "NOOP") == -1 || flush(s, SMTP_RSET, e) == -1 ||
	    read_reply(s, SMTP_RSET, e) == -1) {
		s->open = 0;
		return -1;
	}
	if (SMTP_REPLY_CLASS(&s->reply) != 2) {
		s->open = 0;
		return reply_error(s, SMTP_RSET, ERR_TEMP, e, "NOOP refused");
	}
	return no_trailing(s, SMTP_RSET, e);
}

/*
 * One transaction while send_message runs it: what goes to the server
 * and what its replies have said so far.
 */
struct txn {
	struct smtp		*s;
	struct envelope		*env;
	int			 fd;
	int			 last;		/* no message follows: QUIT */
	const struct mime_dg_plan *plan;
	off_t			 wire_size;
	int			 pipelining;
	int			 chunking;
	int			 one_batch;	/* envelope and data, one write */
	size_t			 accepted;	/* recipients taken */
	size_t			 first_bad;	/* first refused, or (size_t)-1 */
	struct err		 mail_err;	/* a pipelined MAIL's refusal */
};

/* What a transaction does next. */
enum txn_step {
	TXN_FAILED,		/* the error is set */
	TXN_DATA,		/* the envelope went through: the data next */
	TXN_BODY,		/* DATA got its 354: the body */
	TXN_LMTP,		/* the body went: one reply per recipient */
	TXN_END_REPLY,		/* the reply to the end of the data is in */
	TXN_LOST,		/* no reply after the end of the data */
	TXN_ABANDON		/* a 354 nobody wants: end the data empty */
};

/*
 * Before anything is queued: the session is clean, the message fits the
 * server's SIZE, and every command of the envelope can be expressed
 * (addresses, lengths): a refusal half-way would leave half an envelope
 * in the output buffer.
 */
static int
txn_check(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;
	struct envelope *env = t->env;
	struct buf b;
	size_t i;
	int rv = 0;

	if (s->need_rset && rset(s, e) == -1)
		return -1;
	if ((s->caps.flags & CAP_SIZE) && s->caps.size_max > 0 &&
	    (unsigned long long)t->wire_size > s->caps.size_max) {
		err_set(e, ERR_UNAVAILABLE, "the message is %lld octets; %s "
		    "accepts at most %llu", (long long)t->wire_size, host(s),
		    s->caps.size_max);
		return at(e, SMTP_MAIL);
	}
	buf_init(&b, CMD_MAX);
	if (mail_line(s, env, t->wire_size, &b, e) == -1)
		rv = at(e, SMTP_MAIL);
	for (i = 0; rv == 0 && i < env->nrcpt; i++) {
		if (env->rcpt[i].state != RCPT_PENDING)
			continue;
		buf_reset(&b);
		if (rcpt_line(s, env, &env->rcpt[i], &b, e) == -1)
			rv = at(e, SMTP_RCPT);
	}
	buf_release(&b);
	return rv;
}

/* Counts the reply just read to recipient i's RCPT. */
static void
txn_count(struct txn *t, size_t i)
{
	if (SMTP_REPLY_CLASS(&t->s->reply) == 2)
		t->accepted++;
	else if (t->first_bad == (size_t)-1)
		t->first_bad = i;
}

/*
 * MAIL and an RCPT per pending recipient.  Without PIPELINING each reply
 * is read as it comes; with it the commands are only queued.
 */
static int
txn_envelope(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;
	struct envelope *env = t->env;
	size_t i;

	if (envelope_cmd(s, env, NULL, t->wire_size, e) == -1)
		return at(e, SMTP_MAIL);
	if (!t->pipelining) {
		if (flush(s, SMTP_MAIL, e) == -1 ||
		    read_reply(s, SMTP_MAIL, e) == -1)
			return -1;
		if (SMTP_REPLY_CLASS(&s->reply) != 2)
			return reply_error(s, SMTP_MAIL, ERR_UNAVAILABLE, e,
			    "sender <%s> rejected by %s", env->sender,
			    host(s));
		if (no_trailing(s, SMTP_MAIL, e) == -1)
			return -1;
	}
	s->need_rset = 1;
	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state != RCPT_PENDING)
			continue;
		if (envelope_cmd(s, env, &env->rcpt[i], 0, e) == -1)
			return at(e, SMTP_RCPT);
		if (t->pipelining)
			continue;
		if (flush(s, SMTP_RCPT, e) == -1 ||
		    read_reply(s, SMTP_RCPT, e) == -1 ||
		    no_trailing(s, SMTP_RCPT, e) == -1 ||
		    record_rcpt(s, &env->rcpt[i], e) == -1)
			return -1;
		txn_count(t, i);
	}
	return 0;
}

/*
 * A small message rides in the same write as its pipelined envelope:
 * BDAT LAST with the whole message (and QUIT when it is the last), or
 * DATA.
 */
static int
txn_batch(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;

	if (!t->chunking)
		return cmd(s, -1, e, "DATA") == -1 ? at(e, SMTP_DATA) : 0;
	/* No watch: replies to MAIL and RCPT may arrive while the chunk is
	   still being written. */
	if (cmd(s, -1, e, "BDAT %lld LAST", (long long)t->wire_size) == -1 ||
	    send_body(s, t->fd, t->env->size, 0, t->plan, t->wire_size, 0,
	    e) == -1)
		return at(e, SMTP_DATA);
	if (t->last && cmd(s, -1, e, "QUIT") == 0)
		s->quit_sent = 1;
	return 0;
}

/*
 * The pipelined replies to MAIL and to each RCPT.  A refused MAIL is
 * kept in mail_err: the RCPT replies after it are read but mean nothing.
 */
static int
txn_replies(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;
	struct envelope *env = t->env;
	size_t i;

	if (flush(s, SMTP_MAIL, e) == -1 ||
	    read_reply(s, SMTP_MAIL, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) != 2)
		reply_error(s, SMTP_MAIL, ERR_UNAVAILABLE, &t->mail_err,
		    "sender <%s> rejected by %s", env->sender, host(s));
	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state != RCPT_PENDING)
			continue;
		if (read_reply(s, SMTP_RCPT, e) == -1)
			return -1;
		if (t->mail_err.kind != ERR_NONE)
			continue;
		if (record_rcpt(s, &env->rcpt[i], e) == -1)
			return -1;
		txn_count(t, i);
	}
	return 0;
}

/* The envelope's outcome when the data was not in the same write. */
static enum txn_step
txn_envelope_end(struct txn *t, struct err *e)
{
	if (t->mail_err.kind != ERR_NONE) {
		*e = t->mail_err;
		return TXN_FAILED;
	}
	if (t->pipelining && no_trailing(t->s, SMTP_RCPT, e) == -1)
		return TXN_FAILED;
	if (t->accepted == 0) {
		no_recipient(t->s, t->env, t->first_bad, e);
		return TXN_FAILED;
	}
	return TXN_DATA;
}

/* The reply to DATA: 354 lets the body go. */
static enum txn_step
txn_go_ahead(struct smtp *s, struct err *e)
{
	if (s->reply.code != 354) {
		reply_error(s, SMTP_DATA, ERR_UNAVAILABLE, e,
		    "DATA refused by %s", host(s));
		return TXN_FAILED;
	}
	return no_trailing(s, SMTP_DATA, e) == -1 ? TXN_FAILED : TXN_BODY;
}

/*
 * The reply to the batch's DATA or BDAT LAST, read after the envelope's:
 * it counts only when the envelope was taken.
 */
static enum txn_step
txn_batch_end(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;

	if (read_reply(s, t->chunking ? SMTP_END : SMTP_DATA, e) == -1)
		return t->chunking ? TXN_LOST : TXN_FAILED;
	if (t->mail_err.kind != ERR_NONE) {
		*e = t->mail_err;
		return s->reply.code == 354 ? TXN_ABANDON : TXN_FAILED;
	}
	if (t->accepted == 0) {
		if (s->reply.code == 354)
			return TXN_ABANDON;
		no_recipient(s, t->env, t->first_bad, e);
		return TXN_FAILED;
	}
	if (t->chunking)
		return TXN_END_REPLY;
	return txn_go_ahead(s, e);
}

/* The data after an envelope that went on its own. */
static enum txn_step
txn_data(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;

	if (t->chunking) {
		if (cmd(s, -1, e, "BDAT %lld LAST",
		    (long long)t->wire_size) == -1) {
			at(e, SMTP_DATA);
			return TXN_FAILED;
		}
		if (send_body(s, t->fd, t->env->size, 0, t->plan,
		    t->wire_size, 1, e) == -1 ||
		    end_data(s, 0, t->last && t->pipelining, e) == -1) {
			data_failed(s, e);
			return TXN_FAILED;
		}
		return read_reply(s, SMTP_END, e) == -1 ? TXN_LOST :
		    TXN_END_REPLY;
	}
	if (cmd(s, -1, e, "DATA") == -1 || flush(s, SMTP_DATA, e) == -1 ||
	    read_reply(s, SMTP_DATA, e) == -1)
		return TXN_FAILED;
	return txn_go_ahead(s, e);
}

/* The body after DATA's 354, dot-stuffed, and the end of the data. */
static enum txn_step
txn_body(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;

	if (send_body(s, t->fd, t->env->size, 1, t->plan, t->wire_size, 1,
	    e) == -1 || end_data(s, 1, t->last && t->pipelining, e) == -1) {
		data_failed(s, e);
		return TXN_FAILED;
	}
	if (s->acct->protocol == PROTO_LMTP)
		return TXN_LMTP;
	return read_reply(s, SMTP_END, e) == -1 ? TXN_LOST : TXN_END_REPLY;
}

/* The reply to the end of the data decides for every recipient taken. */
static int
txn_done(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;
	struct envelope *env = t->env;
	size_t i;

	if (SMTP_REPLY_CLASS(&s->reply) != 2)
		return reply_error(s, SMTP_END, ERR_UNAVAILABLE, e,
		    "message refused by %s at the end of the data", host(s));
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == RCPT_PENDING &&
		    env->rcpt[i].code / 100 == 2)
			env->rcpt[i].state = RCPT_DONE;
	s->need_rset = 0;
	s->nmsgs++;
	if (!s->quit_sent && no_trailing(s, SMTP_END, e) == -1) {
		/* Delivered all the same; the session is not trusted after. */
		s->open = 0;
		smtp_close(s);
	}
	err_clear(e);
	return 0;
}

/*
 * No reply after the end of the data: delivered or not, nobody knows.
 * The message is kept (a duplicate is better than a loss, RFC 5321 6.1).
 */
static int
txn_lost(struct smtp *s, struct err *e)
{
	err_prefix(e, "no reply after the end of the data, so the message "
	    "may or may not have been delivered; it is kept for another "
	    "attempt: ");
	if (e->kind != ERR_PROTOCOL)
		e->kind = ERR_TEMP;
	s->open = 0;
	return -1;
}

/* The server wants data it should not get: end it empty. */
static int
txn_abandon(struct txn *t, struct err *e)
{
	struct smtp *s = t->s;
	struct err ignore;

	conn_write(&s->conn, ".\r\n", 3, &ignore);
	flush(s, SMTP_BODY, &ignore);
	read_reply(s, SMTP_END, &ignore);
	if (e->kind == ERR_NONE)
		no_recipient(s, t->env, t->first_bad, e);
	return -1;
}

/*
 * One transaction: the envelope, then the data (with PIPELINING a small
 * message goes in the envelope's write), then the server's verdict.
 */
static int
send_message(struct smtp *s, struct envelope *env, int fd, int last,
    const struct mime_dg_plan *plan, off_t wire_size, int pipelining,
    int chunking, struct err *e)
{
	struct txn t = {
		.s = s, .env = env, .fd = fd, .last = last, .plan = plan,
		.wire_size = wire_size, .pipelining = pipelining,
		.chunking = chunking, .first_bad = (size_t)-1
	};
	enum txn_step step;

	err_clear(&t.mail_err);
	if (txn_check(&t, e) == -1)
		return -1;
	t.one_batch = pipelining &&
	    (!chunking || wire_size <= BDAT_PIPELINE_MAX);
	if (txn_envelope(&t, e) == -1 ||
	    (t.one_batch && txn_batch(&t, e) == -1) ||
	    (pipelining && txn_replies(&t, e) == -1))
		return -1;
	step = t.one_batch ? txn_batch_end(&t, e) : txn_envelope_end(&t, e);
	for (;;) {
		switch (step) {
		case TXN_FAILED:
			return -1;
		case TXN_DATA:
			step = txn_data(&t, e);
			break;
		case TXN_BODY:
			step = txn_body(&t, e);
			break;
		case TXN_LMTP:
			return lmtp_end(s, env, e);
		case TXN_END_REPLY:
			return txn_done(&t, e);
		case TXN_LOST:
			return txn_lost(s, e);
		case TXN_ABANDON:
			return txn_abandon(&t, e);
		}
	}
}

int
smtp_send(struct smtp *s, struct envelope *env, int fd, int last,
    struct err *e)
{
	int pipelining = (s->caps.flags & CAP_PIPELINING) != 0;
	/* LMTP's per-recipient replies are read after DATA only. */
	int chunking = (s->caps.flags & CAP_CHUNKING) != 0 &&
	    s->acct->protocol != PROTO_LMTP;
	struct mime_dg_plan *plan = NULL;
	off_t wire_size = env->size;
	int rv;

	err_clear(e);
	if (!s->open)
		return err_set(e, ERR_SOFTWARE, "SMTP session not open");
	/* The first message shares the session's time with connecting;
	   each later one on the same connection gets its own. */
	if (s->sent)
		conn_session(&s->conn, s->acct->session_timeout);
	s->sent = 1;
	/*
	 * 8-bit data to a server without 8BITMIME: its 8-bit parts go as
	 * quoted-printable.  The dry pass gives the exact size for SIZE= and
	 * BDAT.
	 */
	/*
	 * Lines over 998 octets (RFC 5322 2.1.1), which strict servers
	 * refuse: the parts that hold them go as quoted-printable too, but
	 * for a signed part, which would no longer verify: the message then
	 * fails, naming that part.
	 */
	if ((env->body == BODY_8BITMIME && !(s->caps.flags &
	    CAP_8BITMIME)) || env->long_lines) {
		unsigned mode = (env->long_lines ? MIME_DG_LONG : 0) |
		    (env->body == BODY_8BITMIME && !(s->caps.flags &
		    CAP_8BITMIME) ? MIME_DG_8BIT : 0);

		if (mime_dg_plan_fd_mode(fd, env->size, mode, &plan,
		    &wire_size, e) == -1)
			return at(e, SMTP_MAIL);
		if (mime_dg_plan_signed(plan) != NULL) {
			err_set(e, ERR_DATA, "the message has lines longer "
			    "than 998 octets in %s; posthorn does not "
			    "re-encode a signed part, and servers may refuse "
			    "such lines", mime_dg_plan_signed(plan));
			mime_dg_plan_free(plan);
			return at(e, SMTP_MAIL);
		}
	}
	rv = send_message(s, env, fd, last, plan, wire_size, pipelining,
	    chunking, e);
	mime_dg_plan_free(plan);
	/* A server that broke the protocol is not used again. */
	if (rv == -1 && e->kind == ERR_PROTOCOL)
		s->open = 0;
	return rv;
}

void
smtp_close(struct smtp *s)
{
	struct err ignore;

	err_clear(&ignore);
	if (s->conn.t != NULL && s->open && !s->quit_sent) {
		if (cmd(s, -1, &ignore, "QUIT") == 0 &&
		    flush(s, SMTP_QUIT, &ignore) == 0)
			s->quit_sent = 1;
	}
	/* Read the 221 briefly; it changes nothing. */
	if (s->conn.t != NULL && s->quit_sent)
		read_reply_in(s, SMTP_QUIT, 2, &ignore);
	conn_close(&s->conn);
	s->open = 0;
	smtp_reply_release(&s->reply);
	free(s->greeting);
	s->greeting = NULL;
	free(s->ehlo_text);
	s->ehlo_text = NULL;
	free(s->auth_mech);
	s->auth_mech = NULL;
	progress_free(s->progress);
	s->progress = NULL;
}

/* Server text as a line safe for a terminal (C1, invalid UTF-8 escaped). */
static void
put_server_text(FILE *out, const char *label, const char *p, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	str_sanitize(&b, p, n);
	fprintf(out, "%s%s\n", label, buf_str(&b));
	buf_release(&b);
}

void
smtp_describe(struct smtp *s, FILE *out)
{
	struct buf b;

	fprintf(out, "server:      %s port %d (%s)\n", host(s),
	    conf_port(s->acct), s->conn.peer != NULL ? s->conn.peer : "");
	put_server_text(out, "greeting:    ", s->greeting ? s->greeting : "",
	    s->greeting ? strlen(s->greeting) : 0);
	if (s->tls) {
		buf_init(&b, 0);
		tls_describe(s->conn.tls, &b);
		fprintf(out, "TLS:\n%s", buf_str(&b));
		if (b.len > 0 && b.data[b.len - 1] != '\n')
			fputc('\n', out);
		buf_release(&b);
	} else
		fprintf(out, "TLS:         none\n");
	fprintf(out, "extensions:\n");
	if (s->ehlo_text != NULL && *s->ehlo_text != '\0') {
		const char *p = s->ehlo_text, *nl;

		while (*p != '\0') {
			nl = strchr(p, '\n');
			put_server_text(out, "    ", p, nl ? (size_t)(nl - p) :
			    strlen(p));
			if (nl == NULL)
				break;
			p = nl + 1;
		}
	} else
		fprintf(out, "    (none: the server answered HELO only)\n");
	if (s->caps.flags & CAP_SIZE)
		fprintf(out, "size limit:  %llu octets%s\n", s->caps.size_max,
		    s->caps.size_max == 0 ? " (none given)" : "");
	if (s->caps.auth[0])
		put_server_text(out, "AUTH:        ", s->caps.auth,
		    strlen(s->caps.auth));
	else
		fprintf(out, "AUTH:        (none offered)\n");
	if (s->caps.auth_overflow)
		fprintf(out, "             (and more: the list is longer than "
		    "posthorn accepts)\n");
}
