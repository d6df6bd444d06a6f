/*
 * smtp owns the client dialogue.  Each step writes its command group into
 * the conn's output buffer, flushes once, and reads the replies it
 * expects; with PIPELINING a whole transaction (MAIL, every RCPT, DATA or
 * BDAT) is one write and one wait.  Replies go through the strict parser
 * in smtp_reply; after the last reply a step expects, anything more in the
 * input buffer is a protocol error (this is what stops STARTTLS response
 * injection).  Every failure fills the error record with the phase, the
 * reply and SPEC.md's kind; nothing here prints except the -v trace.
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
#define CMD_MAX		(64 * 1024)
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

const char *
smtp_phase_name(enum smtp_phase phase)
{
	if ((unsigned)phase >= SMTP_NPHASES)
		return "?";
	return phase_names[phase];
}

static void
set_timeout(struct smtp *s, enum smtp_phase ph)
{
	int t = s->acct->timeout > 0 ? s->acct->timeout : default_timeout[ph];

	conn_set_timeout(&s->conn, t);
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

	buf_init(&b, CMD_MAX);
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

static int
read_reply(struct smtp *s, enum smtp_phase ph, struct err *e)
{
	const char *line;
	size_t len;
	int r;

	smtp_reply_reset(&s->reply);
	set_timeout(s, ph);
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
 * kind the caller says), anything else a protocol error.
 */
static int
reply_error(struct smtp *s, enum smtp_phase ph, enum err_kind perm,
    const char *what, struct err *e)
{
	char one[768];
	enum err_kind kind;

	smtp_reply_oneline(&s->reply, one, sizeof(one));
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
	err_set(e, kind, "%s: %s", what, one);
	e->reply = s->reply.code;
	snprintf(e->status, sizeof(e->status), "%s", s->reply.status);
	e->phase = (int)ph + 1;
	return -1;
}

static int
flush(struct smtp *s, enum smtp_phase ph, struct err *e)
{
	set_timeout(s, ph);
	if (conn_flush(&s->conn, e) == -1) {
		err_prefix(e, "%s (%s): ", host(s), smtp_phase_name(ph));
		return at(e, ph);
	}
	return 0;
}

/* ------------------------------------------------------ session */

static int
start_tls(struct smtp *s, struct err *e)
{
	const struct account *a = s->acct;
	struct tls_params p;

	memset(&p, 0, sizeof(p));
	p.host = a->tls_host_override ? a->tls_host_override : a->host;
	p.trust_file = a->tls_trust_file;
	p.crl_file = a->tls_crl_file;
	p.certcheck = a->tls_certcheck;
	if (a->tls_fingerprint_len > 0) {
		p.fingerprint = a->tls_fingerprint;
		p.fingerprint_len = a->tls_fingerprint_len;
	}
	p.cert_file = a->tls_cert_file;
	p.key_file = a->tls_key_file;
	p.priorities = a->tls_priorities;
	p.timeout = a->timeout > 0 ? a->timeout : default_timeout[SMTP_TLS];
	set_timeout(s, SMTP_TLS);
	if (tls_start(&s->conn, &p, e) == -1)
		return at(e, SMTP_TLS);
	s->tls = 1;
	if (s->verbose) {
		char note[128];

		snprintf(note, sizeof(note), "TLS started (%s)",
		    tls_version(&s->conn) ? tls_version(&s->conn) : "?");
		log_trace(LOG_NOTE, note, strlen(note));
	}
	return 0;
}

static int
ehlo(struct smtp *s, struct err *e)
{
	const struct account *a = s->acct;
	const char *domain = a->domain ? a->domain : "localhost";
	const char *nl;

	if (cmd(s, -1, e, "EHLO %s", domain) == -1 ||
	    flush(s, SMTP_EHLO, e) == -1 || read_reply(s, SMTP_EHLO, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) == 2) {
		smtp_caps_parse(&s->reply, &s->caps);
		free(s->ehlo_text);
		nl = strchr(buf_str(&s->reply.text), '\n');
		s->ehlo_text = xstrdup(nl ? nl + 1 : "");
		return no_trailing(s, SMTP_EHLO, e);
	}
	if (SMTP_REPLY_CLASS(&s->reply) != 5)
		return reply_error(s, SMTP_EHLO, ERR_UNAVAILABLE,
		    "EHLO refused", e);
	/* An old server: HELO, and none of the extensions. */
	if ((a->tls && a->tls_starttls && !s->tls) || a->auth)
		return reply_error(s, SMTP_EHLO, ERR_UNAVAILABLE,
		    "the server does not speak ESMTP (needed for STARTTLS and "
		    "AUTH); EHLO refused", e);
	if (cmd(s, -1, e, "HELO %s", domain) == -1 ||
	    flush(s, SMTP_EHLO, e) == -1 || read_reply(s, SMTP_EHLO, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) != 2)
		return reply_error(s, SMTP_EHLO, ERR_UNAVAILABLE,
		    "HELO refused", e);
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
		return reply_error(s, SMTP_STARTTLS, ERR_UNAVAILABLE,
		    "STARTTLS refused", e);
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
			char what[128];

			snprintf(what, sizeof(what), "authentication (%s) "
			    "failed at %s", mech, host(s));
			reply_error(s, SMTP_AUTH, ERR_NOPERM, what, e);
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

int
smtp_open(struct smtp *s, const struct account *a, int verbose,
    struct err *e)
{
	int port = conf_port(a);

	memset(s, 0, sizeof(*s));
	conn_init(&s->conn);
	smtp_reply_init(&s->reply);
	err_clear(e);
	s->acct = a;
	s->verbose = verbose;
	if (a->host == NULL || a->host[0] == '\0') {
		err_set(e, ERR_CONFIG, "no host in account '%s'",
		    a->name ? a->name : "");
		return at(e, SMTP_CONNECT);
	}
	if (net_connect(&s->conn, a->host, port, a->source_ip,
	    a->timeout > 0 ? a->timeout : default_timeout[SMTP_CONNECT],
	    e) == -1) {
		at(e, SMTP_CONNECT);
		goto fail;
	}
	if (verbose) {
		char note[256];

		snprintf(note, sizeof(note), "connected to %s port %d (%s)",
		    a->host, port, s->conn.peer);
		log_trace(LOG_NOTE, note, strlen(note));
	}
	if (a->tls && !a->tls_starttls && start_tls(s, e) == -1)
		goto fail;
	if (read_reply(s, SMTP_GREETING, e) == -1)
		goto fail;
	{
		char one[512];

		smtp_reply_oneline(&s->reply, one, sizeof(one));
		s->greeting = xstrdup(one);
	}
	if (s->reply.code != 220) {
		reply_error(s, SMTP_GREETING, ERR_UNAVAILABLE,
		    "the server refused the connection", e);
		if (SMTP_REPLY_CLASS(&s->reply) == 2)
			e->kind = ERR_PROTOCOL;
		goto fail;
	}
	if (no_trailing(s, SMTP_GREETING, e) == -1 || ehlo(s, e) == -1)
		goto fail;
	if (a->tls && a->tls_starttls && starttls(s, e) == -1)
		goto fail;
	if (a->auth && authenticate(s, e) == -1)
		goto fail;
	s->open = 1;
	return 0;
fail:
	/* Say goodbye when the dialogue is still in step. */
	s->open = e->reply != 0 && e->kind != ERR_PROTOCOL;
	smtp_close(s);
	return -1;
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

/* MAIL FROM with the parameters the server offers and the message needs. */
static int
mail_cmd(struct smtp *s, const struct envelope *env, off_t size,
    struct err *e)
{
	struct buf b;
	char *addr;
	int r;

	if (wire_addr(s, env, env->sender, &addr, e) == -1)
		return -1;
	buf_init(&b, CMD_MAX);
	buf_printf(&b, "MAIL FROM:<%s>", addr);
	free(addr);
	if (s->caps.flags & CAP_SIZE)
		buf_printf(&b, " SIZE=%lld", (long long)size);
	if (env->body == BODY_8BITMIME && (s->caps.flags & CAP_8BITMIME))
		buf_adds(&b, " BODY=8BITMIME");
	if (env->smtputf8 && (s->caps.flags & CAP_SMTPUTF8))
		buf_adds(&b, " SMTPUTF8");
	if (s->caps.flags & CAP_DSN) {
		if (env->dsn_ret != NULL)
			buf_printf(&b, " RET=%s", env->dsn_ret);
		if (env->dsn_envid != NULL) {
			buf_adds(&b, " ENVID=");
			str_xtext_encode(&b, env->dsn_envid);
		}
	}
	r = cmd(s, -1, e, "%s", buf_str(&b));
	buf_release(&b);
	return r;
}

static int
rcpt_cmd(struct smtp *s, const struct envelope *env, const struct rcpt *rc,
    struct err *e)
{
	struct buf b;
	char *addr;
	int r;

	if (wire_addr(s, env, rc->addr, &addr, e) == -1)
		return -1;
	buf_init(&b, CMD_MAX);
	buf_printf(&b, "RCPT TO:<%s>", addr);
	free(addr);
	if ((s->caps.flags & CAP_DSN) && (rc->notify || rc->orcpt)) {
		if (rc->notify != NULL)
			buf_printf(&b, " NOTIFY=%s", rc->notify);
		buf_adds(&b, " ORCPT=rfc822;");
		str_xtext_encode(&b, rc->orcpt ? rc->orcpt : rc->addr);
	}
	r = cmd(s, -1, e, "%s", buf_str(&b));
	buf_release(&b);
	return r;
}

static void
record_rcpt(struct smtp *s, struct rcpt *rc)
{
	char one[768];

	smtp_reply_oneline(&s->reply, one, sizeof(one));
	rc->code = s->reply.code;
	envelope_set(&rc->reply, one);
	if (SMTP_REPLY_CLASS(&s->reply) == 5)
		rc->state = RCPT_FAILED;
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
	struct progress	*progress;
};

static int
body_put(struct body_out *o, const char *p, size_t n, struct err *e)
{
	const char *end = p + n, *q, *nl;

	o->sent += (off_t)n;
	progress_update(o->progress, o->sent);
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
 * 7-bit downgrade when plan is given (the server lacks 8BITMIME).
 */
static int
send_body(struct smtp *s, int fd, off_t size, int stuff,
    const struct mime_dg_plan *plan, off_t wire_size, struct err *e)
{
	struct body_out o = { s, stuff, 1, 0, NULL };
	struct mime_dg *dg = NULL;
	char *buf = xmalloc(BODY_CHUNK);
	off_t off = 0;
	ssize_t n;
	int rv = -1;

	o.progress = progress_new(2, wire_size);
	if (plan != NULL)
		dg = mime_dg_converter(plan, dg_emit, &o);
	set_timeout(s, SMTP_BODY);
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
			goto lost;
	}
	if (dg != NULL && mime_dg_finish(dg, e) == -1)
		goto lost;
	if (stuff && !o.bol && conn_write(&s->conn, "\r\n", 2, e) == -1)
		goto lost;
	if (!stuff && o.sent != wire_size) {
		err_set(e, ERR_SOFTWARE, "the message changed size while it "
		    "was sent (%lld octets, %lld announced)", (long long)o.sent,
		    (long long)wire_size);
		at(e, SMTP_BODY);
		goto out;
	}
	if (s->verbose) {
		char note[96];

		snprintf(note, sizeof(note), "[message: %lld octets%s]",
		    (long long)o.sent, plan != NULL ?
		    ", 8-bit parts converted to quoted-printable" : "");
		log_trace(LOG_OUT, note, strlen(note));
	}
	rv = 0;
	goto out;
lost:
	err_prefix(e, "%s (message data): ", host(s));
	at(e, SMTP_BODY);
out:
	progress_done(o.progress);
	mime_dg_free(dg);
	free(buf);
	return rv;
}

static int
rset(struct smtp *s, struct err *e)
{
	if (cmd(s, -1, e, "RSET") == -1 || flush(s, SMTP_RSET, e) == -1 ||
	    read_reply(s, SMTP_RSET, e) == -1)
		return -1;
	if (SMTP_REPLY_CLASS(&s->reply) != 2)
		return reply_error(s, SMTP_RSET, ERR_TEMP, "RSET refused", e);
	s->need_rset = 0;
	return no_trailing(s, SMTP_RSET, e);
}

static int	send_message(struct smtp *, struct envelope *, int, int,
		    const struct mime_dg_plan *, off_t, int, int, struct err *);

int
smtp_send(struct smtp *s, struct envelope *env, int fd, int last,
    struct err *e)
{
	int pipelining = (s->caps.flags & CAP_PIPELINING) != 0;
	int chunking = (s->caps.flags & CAP_CHUNKING) != 0;
	struct mime_dg_plan *plan = NULL;
	off_t wire_size = env->size;
	int rv;

	err_clear(e);
	if (!s->open)
		return err_set(e, ERR_SOFTWARE, "SMTP session not open");
	/*
	 * 8-bit data to a server without 8BITMIME: its 8-bit parts go as
	 * quoted-printable.  The dry pass gives the exact size for SIZE= and
	 * BDAT.
	 */
	if (env->body == BODY_8BITMIME && !(s->caps.flags & CAP_8BITMIME)) {
		if (mime_dg_plan_fd(fd, env->size, &plan, &wire_size, e) == -1)
			return at(e, SMTP_MAIL);
	}
	rv = send_message(s, env, fd, last, plan, wire_size, pipelining,
	    chunking, e);
	mime_dg_plan_free(plan);
	return rv;
}

static int
send_message(struct smtp *s, struct envelope *env, int fd, int last,
    const struct mime_dg_plan *plan, off_t wire_size, int pipelining,
    int chunking, struct err *e)
{
	size_t i, accepted = 0, first_bad = (size_t)-1;
	char what[512];
	struct err mail_err;
	int one_batch;

	if (s->need_rset && rset(s, e) == -1)
		return -1;
	if ((s->caps.flags & CAP_SIZE) && s->caps.size_max > 0 &&
	    (unsigned long long)wire_size > s->caps.size_max) {
		err_set(e, ERR_UNAVAILABLE, "the message is %lld octets; %s "
		    "accepts at most %llu", (long long)wire_size, host(s),
		    s->caps.size_max);
		return at(e, SMTP_MAIL);
	}
	/* Every address must be expressible before anything is sent. */
	{
		char *w;

		if (wire_addr(s, env, env->sender, &w, e) == -1)
			return at(e, SMTP_MAIL);
		free(w);
		for (i = 0; i < env->nrcpt; i++) {
			if (env->rcpt[i].state != RCPT_PENDING)
				continue;
			if (wire_addr(s, env, env->rcpt[i].addr, &w, e) == -1)
				return at(e, SMTP_RCPT);
			free(w);
		}
	}

	/* Small messages ride in the same write as the envelope. */
	one_batch = pipelining && (!chunking || wire_size <= BDAT_PIPELINE_MAX);

	if (mail_cmd(s, env, wire_size, e) == -1)
		return at(e, SMTP_MAIL);
	if (!pipelining) {
		if (flush(s, SMTP_MAIL, e) == -1 ||
		    read_reply(s, SMTP_MAIL, e) == -1)
			return -1;
		if (SMTP_REPLY_CLASS(&s->reply) != 2) {
			snprintf(what, sizeof(what), "sender <%s> rejected by "
			    "%s", env->sender, host(s));
			return reply_error(s, SMTP_MAIL, ERR_UNAVAILABLE, what,
			    e);
		}
		if (no_trailing(s, SMTP_MAIL, e) == -1)
			return -1;
	}
	s->need_rset = 1;
	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state != RCPT_PENDING)
			continue;
		if (rcpt_cmd(s, env, &env->rcpt[i], e) == -1)
			return at(e, SMTP_RCPT);
		if (pipelining)
			continue;
		if (flush(s, SMTP_RCPT, e) == -1 ||
		    read_reply(s, SMTP_RCPT, e) == -1 ||
		    no_trailing(s, SMTP_RCPT, e) == -1)
			return -1;
		record_rcpt(s, &env->rcpt[i]);
		if (SMTP_REPLY_CLASS(&s->reply) == 2)
			accepted++;
		else if (first_bad == (size_t)-1)
			first_bad = i;
	}
	if (one_batch) {
		if (chunking) {
			if (cmd(s, -1, e, "BDAT %lld LAST",
			    (long long)wire_size) == -1 ||
			    send_body(s, fd, env->size, 0, plan, wire_size,
			    e) == -1)
				return at(e, SMTP_DATA);
			if (last && cmd(s, -1, e, "QUIT") == 0)
				s->quit_sent = 1;
		} else if (cmd(s, -1, e, "DATA") == -1)
			return at(e, SMTP_DATA);
	}
	if (pipelining) {
		if (flush(s, SMTP_MAIL, e) == -1 ||
		    read_reply(s, SMTP_MAIL, e) == -1)
			return -1;
		err_clear(&mail_err);
		if (SMTP_REPLY_CLASS(&s->reply) != 2) {
			snprintf(what, sizeof(what), "sender <%s> rejected by "
			    "%s", env->sender, host(s));
			reply_error(s, SMTP_MAIL, ERR_UNAVAILABLE, what,
			    &mail_err);
		}
		for (i = 0; i < env->nrcpt; i++) {
			if (env->rcpt[i].state != RCPT_PENDING)
				continue;
			if (read_reply(s, SMTP_RCPT, e) == -1)
				return -1;
			if (mail_err.kind != ERR_NONE)
				continue;
			record_rcpt(s, &env->rcpt[i]);
			if (SMTP_REPLY_CLASS(&s->reply) == 2)
				accepted++;
			else if (first_bad == (size_t)-1)
				first_bad = i;
		}
		if (one_batch) {
			if (read_reply(s, chunking ? SMTP_END : SMTP_DATA, e)
			    == -1) {
				if (chunking)
					goto lost_after_data;
				return -1;
			}
			if (mail_err.kind != ERR_NONE) {
				*e = mail_err;
				if (s->reply.code == 354)
					goto abandon_data;
				return -1;
			}
			if (accepted == 0) {
				if (s->reply.code == 354)
					goto abandon_data;
				no_recipient(s, env, first_bad, e);
				return -1;
			}
			if (chunking)
				goto end_reply;
			if (s->reply.code != 354) {
				snprintf(what, sizeof(what), "DATA refused by "
				    "%s", host(s));
				return reply_error(s, SMTP_DATA,
				    ERR_UNAVAILABLE, what, e);
			}
			if (no_trailing(s, SMTP_DATA, e) == -1)
				return -1;
			goto body;
		}
		if (mail_err.kind != ERR_NONE) {
			*e = mail_err;
			return -1;
		}
		if (no_trailing(s, SMTP_RCPT, e) == -1)
			return -1;
	}
	if (accepted == 0)
		return no_recipient(s, env, first_bad, e);

	/* The envelope went through; now the data. */
	if (chunking) {
		if (cmd(s, -1, e, "BDAT %lld LAST", (long long)wire_size) == -1 ||
		    send_body(s, fd, env->size, 0, plan, wire_size, e) == -1)
			return at(e, SMTP_DATA);
		if (last && pipelining && cmd(s, -1, e, "QUIT") == 0)
			s->quit_sent = 1;
		if (flush(s, SMTP_BODY, e) == -1)
			return -1;
		if (read_reply(s, SMTP_END, e) == -1)
			goto lost_after_data;
		goto end_reply;
	}
	if (cmd(s, -1, e, "DATA") == -1 || flush(s, SMTP_DATA, e) == -1 ||
	    read_reply(s, SMTP_DATA, e) == -1)
		return -1;
	if (s->reply.code != 354) {
		snprintf(what, sizeof(what), "DATA refused by %s", host(s));
		return reply_error(s, SMTP_DATA, ERR_UNAVAILABLE, what, e);
	}
	if (no_trailing(s, SMTP_DATA, e) == -1)
		return -1;
body:
	if (send_body(s, fd, env->size, 1, plan, wire_size, e) == -1)
		return -1;
	if (s->verbose)
		log_trace(LOG_OUT, ".", 1);
	if (conn_write(&s->conn, ".\r\n", 3, e) == -1)
		return at(e, SMTP_BODY);
	if (last && pipelining && cmd(s, -1, e, "QUIT") == 0)
		s->quit_sent = 1;
	if (flush(s, SMTP_BODY, e) == -1)
		return -1;
	if (read_reply(s, SMTP_END, e) == -1)
		goto lost_after_data;
end_reply:
	if (SMTP_REPLY_CLASS(&s->reply) != 2) {
		snprintf(what, sizeof(what), "message refused by %s at the "
		    "end of the data", host(s));
		return reply_error(s, SMTP_END, ERR_UNAVAILABLE, what, e);
	}
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

lost_after_data:
	/* Delivered or not, nobody knows: keep it (a duplicate is better
	   than a loss, RFC 5321 6.1). */
	err_prefix(e, "no reply after the end of the data, so the message "
	    "may or may not have been delivered; it is kept for another "
	    "attempt: ");
	if (e->kind != ERR_PROTOCOL)
		e->kind = ERR_TEMP;
	s->open = 0;
	return -1;

abandon_data:
	/* The server wants data it should not get: end it empty. */
	{
		struct err ignore;

		conn_write(&s->conn, ".\r\n", 3, &ignore);
		flush(s, SMTP_BODY, &ignore);
		read_reply(s, SMTP_END, &ignore);
	}
	if (e->kind == ERR_NONE)
		no_recipient(s, env, first_bad, e);
	return -1;
}

void
smtp_close(struct smtp *s)
{
	struct err ignore;

	if (s->conn.fd != -1 && s->open && !s->quit_sent) {
		err_clear(&ignore);
		if (cmd(s, -1, &ignore, "QUIT") == 0 &&
		    flush(s, SMTP_QUIT, &ignore) == 0) {
			s->quit_sent = 1;
		}
	}
	if (s->conn.fd != -1 && s->quit_sent) {
		/* Read the 221 briefly; it changes nothing. */
		conn_set_timeout(&s->conn, 2);
		read_reply(s, SMTP_QUIT, &ignore);
	}
	conn_close(&s->conn);
	s->open = 0;
	smtp_reply_release(&s->reply);
	free(s->greeting);
	s->greeting = NULL;
	free(s->ehlo_text);
	s->ehlo_text = NULL;
	free(s->auth_mech);
	s->auth_mech = NULL;
}

void
smtp_describe(struct smtp *s, FILE *out)
{
	struct buf b;

	fprintf(out, "server:      %s port %d (%s)\n", host(s),
	    conf_port(s->acct), s->conn.peer);
	fprintf(out, "greeting:    %s\n", s->greeting ? s->greeting : "");
	if (s->tls) {
		buf_init(&b, 0);
		tls_describe(&s->conn, &b);
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
			fprintf(out, "    %.*s\n", (int)(nl ? nl - p :
			    (long)strlen(p)), p);
			if (nl == NULL)
				break;
			p = nl + 1;
		}
	} else
		fprintf(out, "    (none: the server answered HELO only)\n");
	if (s->caps.flags & CAP_SIZE)
		fprintf(out, "size limit:  %llu octets%s\n", s->caps.size_max,
		    s->caps.size_max == 0 ? " (none given)" : "");
	fprintf(out, "AUTH:        %s\n", s->caps.auth[0] ? s->caps.auth :
	    "(none offered)");
}
