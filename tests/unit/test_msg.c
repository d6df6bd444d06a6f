/*
 * test_msg: messages in, stored message and envelope out.  Each row gives
 * the input, the options, the exact stored form (CRLF shown as "\n", the
 * random Message-ID shown as "<ID>") and the envelope.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "msg.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/strv.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW	1795435200	/* Mon, 23 Nov 2026 12:00:00 +0000 */
#define DATE	"Date: Mon, 23 Nov 2026 12:00:00 +0000\n"
#define MID	"Message-ID: <ID>\n"
#define FROM	"From: alice@example.org\n"

enum {
	O_T = 1 << 0,		/* -t */
	O_SETFROM_ON = 1 << 1,
	O_SETFROM_OFF = 1 << 2,
	O_NODATE = 1 << 3,
	O_KEEPBCC = 1 << 4,
	O_UNDISCLOSED = 1 << 5,
	O_NOOVERRIDE = 1 << 6,
	O_ALIASES = 1 << 7,
	O_NOFROM = 1 << 8,	/* account without from */
	O_LOCAL = 1 << 9,	/* local_domains localhost, h.example.test */
	O_ADMIN = 1 << 10,	/* admin ops@example.net */
};

static const struct row {
	const char	*name;
	const char	*in;
	size_t		 inlen;		/* 0: strlen(in) */
	unsigned	 opts;
	const char	*argv;		/* recipient words, space separated */
	const char	*sender;	/* -f */
	const char	*out;		/* NULL: must fail */
	const char	*env;		/* "sender > rcpt rcpt"; or the error
					   kind and text fragment */
	int		 body8;
	int		 utf8;
	int		 longlines;
} rows[] = {
	{ "plain -t", "To: bob@x.org\nSubject: s\n\nbody\n", 0, O_T, "", NULL,
	  "To: bob@x.org\nSubject: s\n" FROM DATE MID "\nbody\n",
	  "alice@example.org > bob@x.org", 0, 0, 0 },
	{ "argv recipients, comma list", "Subject: s\n\nb\n", 0, 0,
	  "a@x.org,b@y.org c@z.org", NULL,
	  "Subject: s\n" FROM DATE MID "\nb\n",
	  "alice@example.org > a@x.org b@y.org c@z.org", 0, 0, 0 },
	{ "-t adds to argv, no duplicates", "To: a@x.org, b@y.org\n\n", 0,
	  O_T, "a@x.org", NULL,
	  "To: a@x.org, b@y.org\n" FROM DATE MID "\n",
	  "alice@example.org > a@x.org b@y.org", 0, 0, 0 },
	{ "Bcc collected and removed", "To: a@x.org\nBcc: hidden@y.org\n"
	  "Subject: s\n\nhi", 0, O_T, "", NULL,
	  "To: a@x.org\nSubject: s\n" FROM DATE MID "\nhi\n",
	  "alice@example.org > a@x.org hidden@y.org", 0, 0, 0 },
	{ "Bcc removed without -t too", "To: a@x.org\nBcc: h@y.org\n\nhi\n",
	  0, 0, "a@x.org", NULL,
	  "To: a@x.org\n" FROM DATE MID "\nhi\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "remove_bcc_headers off keeps it", "To: a@x.org\nBcc: h@y.org\n\n",
	  0, O_KEEPBCC, "a@x.org", NULL,
	  "To: a@x.org\nBcc: h@y.org\n" FROM DATE MID "\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "folded Cc with comments and groups",
	  "To: Team: a@x.org, \"Doe, J\" <j@x.org>;\nCc: c@x.org (see),\n"
	  "\tdd@x.org\n\n", 0, O_T, "", NULL,
	  "To: Team: a@x.org, \"Doe, J\" <j@x.org>;\nCc: c@x.org (see),\n"
	  "\tdd@x.org\n" FROM DATE MID "\n",
	  "alice@example.org > a@x.org j@x.org c@x.org dd@x.org", 0, 0, 0 },
	{ "Resent- block wins under -t",
	  "Resent-To: r@x.org\nResent-Bcc: rb@x.org\nResent-From: f@x.org\n"
	  "To: orig@x.org\nResent-To: older@x.org\n\n", 0, O_T, "", NULL,
	  "Resent-To: r@x.org\nResent-From: f@x.org\nTo: orig@x.org\n"
	  "Resent-To: older@x.org\n" FROM DATE MID "\n",
	  "alice@example.org > r@x.org rb@x.org", 0, 0, 0 },
	{ "mbox From_, Return-Path, Content-Length dropped",
	  "From alice Mon Nov 23 12:00:00 2026\nReturn-Path: <x@y>\n"
	  "Content-Length: 5\nTo: a@x.org\n\nhello\n", 0, O_T, "", NULL,
	  "To: a@x.org\n" FROM DATE MID "\nhello\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "From, Date, Message-ID kept when present",
	  "From: Bob <bob@x.org>\nDate: Tue, 1 Jan 2030 00:00:00 +0000\n"
	  "Message-ID: <keep@x.org>\n\nb\n", 0, 0, "a@x.org", NULL,
	  "From: Bob <bob@x.org>\nDate: Tue, 1 Jan 2030 00:00:00 +0000\n"
	  "Message-ID: <keep@x.org>\n\nb\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "set_from_header on replaces From", "From: Bob <bob@x.org>\n\nb\n",
	  0, O_SETFROM_ON, "a@x.org", NULL,
	  FROM DATE MID "\nb\n", "alice@example.org > a@x.org", 0, 0, 0 },
	{ "set_from_header off adds none", "Subject: s\n\nb\n", 0,
	  O_SETFROM_OFF, "a@x.org", NULL,
	  "Subject: s\n" DATE MID "\nb\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "set_date_header off", "Subject: s\n\nb\n", 0, O_NODATE, "a@x.org",
	  NULL, "Subject: s\n" FROM MID "\nb\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "-f sets the envelope and the added From", "Subject: s\n\n", 0, 0,
	  "a@x.org", "cron@x.org",
	  "Subject: s\nFrom: cron@x.org\n" DATE MID "\n",
	  "cron@x.org > a@x.org", 0, 0, 0 },
	{ "-f <> is the null sender; From from the account", "S: s\n\n", 0,
	  0, "a@x.org", "",
	  "S: s\n" FROM DATE MID "\n", " > a@x.org", 0, 0, 0 },
	{ "allow_from_override off ignores -f", "S: s\n\n", 0, O_NOOVERRIDE,
	  "a@x.org", "evil@x.org",
	  "S: s\n" FROM DATE MID "\n", "alice@example.org > a@x.org", 0, 0,
	  0 },
	{ "unqualified names get the from domain",
	  "From: root (Cron Daemon)\nTo: root\n\nb\n", 0, O_T, "", NULL,
	  "From: root@example.org (Cron Daemon)\nTo: root@example.org\n"
	  DATE MID "\nb\n",
	  "alice@example.org > root@example.org", 0, 0, 0 },
	{ "aliases for recipients and sender-like fields",
	  "From: root (Cron Daemon)\nTo: root, <team>\n\nb\n", 0,
	  O_T | O_ALIASES, "", "root",
	  "From: admin@example.org (Cron Daemon)\n"
	  "To: root@example.org, <team@example.org>\n" DATE MID "\nb\n",
	  "admin@example.org > admin@example.org t1@x.org t2@y.org", 0, 0,
	  0 },
	{ "local domains: user@host is the local name user",
	  "From: root@LocalHost (Cron Daemon)\nSender: x@h.example.test\n"
	  "To: root@localhost\n\nb\n", 0, O_T | O_ALIASES | O_LOCAL, "",
	  "cron@h.example.test",
	  "From: admin@example.org (Cron Daemon)\n"
	  "Sender: x@example.org\nTo: root@localhost\n" DATE MID "\nb\n",
	  "cron@example.org > admin@example.org", 0, 0, 0 },
	{ "local domains: aliases, admin, others untouched", "S: s\n\n", 0,
	  O_ALIASES | O_LOCAL | O_ADMIN,
	  "team@localhost nobody@h.example.test bob@x.org bob@example.org "
	  "root", NULL, "S: s\n" FROM DATE MID "\n",
	  "alice@example.org > t1@x.org t2@y.org ops@example.net bob@x.org "
	  "bob@example.org admin@example.org", 0, 0, 0 },
	{ "admin: a bare name no alias maps; senders never", "S: s\n\n", 0,
	  O_ADMIN, "operator", "cron",
	  "S: s\nFrom: cron@example.org\n" DATE MID "\n",
	  "cron@example.org > ops@example.net", 0, 0, 0 },
	{ "local domains: without from, the host's own name is local",
	  "S: s\n\n", 0, O_NOFROM | O_LOCAL | O_ALIASES,
	  "root@Mail.Example.Net", NULL,
	  "S: s\nFrom: tester@mail.example.net\n" DATE "Message-ID: <ID>\n\n",
	  "tester@mail.example.net > admin@example.org", 0, 0, 0 },
	{ "without local_domains, localhost is a domain", "S: s\n\n", 0,
	  O_ADMIN, "root@localhost", NULL, "S: s\n" FROM DATE MID "\n",
	  "alice@example.org > root@localhost", 0, 0, 0 },
	{ "no from in the account: user@domain", "S: s\n\n", 0, O_NOFROM,
	  "a@x.org", NULL,
	  "S: s\nFrom: tester@mail.example.net\n" DATE
	  "Message-ID: <ID>\n\n",
	  "tester@mail.example.net > a@x.org", 0, 0, 0 },
	{ "no from in the account: From header's address", "From: f@x.org\n"
	  "\n", 0, O_NOFROM, "a@x.org", NULL,
	  "From: f@x.org\n" DATE MID "\n", "f@x.org > a@x.org", 0, 0, 0 },
	{ "mixed LF, CRLF, bare CR; no final newline",
	  "To: a@x.org\r\nSubject: s\n\r\nl1\r\nl2\nl3\rl4", 0, O_T, "", NULL,
	  "To: a@x.org\nSubject: s\n" FROM DATE MID "\nl1\nl2\nl3\nl4\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "a body line that is only a dot stays (stuffing is later)",
	  "S: s\n\n.\n..\n.x\n", 0, 0, "a@x.org", NULL,
	  "S: s\n" FROM DATE MID "\n.\n..\n.x\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "first line is not a header: blank line inserted",
	  "hello there\nsecond\n", 0, 0, "a@x.org", NULL,
	  FROM DATE MID "\nhello there\nsecond\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "headers then a non-header line", "Subject: s\nnot a header\n", 0,
	  0, "a@x.org", NULL,
	  "Subject: s\n" FROM DATE MID "\nnot a header\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "headers only, no blank line, no final newline", "Subject: s", 0, 0,
	  "a@x.org", NULL, "Subject: s\n" FROM DATE MID,
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "empty input", "", 0, 0, "a@x.org", NULL, FROM DATE MID,
	  "alice@example.org > a@x.org", 0, 0, 0 },
	{ "8-bit body", "S: s\n\ncaf\xc3\xa9\n", 0, 0, "a@x.org", NULL,
	  "S: s\n" FROM DATE MID "\ncaf\xc3\xa9\n",
	  "alice@example.org > a@x.org", 1, 0, 0 },
	{ "8-bit header: SMTPUTF8, and 8-bit data (for the downgrade)",
	  "Subject: caf\xc3\xa9\n\nb\n", 0, 0,
	  "a@x.org", NULL,
	  "Subject: caf\xc3\xa9\n" FROM DATE MID "\nb\n",
	  "alice@example.org > a@x.org", 1, 1, 0 },
	{ "undisclosed_recipients", "To: a@x.org\nCc: b@x.org\nS: s\n\n", 0,
	  O_T | O_UNDISCLOSED, "", NULL,
	  "S: s\n" FROM DATE MID "To: undisclosed-recipients:;\n\n",
	  "alice@example.org > a@x.org b@x.org", 0, 0, 0 },
	{ "empty group To under -t with argv", "To: undisclosed-recipients:;\n"
	  "\n", 0, O_T, "a@x.org", NULL,
	  "To: undisclosed-recipients:;\n" FROM DATE MID "\n",
	  "alice@example.org > a@x.org", 0, 0, 0 },

	/* Errors. */
	{ "NUL byte", "S: s\n\nab\0cd\n", 12, 0, "a@x.org", NULL, NULL,
	  "65 NUL byte (line 3)", 0, 0, 0 },
	{ "NUL in a header", "S: a\0b\n\n", 8, 0, "a@x.org", NULL, NULL,
	  "65 NUL byte (line 1)", 0, 0, 0 },
	{ "no recipients", "Subject: s\n\n", 0, 0, "", NULL, NULL,
	  "65 no recipients", 0, 0, 0 },
	{ "no recipients under -t", "Subject: s\n\n", 0, O_T, "", NULL, NULL,
	  "65 no recipients", 0, 0, 0 },
	{ "a broken To under -t", "To: <a@x.org\n\n", 0, O_T, "", NULL, NULL,
	  "65 To header", 0, 0, 0 },
	{ "a broken argv recipient", "S: s\n\n", 0, 0, "a@x.org\"b", NULL,
	  NULL, "64 recipient", 0, 0, 0 },
};

static struct account *
account(unsigned opts)
{
	struct account *a = conf_account_new("test");

	if (!(opts & O_NOFROM))
		a->from = xstrdup("alice@example.org");
	if (opts & O_SETFROM_ON)
		a->set_from_header = SETFROM_ON;
	if (opts & O_SETFROM_OFF)
		a->set_from_header = SETFROM_OFF;
	if (opts & O_NODATE)
		a->set_date_header = 0;
	if (opts & O_KEEPBCC)
		a->remove_bcc_headers = 0;
	if (opts & O_UNDISCLOSED)
		a->set_to_header = SETTO_UNDISCLOSED;
	if (opts & O_NOOVERRIDE)
		a->allow_from_override = 0;
	return a;
}

/* 1 if s starts a Message-ID of msg's making: <hex.16alnum@ */
static int
generated_id(const char *s)
{
	size_t h = strspn(s, "0123456789abcdef");

	return h > 0 && s[h] == '.' && strspn(s + h + 1,
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	    == 16 && s[h + 17] == '@';
}

/* The stored form with CRLF as "\n" and a generated Message-ID "<ID>". */
static char *
normalise(const char *s, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if (strncmp(s + i, "Message-ID: <", 13) == 0 &&
		    (i == 0 || s[i - 1] == '\n') && generated_id(s + i + 13)) {
			const char *gt = memchr(s + i, '>', n - i);

			if (gt != NULL) {
				buf_adds(&b, "Message-ID: <ID>");
				i = (size_t)(gt - s);
				continue;
			}
		}
		buf_addc(&b, s[i]);
	}
	return buf_detach(&b);
}

static char *
envelope_text(const struct envelope *env)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_printf(&b, "%s >", env->sender);
	for (i = 0; i < env->nrcpt; i++)
		buf_printf(&b, " %s", env->rcpt[i].addr);
	return buf_detach(&b);
}

static int
run(const char *in, size_t inlen, struct msg_params *p, struct envelope *env,
    char **out, size_t *outlen, struct err *e)
{
	FILE *fin = tmpfile(), *fout = tmpfile();
	int r;

	fwrite(in, 1, inlen, fin);
	fflush(fin);
	rewind(fin);
	envelope_init(env);
	err_clear(e);
	r = msg_read(fileno(fin), p, fileno(fout), env, e);
	*outlen = (size_t)lseek(fileno(fout), 0, SEEK_END);
	*out = xmalloc(*outlen + 1);
	if (pread(fileno(fout), *out, *outlen, 0) != (ssize_t)*outlen)
		*outlen = 0;
	(*out)[*outlen] = '\0';
	fclose(fin);
	fclose(fout);
	return r;
}

static void
test_rows(void)
{
	static const char aliases[] =
	    "root: admin@example.org\nteam: t1@x.org, t2@y.org\n";
	struct alias_map am;
	struct strv local = { NULL, 0 };
	struct err e;
	size_t i;

	alias_parse(&am, aliases, sizeof(aliases) - 1, "aliases", &e);
	strv_add(&local, "localhost");
	strv_add(&local, "h.example.test");
	strv_add(&local, "mail.example.net");
	/* The from domain is never local, even when listed. */
	strv_add(&local, "example.org");
	for (i = 0; i < N(rows); i++) {
		const struct row *w = &rows[i];
		struct account *a = account(w->opts);
		struct strv rc = { NULL, 0 };
		struct msg_params p;
		struct envelope env;
		char *copy, *tok, *save = NULL, *out, *got;
		size_t outlen;
		int r;

		copy = xstrdup(w->argv);
		for (tok = strtok_r(copy, " ", &save); tok;
		    tok = strtok_r(NULL, " ", &save))
			strv_add(&rc, tok);
		free(copy);
		memset(&p, 0, sizeof(p));
		p.acct = a;
		p.aliases = (w->opts & O_ALIASES) ? &am : NULL;
		p.sender = w->sender;
		p.read_recipients = (w->opts & O_T) != 0;
		p.rcpts = &rc;
		p.user = "tester";
		p.domain = "mail.example.net";
		p.local_domains = (w->opts & O_LOCAL) ? &local : NULL;
		p.admin = (w->opts & O_ADMIN) ? "ops@example.net" : NULL;
		p.now = NOW;
		r = run(w->in, w->inlen ? w->inlen : strlen(w->in), &p, &env,
		    &out, &outlen, &e);
		if (w->out == NULL) {
			char want[8];

			snprintf(want, sizeof(want), "%d", err_exitcode(&e));
			t_ok(r == -1 && strncmp(w->env, want, 2) == 0 &&
			    strstr(e.text, w->env + 3) != NULL,
			    "%s: fails with %.2s", w->name, w->env);
			if (r != -1 || strstr(e.text, w->env + 3) == NULL)
				t_diag("exit %d: %s", err_exitcode(&e),
				    e.text);
		} else {
			t_ok(r == 0, "%s: accepted", w->name);
			if (r != 0)
				t_diag("error: %s", e.text);
			got = normalise(out, outlen);
			t_streq(got, w->out, "%s: stored form", w->name);
			free(got);
			got = envelope_text(&env);
			t_streq(got, w->env, "%s: envelope", w->name);
			free(got);
			t_ok(env.size == (off_t)outlen, "%s: size recorded",
			    w->name);
			t_ok((env.body == BODY_8BITMIME) == w->body8 &&
			    env.smtputf8 == w->utf8 &&
			    env.long_lines == w->longlines,
			    "%s: body type, SMTPUTF8, long lines", w->name);
		}
		free(out);
		envelope_release(&env);
		strv_free(&rc);
		conf_account_free(a);
	}
	alias_free(&am);
	strv_free(&local);
}

/* Line-length rules: 998 octets in a header is fine, 999 is not; long
   body lines are fine but flagged; a long first line without headers is
   body. */
static void
test_lengths(void)
{
	static const struct {
		const char	*name;
		size_t		 hdr, body, first;
		int		 ok, flag;
	} rows2[] = {
		{ "header line of 998 octets", 998, 0, 0, 1, 0 },
		{ "header line of 999 octets", 999, 0, 0, 0, 0 },
		{ "body line of 5000 octets", 0, 5000, 0, 1, 1 },
		{ "body line of 998 octets", 0, 998, 0, 1, 0 },
		{ "first line of 3000 octets, no headers", 0, 0, 3000, 1, 1 },
	};
	size_t i;

	for (i = 0; i < N(rows2); i++) {
		struct account *a = account(0);
		struct strv rc = { NULL, 0 };
		struct msg_params p;
		struct envelope env;
		struct buf in;
		struct err e;
		char *out;
		size_t outlen, k;
		int r;

		buf_init(&in, 0);
		if (rows2[i].hdr) {
			buf_adds(&in, "X-Long: ");
			for (k = 8; k < rows2[i].hdr; k++)
				buf_addc(&in, 'h');
			buf_adds(&in, "\n\nb\n");
		} else if (rows2[i].body) {
			buf_adds(&in, "S: s\n\n");
			for (k = 0; k < rows2[i].body; k++)
				buf_addc(&in, 'b');
			buf_adds(&in, "\n");
		} else {
			for (k = 0; k < rows2[i].first; k++)
				buf_addc(&in, 'w');
			buf_adds(&in, "\nmore\n");
		}
		strv_add(&rc, "a@x.org");
		memset(&p, 0, sizeof(p));
		p.acct = a;
		p.rcpts = &rc;
		p.now = NOW;
		r = run(in.data, in.len, &p, &env, &out, &outlen, &e);
		t_ok((r == 0) == rows2[i].ok, "%s: %s", rows2[i].name,
		    rows2[i].ok ? "accepted" : "refused");
		if (!rows2[i].ok)
			t_ok(err_exitcode(&e) == 65 &&
			    strstr(e.text, "longer than 998") != NULL,
			    "%s: exit 65 naming the limit", rows2[i].name);
		else
			t_ok(env.long_lines == rows2[i].flag &&
			    (rows2[i].first == 0 || strstr(out, "\r\n\r\nwww")),
			    "%s: flagged as long, body kept", rows2[i].name);
		free(out);
		buf_release(&in);
		envelope_release(&env);
		strv_free(&rc);
		conf_account_free(a);
	}
}

/* Qualifying many short names lengthens a header line past 998 octets:
   it is folded again, every line stays within the limit. */
static void
test_refold(void)
{
	struct account *a = account(0);
	struct strv rc = { NULL, 0 };
	struct msg_params p;
	struct envelope env;
	struct buf in;
	struct err e;
	char *out = NULL, *line, *save = NULL;
	size_t outlen, k, longest = 0, lines = 0;

	buf_init(&in, 0);
	buf_adds(&in, "To: ");
	for (k = 0; k < 150; k++)
		buf_printf(&in, "%sn%03zu", k ? ", " : "", k);
	buf_adds(&in, "\n\nbody\n");
	memset(&p, 0, sizeof(p));
	p.acct = a;
	p.rcpts = &rc;
	p.read_recipients = 1;
	p.now = NOW;
	t_ok(in.len < 998 + 10 && run(in.data, in.len, &p, &env, &out,
	    &outlen, &e) == 0, "150 unqualified names on one line accepted");
	t_inteq(env.nrcpt, 150, "all 150 become recipients");
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) > longest)
			longest = strlen(line);
		lines++;
	}
	t_ok(longest <= 998 + 1 && lines > 5,
	    "the qualified field is folded again (longest line %zu)",
	    longest);
	free(out);
	buf_release(&in);
	envelope_release(&env);
	strv_free(&rc);
	conf_account_free(a);
}

/* A large body streams: the stored size equals input plus CRs. */
static void
test_stream(void)
{
	struct account *a = account(0);
	struct strv rc = { NULL, 0 };
	struct msg_params p;
	struct envelope env;
	struct buf in;
	struct err e;
	char *out;
	size_t outlen, k, lines = 0;

	buf_init(&in, 0);
	buf_adds(&in, "Subject: big\n\n");
	for (k = 0; k < 200000; k++) {
		buf_adds(&in, "line of body text\n");
		lines++;
	}
	strv_add(&rc, "a@x.org");
	memset(&p, 0, sizeof(p));
	p.acct = a;
	p.rcpts = &rc;
	p.now = NOW;
	t_ok(run(in.data, in.len, &p, &env, &out, &outlen, &e) == 0,
	    "3.6 MB body accepted");
	t_ok(memcmp(out + outlen - 19, "line of body text\r\n", 19) == 0,
	    "the last line is intact and CRLF");
	free(out);
	buf_release(&in);
	envelope_release(&env);
	strv_free(&rc);
	conf_account_free(a);
}

/* A source that hands out the input one byte (or block) at a time. */
struct drip {
	const char	*s;
	size_t		 len, pos, step;
};

static long
drip_read(void *arg, char *buf, size_t n, struct err *e)
{
	struct drip *d = arg;
	size_t k = d->len - d->pos;

	(void)e;
	if (k > d->step)
		k = d->step;
	if (k > n)
		k = n;
	memcpy(buf, d->s + d->pos, k);
	d->pos += k;
	return (long)k;
}

/*
 * Issue 8 row 5: a CR that does not end a line, in the header section,
 * never splits a field nor adds a recipient: refused (65), with or
 * without -t, wherever the block boundaries fall.  In the body it is a
 * line end, as before.  An LF always ends a line (input may mix LF and
 * CRLF): a field cannot hold one, it ends there, or folds when a blank
 * follows.
 */
static void
test_bare_cr(void)
{
	static const struct {
		const char *name, *in, *env;	/* env NULL: refused, 65 */
	} cases[] = {
		{ "CR inside Subject, a Bcc after it",
		    "To: a@x.org\nSubject: hi\rBcc: evil@x.org\n\nb\n", NULL },
		{ "CR inside To", "To: a@x.org\rBcc: evil@x.org\n\nb\n", NULL },
		{ "CR CR LF", "To: a@x.org\r\r\nSubject: x\r\n\r\nb\r\n",
		    NULL },
		{ "CR in a continuation line",
		    "To: a@x.org\nSubject: a\n \rb\n\nb\n", NULL },
		{ "an empty line ended by CR",
		    "To: a@x.org\n\rBcc: evil@x.org\n\nb\n", NULL },
		{ "CR in the body is a line end",
		    "To: a@x.org\r\nSubject: s\r\n\r\nbo\rdy\r\n",
		    "alice@example.org > a@x.org" },
		{ "no header section: CR ends a body line",
		    "hello\rworld\nTo: evil@x.org\n",
		    "alice@example.org > a@x.org" },
		{ "CR at the end of the input ends the line",
		    "To: a@x.org\r\nSubject: hi\r",
		    "alice@example.org > a@x.org" },
		{ "LF ends a line: the next one is a field of its own",
		    "To: a@x.org\nSubject: hi\nBcc: also@x.org\n\nb\n",
		    "alice@example.org > a@x.org also@x.org" },
		{ "LF and a blank fold: one field",
		    "To: a@x.org,\n b@x.org\nSubject: s\n\nb\n",
		    "alice@example.org > a@x.org b@x.org" },
	};
	size_t i, t, step;

	for (i = 0; i < N(cases); i++)
		for (t = 0; t < 2; t++)
			for (step = 1; step <= 65536; step *= 65536) {
				struct account *a = account(0);
				struct strv rc = { NULL, 0 };
				struct drip d = { cases[i].in,
				    strlen(cases[i].in), 0, step };
				struct msg_source src = { drip_read, &d };
				struct msg_params p;
				struct envelope env;
				struct err e;
				char *got;
				FILE *fout = tmpfile();
				int r;

				strv_add(&rc, "a@x.org");
				memset(&p, 0, sizeof(p));
				p.acct = a;
				p.rcpts = &rc;
				p.read_recipients = (int)t;
				p.now = NOW;
				envelope_init(&env);
				err_clear(&e);
				r = msg_read_source(&src, &p, fileno(fout),
				    &env, &e);
				if (cases[i].env == NULL)
					t_ok(r == -1 && err_exitcode(&e) == 65 &&
					    strstr(e.text, "carriage return"),
					    "bare CR: %s%s, %zu-byte blocks: "
					    "refused: %s", cases[i].name,
					    t ? " (-t)" : "", step, e.text);
				else if (t == 0)
					t_ok(r == 0 && env.nrcpt == 1,
					    "bare CR: %s, %zu-byte blocks: "
					    "accepted (%s)", cases[i].name, step,
					    e.text);
				else {
					got = r == 0 ? envelope_text(&env) :
					    xstrdup(e.text);
					t_streq(got, cases[i].env, "bare CR: %s "
					    "(-t), %zu-byte blocks",
					    cases[i].name, step);
					free(got);
				}
				fclose(fout);
				envelope_release(&env);
				strv_free(&rc);
				conf_account_free(a);
			}
}

/* Runs text with -t (t) or argv words; the exit status, 0 when accepted. */
static int
run_simple(const char *text, size_t len, int t, const char *const *words,
    struct envelope *env, struct err *e)
{
	struct account *a = account(0);
	struct strv rc = { NULL, 0 };
	struct msg_params p;
	char *out;
	size_t outlen;
	int r;

	for (; words != NULL && *words != NULL; words++)
		strv_add(&rc, *words);
	memset(&p, 0, sizeof(p));
	p.acct = a;
	p.rcpts = &rc;
	p.read_recipients = t;
	p.now = NOW;
	r = run(text, len, &p, env, &out, &outlen, e);
	free(out);
	strv_free(&rc);
	conf_account_free(a);
	return r == 0 ? 0 : err_exitcode(e);
}

/*
 * Issue 8 row 12 and class 0: qualifying the addresses of a field may
 * make it longer than its buffer (twice MSG_FIELD_MAX); at the cap it is
 * written whole, one octet over it is refused, never cut.
 */
static void
test_qualify_cap(void)
{
	const size_t cap = 2 * MSG_FIELD_MAX;
	const size_t per = 12;		/* "@example.org" */
	struct envelope env;
	struct err e;
	struct buf in;
	size_t k, i, sp, rk;
	int extra, r;

	/*
	 * k addresses "a", 300 a line: the value (" a,a,...,\r\n a,...")
	 * is 2k + 3 * ((k - 1) / 300) octets, and 12 more per address once
	 * qualified.  Then ",\r\n" SP... "b" (sp blanks, one address) fills
	 * the rest up to the cap (extra 0) or one octet past it (extra 1).
	 */
	for (k = 1; 14 * (k + 1) + 3 * (k / 300) + 4 + per < cap - 600; k++)
		;
	rk = 14 * k + 3 * ((k - 1) / 300);
	for (extra = 0; extra <= 1; extra++) {
		sp = cap + (size_t)extra - rk - 4 - per;
		buf_init(&in, 0);
		buf_adds(&in, "To:");
		for (i = 0; i < k; i++)
			buf_adds(&in, i == 0 ? " a" : i % 300 == 0 ?
			    ",\n a" : ",a");
		buf_adds(&in, ",\n");
		for (i = 0; i < sp; i++)
			buf_addc(&in, ' ');
		buf_adds(&in, "b\nSubject: cap\n\nbody\n");
		r = run_simple(in.data, in.len, 0, (const char *[]){ "x@y.org",
		    NULL }, &env, &e);
		if (extra == 0)
			t_ok(r == 0, "qualify: %zu addresses, exactly %zu octets "
			    "qualified: written (%zu blanks) %s", k + 1, cap, sp,
			    e.text);
		else
			t_ok(r == 65 && strstr(e.text, "the To header is longer "
			    "than 524288 octets once its addresses are "
			    "qualified") != NULL,
			    "qualify: one octet over the cap: refused: %s",
			    e.text);
		envelope_release(&env);
		buf_release(&in);
	}
}

/*
 * Issue 8 row 12: never an empty recipient.  An empty word, a comma list
 * of nothing, a group with no member give no recipient (and no
 * recipient at all is 65); <> is refused as a recipient, on the command
 * line (64) and in a header under -t (65).
 */
static void
test_empty_rcpt(void)
{
	static const struct {
		const char *name, *word, *header;
		int code;
	} cases[] = {
		{ "empty word", "", NULL, 65 },
		{ "blank word", "  ", NULL, 65 },
		{ "commas", ", ,", NULL, 65 },
		{ "<> on the command line", "<>", NULL, 64 },
		{ "\"\" <> on the command line", "x <>", NULL, 64 },
		{ "To: <> under -t", NULL, "To: <>\n", 65 },
		{ "To: empty group under -t", NULL,
		    "To: undisclosed-recipients:;\n", 65 },
		{ "Bcc: , , under -t", NULL, "Bcc: , ,\n", 65 },
	};
	struct envelope env;
	struct err e;
	char text[256];
	size_t i, k;
	int r;

	for (i = 0; i < N(cases); i++) {
		const char *words[] = { cases[i].word, NULL };

		snprintf(text, sizeof(text), "%sSubject: s\n\nb\n",
		    cases[i].header ? cases[i].header : "");
		r = run_simple(text, strlen(text), cases[i].header != NULL,
		    cases[i].word ? words : NULL, &env, &e);
		t_inteq(r, cases[i].code, "empty recipient: %s: %s",
		    cases[i].name, e.text);
		for (k = 0; k < env.nrcpt; k++)
			t_ok(env.rcpt[k].addr[0] != '\0',
			    "empty recipient: %s: none in the envelope",
			    cases[i].name);
		envelope_release(&env);
	}
}

/* -t with many recipients: each once, in order, quickly (linear). */
static void
test_many_rcpts(void)
{
	struct envelope env;
	struct err e;
	struct buf in;
	size_t i;
	int r, ok = 1;

	buf_init(&in, 0);
	for (i = 0; i < 50000; i++) {
		if (i % 1000 == 0)
			buf_adds(&in, i ? "\nBcc: " : "Bcc: ");
		else
			buf_adds(&in, i % 30 == 0 ? ",\n " : ", ");
		buf_printf(&in, "u%zu@Example%zu.org", i, i % 7);
	}
	/* The same addresses again, domains in another case. */
	buf_adds(&in, "\nCc: u1@EXAMPLE1.ORG, u2@example2.org\n\nb\n");
	r = run_simple(in.data, in.len, 1, NULL, &env, &e);
	t_ok(r == 0 && env.nrcpt == 50000, "-t: 50,000 recipients, each once "
	    "(%zu): %s", env.nrcpt, e.text);
	for (i = 0; r == 0 && i < env.nrcpt && ok; i++) {
		char want[64];

		snprintf(want, sizeof(want), "u%zu@Example%zu.org", i, i % 7);
		ok = strcmp(env.rcpt[i].addr, want) == 0;
	}
	t_ok(ok, "-t: in the order of the headers");
	envelope_release(&env);
	buf_release(&in);
}

/* msg_sender_of: --read-envelope-from's address. */
static void
test_sender_of(void)
{
	static const struct {
		const char	*in;
		const char	*want;	/* NULL: none */
	} sender_rows[] = {
		{ "From: a@x.org\n\nbody\n", "a@x.org" },
		{ "Subject: s\r\nFrom: \"A, B\" <ab@x.org>\r\n\r\n",
		    "ab@x.org" },
		{ "From: one@x.org, two@x.org\n\n", "one@x.org" },
		{ "Resent-From: r@x.org\nFrom: f@x.org\n\n", "r@x.org" },
		{ "From: f@x.org\nResent-From: r@x.org\n\n", "f@x.org" },
		{ "From f@x.org Mon Jan  1 00:00:00 2024\nFrom: g@x.org\n\n",
		    "g@x.org" },
		{ "From:\n (folded)\n  <fold@x.org>\n\n", "fold@x.org" },
		{ "To: t@x.org\n\nFrom: body@x.org\n", NULL },
		{ "From: <>\n\n", NULL },
		{ "From: not an address\n\n", NULL },
		{ "From: last@x.org\n", "last@x.org" },
		{ "From: cut@x.or", NULL },	/* cut by the cap */
		{ "", NULL },
	};
	size_t i;
	char *a;
	int r;

	for (i = 0; i < sizeof(sender_rows) / sizeof(sender_rows[0]); i++) {
		r = msg_sender_of(sender_rows[i].in,
		    strlen(sender_rows[i].in), &a);
		if (sender_rows[i].want == NULL)
			t_ok(r == -1 && a == NULL, "sender_of %zu: none", i);
		else
			t_ok(r == 0 && a != NULL &&
			    strcmp(a, sender_rows[i].want) == 0,
			    "sender_of %zu: %s (got %s)", i,
			    sender_rows[i].want, a != NULL ? a : "none");
		free(a);
	}
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	test_sender_of();
	test_bare_cr();
	test_qualify_cap();
	test_empty_rcpt();
	test_many_rcpts();
	test_rows();
	test_lengths();
	test_refold();
	test_stream();
	return t_done();
}
