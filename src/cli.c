/*
 * cli owns the command line: getopt_long over a table of sendmail's flags
 * and posthorn's own, into struct cli.  It refuses what could never be
 * right whatever the configuration says: unknown options (-X logfile, the
 * PHPMailer route), options after the first recipient, malformed values,
 * and CR, LF or other control characters in anything that ends up in a
 * header or an SMTP command.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "conf.h"
#include "err.h"
#include "hdr.h"
#include "util/alloc.h"
#include "util/str.h"

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_TLS,
	OPT_USER,
	OPT_AUTH,
	OPT_BCC,
	OPT_REPLY_TO,
	OPT_BODY,
	OPT_HTML,
	OPT_INLINE,
	OPT_SERVERINFO,
	OPT_LOGIN,
	OPT_LOGOUT,
	OPT_DRY_RUN,
	OPT_JSON,
	OPT_NOW,
	OPT_DUE,
	OPT_SHOW,
	OPT_DELETE,
	OPT_REQUEUE,
	OPT_HOLD,
	OPT_RELEASE,
	OPT_ALL,
	OPT_PERSIST,
	OPT_PERSIST_STATUS,
	OPT_PERSIST_STOP,
	OPT_HELP,
	OPT_VERSION,
	OPT_READ_ENVELOPE_FROM,
	OPT_ALLOW_EMPTY,
	OPT_SAVE_COPY,
	OPT_SIGN,
	OPT_SIGN_AS,
	OPT_ENCRYPT,
	OPT_KEY_BASE = 1024,	/* + i: the i-th key option (conf_keyopt) */
};

#define CLI_KEYOPTS_MAX	128

/*
 * Short options: sendmail's (-b -B -C -f -F -G -h -i -I -L -m -n -N -o -O
 * -q -r -R -t -U -v -V) and posthorn's (-a -A -c -H -s), and mailx's
 * where they do not collide with sendmail's (-b ADDR, -e, -E).  '+' stops at
 * the first recipient so that no recipient is ever read as an option.
 */
static const char shortopts[] =
    "+:a:A:b:B:c:C:eEf:F:GH:h:iIL:mnN:o:O:Pq::r:R:s:tUvV:";

static const struct option longopts[] = {
	{ "account",	required_argument,	NULL, 'A' },
	{ "all",	no_argument,		NULL, OPT_ALL },
	{ "allow-empty", no_argument,		NULL, OPT_ALLOW_EMPTY },
	{ "attach",	required_argument,	NULL, 'a' },
	{ "auth",	required_argument,	NULL, OPT_AUTH },
	{ "bcc",	required_argument,	NULL, OPT_BCC },
	{ "body",	required_argument,	NULL, OPT_BODY },
	{ "cc",		required_argument,	NULL, 'c' },
	{ "config",	required_argument,	NULL, 'C' },
	{ "delete",	required_argument,	NULL, OPT_DELETE },
	{ "dry-run",	no_argument,		NULL, OPT_DRY_RUN },
	{ "encrypt",	no_argument,		NULL, OPT_ENCRYPT },
	{ "edit",	no_argument,		NULL, 'e' },
	{ "due",	no_argument,		NULL, OPT_DUE },
	{ "from",	required_argument,	NULL, 'f' },
	{ "header",	required_argument,	NULL, 'H' },
	{ "help",	no_argument,		NULL, OPT_HELP },
	{ "hold",	required_argument,	NULL, OPT_HOLD },
	{ "host",	required_argument,	NULL, OPT_HOST },
	{ "html",	required_argument,	NULL, OPT_HTML },
	{ "inline",	required_argument,	NULL, OPT_INLINE },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "login",	no_argument,		NULL, OPT_LOGIN },
	{ "logout",	no_argument,		NULL, OPT_LOGOUT },
	{ "now",	no_argument,		NULL, OPT_NOW },
	{ "persist",	required_argument,	NULL, OPT_PERSIST },
	{ "persist-status", no_argument,	NULL, OPT_PERSIST_STATUS },
	{ "persist-stop", no_argument,		NULL, OPT_PERSIST_STOP },
	{ "port",	required_argument,	NULL, OPT_PORT },
	{ "pretend",	no_argument,		NULL, 'P' },
	{ "read-envelope-from", no_argument, NULL, OPT_READ_ENVELOPE_FROM },
	{ "read-recipients", no_argument,	NULL, 't' },
	{ "release",	required_argument,	NULL, OPT_RELEASE },
	{ "reply-to",	required_argument,	NULL, OPT_REPLY_TO },
	{ "requeue",	required_argument,	NULL, OPT_REQUEUE },
	{ "save-copy",	required_argument,	NULL, OPT_SAVE_COPY },
	{ "serverinfo",	no_argument,		NULL, OPT_SERVERINFO },
	{ "skip-empty",	no_argument,		NULL, 'E' },
	{ "show",	required_argument,	NULL, OPT_SHOW },
	{ "sign",	no_argument,		NULL, OPT_SIGN },
	{ "sign-as",	required_argument,	NULL, OPT_SIGN_AS },
	{ "subject",	required_argument,	NULL, 's' },
	{ "tls",	required_argument,	NULL, OPT_TLS },
	{ "user",	required_argument,	NULL, OPT_USER },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "version",	no_argument,		NULL, OPT_VERSION },
	{ NULL,		0,			NULL, 0 },
};

/* The key options, as many to a line as fit in 78 columns. */
static void
cli_usage_keyopts(FILE *out)
{
	const char *k;
	size_t i, col = 0, n;
	int optional;

	for (i = 0; (k = conf_keyopt(i, &optional)) != NULL; i++) {
		n = strlen(k) + 3 + (optional ? 8 : 0);
		if (col > 0 && col + n > 78) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0) {
			fputs("   ", out);
			col = 3;
		}
		fputs(" --", out);
		for (; *k != '\0'; k++)
			fputc(*k == '_' ? '-' : *k, out);
		if (optional)
			fputs("[=VALUE]", out);
		col += n;
	}
	if (col > 0)
		fputc('\n', out);
}

void
cli_usage(FILE *out)
{
	fputs(
"usage: posthorn [options] [--] [recipient ...]\n"
"       sendmail [-t] [-i] [-f sender] [-F name] [recipient ...] < message\n"
"       posthorn -s subject [-a file] [-c addr] recipient ... < body\n"
"       posthorn -bp | mailq      posthorn -q\n"
"       posthorn --show|--delete|--requeue|--hold|--release ID... | all\n"
"       posthorn --login|--logout [-A account]\n"
"\n"
"Sending (sendmail compatible):\n"
"  -t, --read-recipients  recipients also from To, Cc, Bcc (or Resent-*)\n"
"  -f, -r, --from ADDR  envelope sender ('<>' for the null sender);\n"
"                     -r 'Name <addr>' also puts Name into From\n"
"  --read-envelope-from  sender (and account) from the From header\n"
"  -F NAME            display name for a From header posthorn adds\n"
"  -N DSN             NOTIFY: never, or success,failure,delay\n"
"  -R full|hdrs       DSN RET   -V ENVID  DSN envelope id\n"
"  -B 7BIT|8BITMIME   body type\n"
"  -C, --config FILE  configuration file\n"
"  -v, --verbose      show the SMTP dialogue on stderr (secrets as ***)\n"
"  -i, -oi            accepted: input is always read to its end\n"
"  -bm                deliver (default)   -bp  list the queue (mailq)\n"
"  -bs                speak SMTP on standard input and output\n"
"  -bi, -I            nothing to rebuild (exit 0)\n"
"  -q, -q --now       deliver everything queued, now\n"
"  -q --due           only what the retry backoff allows (for timers)\n"
"  -qI ID             deliver queued message ID now\n"
"  ignored as Postfix does: -o* -G -h N -L TAG -U -m -n -O x=y\n"
"\n"
"Account:\n"
"  -A, --account NAME use that account of the configuration\n"
"  --host H  --port P  --tls on|off|starttls  --user U  --auth on|off|MECH\n"
"  --persist SECONDS  keep the session for later sends that long (0: off)\n"
"\n"
"Composing:\n"
"  -s, --subject TEXT subject (selects compose mode)\n"
"  -a, --attach FILE[:type/sub]  attach a file (repeatable)\n"
"  -c, --cc ADDR      -b, --bcc ADDR   --reply-to ADDR\n"
"  -H, --header 'Name: value'     add a header (repeatable)\n"
"  --body FILE|-      text body (default: standard input; at a terminal\n"
"                     it is typed, ended by Ctrl-D or a line with '.')\n"
"  --allow-empty      send a body typed empty at a terminal (else exit 65)\n"
"  -E, --skip-empty   an empty body (or message) sends nothing, exit 0\n"
"  --html FILE        HTML alternative   --inline FILE  inline image (cid:)\n"
"  -e, --edit         compose in $VISUAL or $EDITOR: a draft with To, Cc,\n"
"                     Bcc, Subject, Attach lines and the body\n"
"  --save-copy PATH   once sent, append a copy to a Maildir (a directory,\n"
"                     or PATH ending in /) or an mbox file\n"
"  --sign, --sign-as KEY  PGP/MIME signed (RFC 3156), with the sender's\n"
"                     key or KEY (GnuPG keyring, through GPGME)\n"
"  --encrypt          PGP/MIME encrypted to every recipient's key; one\n"
"                     missing: exit 65, nothing sent\n"
"  --dry-run          print the envelope and message instead of sending\n"
"\n"
"Queue:\n"
"  --show ID          a queued or failed message: state, reason, envelope,\n"
"                     route, header (with --json: as JSON)\n"
"  --delete ID...     remove messages from the queue or failed area\n"
"  --requeue ID...    failed or held messages back to the queue, due now\n"
"  --hold ID...       keep messages queued, untried, until --release\n"
"  --release ID...    let held messages go, due now\n"
"                     (each takes one or more ids, or all)\n"
"  --all              with -bp, as root: every user's queue, read only\n"
"\n"
"Keys as options (msmtp's; as the configuration line, for this run):\n"
"  --KEY=VALUE        for these keys of posthorn.conf(5):\n",
	    out);
	cli_usage_keyopts(out);
	fputs(
"\n"
"Other:\n"
"  --serverinfo       show the server's greeting, TLS, extensions, AUTH\n"
"                     (and the OAuth2 sign-in: expiry, scopes)\n"
"  --login            OAuth2: sign the account in (URLs and codes on\n"
"                     standard error, one per line); tokens stored\n"
"  --logout           OAuth2: revoke (where possible) and forget tokens\n"
"  -P, --pretend      show the account this run would use, each value and\n"
"                     where it came from (secrets as ***), and exit\n"
"  --persist-status   list the sessions held for later sends (persist)\n"
"  --persist-stop     end them (with -A NAME: that account's only)\n"
"  --json             with -bp: one JSON object per message; with --show;\n"
"                     with a send: the outcome per recipient on stdout\n"
"  --help, --version\n"
"\n"
"Exit status follows sysexits.h: 0 sent or queued, 64 usage, 65 bad\n"
"message, 67 recipient rejected, 69 unavailable, 75 temporary failure,\n"
"77 authentication failed, 78 configuration error, 130 cancelled with\n"
"Ctrl-C; see posthorn(1).\n",
	    out);
}

/* --persist SECONDS: 0 (off) to a day. */
static int
parse_persist(const char *arg, int *out, struct err *e)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || n < 0 || n > 86400)
		return err_set(e, ERR_USAGE, "invalid --persist '%s' (seconds, "
		    "0 to 86400)", arg);
	*out = (int)n + 1;
	return 0;
}

/* Refuses control characters in a value that reaches a header or command. */
static int
clean(const char *what, const char *v, struct err *e)
{
	if (str_has_ctl(v))
		return err_set(e, ERR_USAGE,
		    "%s contains a control character (CR, LF or similar)",
		    what);
	return 0;
}

static int
set_once(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
	return 0;
}

/* -f/-r: strips one pair of angle brackets; "<>" and "" are the null sender. */
static int
parse_sender(struct cli *c, const char *v, struct err *e)
{
	const char *lt, *gt;
	size_t n;

	if (clean("sender (-f)", v, e) == -1)
		return -1;
	lt = strchr(v, '<');
	gt = strrchr(v, '>');
	if (lt != NULL && gt != NULL && gt > lt) {
		free(c->sender);
		c->sender = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		str_trim(c->sender);
		/* mailx's -r 'Name <addr>': the name goes into From. */
		free(c->sender_name);
		c->sender_name = xstrndup(v, (size_t)(lt - v));
		str_trim(c->sender_name);
		n = strlen(c->sender_name);
		if (n >= 2 && c->sender_name[0] == '"' &&
		    c->sender_name[n - 1] == '"') {
			memmove(c->sender_name, c->sender_name + 1, n - 2);
			c->sender_name[n - 2] = '\0';
		}
		if (*c->sender_name == '\0') {
			free(c->sender_name);
			c->sender_name = NULL;
		}
	} else if (lt != NULL || gt != NULL) {
		return err_set(e, ERR_USAGE, "invalid sender '%s'", v);
	} else {
		set_once(&c->sender, v);
		str_trim(c->sender);
	}
	if (strchr(c->sender, ' ') != NULL && c->sender[0] != '"')
		return err_set(e, ERR_USAGE, "invalid sender '%s'", v);
	return 0;
}

/* -N: "never" alone, or a list of success, failure, delay. */
static int
parse_notify(struct cli *c, const char *v, struct err *e)
{
	char *copy, *tok, *save = NULL;
	int seen_never = 0, seen_other = 0;
	size_t i, o;

	copy = xstrdup(v);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		str_trim(tok);
		if (strcasecmp(tok, "never") == 0)
			seen_never = 1;
		else if (strcasecmp(tok, "success") == 0 ||
		    strcasecmp(tok, "failure") == 0 ||
		    strcasecmp(tok, "delay") == 0)
			seen_other = 1;
		else {
			err_set(e, ERR_USAGE, "invalid DSN notification '%s' "
			    "for -N (never, or success,failure,delay)", tok);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if ((seen_never && seen_other) || (!seen_never && !seen_other))
		return err_set(e, ERR_USAGE,
		    "invalid -N '%s' (never, or success,failure,delay)", v);
	/* Upper case, blanks removed: the form NOTIFY= takes. */
	free(c->dsn_notify);
	c->dsn_notify = xstrdup(v);
	for (i = o = 0; v[i] != '\0'; i++)
		if (v[i] != ' ' && v[i] != '\t')
			c->dsn_notify[o++] = v[i];
	c->dsn_notify[o] = '\0';
	str_upper(c->dsn_notify);
	return 0;
}

/*
 * -b: sendmail's modes are one letter (-bm, -bp, -bs, -bi; the others are
 * refused); anything longer is mailx's -b ADDR, a Bcc recipient.
 */
static int
parse_b(struct cli *c, const char *v, struct err *e)
{
	if (strlen(v) > 1) {
		if (clean("address (-b)", v, e) == -1)
			return -1;
		strv_add(&c->bcc, v);
		return 0;
	}
	if (strcmp(v, "m") == 0)
		c->mode = CLI_SEND;
	else if (strcmp(v, "p") == 0)
		c->mode = CLI_LIST;
	else if (strcmp(v, "s") == 0)
		c->mode = CLI_SMTP;
	else if (strcmp(v, "i") == 0)
		c->mode = CLI_NOOP;
	else
		return err_set(e, ERR_USAGE, "unsupported mode -b%s", v);
	return 0;
}

/*
 * -q delivers everything queued now (SPEC.md), -qq and -q -q too; -qI ID
 * delivers one message; -q with an interval (-q15m, as for a daemon) does
 * nothing.  --due limits a run to messages whose backoff has passed.
 */
static int
parse_q(struct cli *c, const char *v, const char *next, int *used_next,
    struct err *e)
{
	*used_next = 0;
	if (v == NULL || *v == '\0' || strcmp(v, "q") == 0) {
		c->mode = CLI_FLUSH;
		return 0;
	}
	if (v[0] == 'I') {
		const char *id = v[1] != '\0' ? v + 1 : next;

		if (id == NULL || *id == '\0' || id[0] == '-')
			return err_set(e, ERR_USAGE, "-qI needs a queue id");
		if (strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz.-_") != strlen(id))
			return err_set(e, ERR_USAGE, "invalid queue id '%s'",
			    id);
		*used_next = v[1] == '\0';
		set_once(&c->queue_id, id);
		c->mode = CLI_FLUSH;
		return 0;
	}
	if (strspn(v, "0123456789smhdw") == strlen(v)) {
		/* An interval: only a daemon would use it. */
		if (c->mode == CLI_SEND)
			c->mode = CLI_NOOP;
		return 0;
	}
	return err_set(e, ERR_USAGE, "unsupported option -q%s", v);
}

static int
parse_port(const char *v, int *port, struct err *e)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 1 || n > 65535)
		return err_set(e, ERR_USAGE, "invalid port '%s'", v);
	*port = (int)n;
	return 0;
}

static int
parse_header_opt(struct cli *c, const char *v, struct err *e)
{
	size_t n;

	if (clean("header (-H)", v, e) == -1)
		return -1;
	n = hdr_name_len(v, strlen(v));
	if (n == 0)
		return err_set(e, ERR_USAGE,
		    "invalid header '%s' (expected 'Name: value')", v);
	strv_add(&c->headers, v);
	return 0;
}

/* A queue id as -qI and the queue commands take it, or "all". */
static int
check_id(const char *id, int allow_all, struct err *e)
{
	size_t n = strlen(id);

	if (allow_all && strcmp(id, "all") == 0)
		return 0;
	if (n == 0 || n >= 32 || strspn(id, "0123456789ABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != n)
		return err_set(e, ERR_USAGE, "invalid queue id '%s'", id);
	return 0;
}

/* --show, --delete, --requeue, --hold, --release: one mode a run. */
static int
parse_qcmd(struct cli *c, int opt, const char *arg, struct err *e)
{
	static const struct {
		int		 opt;
		enum cli_qcmd	 cmd;
	} cmds[] = {
		{ OPT_DELETE, CLI_Q_DELETE }, { OPT_REQUEUE, CLI_Q_REQUEUE },
		{ OPT_HOLD, CLI_Q_HOLD }, { OPT_RELEASE, CLI_Q_RELEASE },
	};
	size_t i;

	if (c->mode == CLI_SHOW || c->mode == CLI_QUEUE_CMD)
		return err_set(e, ERR_USAGE, "one queue command at a time");
	if (check_id(arg, opt != OPT_SHOW, e) == -1)
		return -1;
	strv_add(&c->queue_ids, arg);
	if (opt == OPT_SHOW) {
		c->mode = CLI_SHOW;
		return 0;
	}
	c->mode = CLI_QUEUE_CMD;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].opt == opt)
			c->qcmd = cmds[i].cmd;
	return 0;
}

/* -B: the body type the message declares to the server. */
static int
parse_body_type(struct cli *c, const char *v, struct err *e)
{
	if (strcasecmp(v, "7BIT") == 0)
		c->body = CLI_BODY_7BIT;
	else if (strcasecmp(v, "8BITMIME") == 0)
		c->body = CLI_BODY_8BITMIME;
	else
		return err_set(e, ERR_USAGE,
		    "invalid body type '%s' for -B (7BIT or 8BITMIME)", v);
	return 0;
}

/* -R: the DSN RET= value, in the form the MAIL command takes. */
static int
parse_ret(struct cli *c, const char *v, struct err *e)
{
	if (strcasecmp(v, "full") == 0)
		set_once(&c->dsn_ret, "FULL");
	else if (strcasecmp(v, "hdrs") == 0 ||
	    strcasecmp(v, "headers") == 0)
		set_once(&c->dsn_ret, "HDRS");
	else
		return err_set(e, ERR_USAGE,
		    "invalid DSN return '%s' for -R (full or hdrs)", v);
	return 0;
}

/*
 * -V: the DSN ENVID= value.  Only printable ASCII without blanks, so that
 * it goes into the MAIL command as it is.
 */
static int
parse_envid(struct cli *c, const char *v, struct err *e)
{
	if (*v == '\0' || strlen(v) > 100 ||
	    strspn(v, "!\"#$%&'()*,-./0123456789:;<>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
	    "abcdefghijklmnopqrstuvwxyz{|}~+=") != strlen(v))
		return err_set(e, ERR_USAGE,
		    "invalid envelope id for -V (1 to 100 printable "
		    "ASCII characters)");
	set_once(&c->dsn_envid, v);
	return 0;
}

/*
 * One option as getopt_long gave it.  argc, argv and optind are there for
 * the two options that look at the words around their value: -A (was it
 * written -Am?) and -q (-qI takes the next word as its id).
 */
struct opt_read {
	int		 opt;
	const char	*arg;
	int		 argc;
	char		**argv;
	int		*optind;
};

/*
 * The options come in groups, one function each, as --help shows them.
 * A group returns 0 or -1 for an option of its own and OPT_NOT_OURS for
 * any other, so that each option is named in one place only.
 */
#define OPT_NOT_OURS	1

/* Sendmail's envelope and DSN options, and what it accepts and ignores. */
static int
opt_sending(struct cli *c, const struct opt_read *o, struct err *e)
{
	switch (o->opt) {
	case 'f':
	case 'r':
		return parse_sender(c, o->arg, e);
	case 'F':
		if (clean("full name (-F)", o->arg, e) == -1)
			return -1;
		set_once(&c->full_name, o->arg);
		return 0;
	case 'N':
		return parse_notify(c, o->arg, e);
	case 'R':
		return parse_ret(c, o->arg, e);
	case 'V':
		return parse_envid(c, o->arg, e);
	case 'B':
		return parse_body_type(c, o->arg, e);
	case 't':
		c->read_recipients = 1;
		return 0;
	case OPT_READ_ENVELOPE_FROM:
		c->read_envelope_from = 1;
		return 0;
	case 'G': case 'h': case 'i': case 'L': case 'm': case 'n':
	case 'o': case 'O': case 'U':
		/* Accepted and ignored, as Postfix does. */
		return 0;
	}
	return OPT_NOT_OURS;
}

/* The options that choose what the run does instead of sending. */
static int
opt_mode(struct cli *c, const struct opt_read *o, struct err *e)
{
	static const struct {
		int		 opt;
		enum cli_mode	 mode;
	} modes[] = {
		{ 'I', CLI_NOOP }, { 'P', CLI_PRETEND },
		{ OPT_SERVERINFO, CLI_SERVERINFO }, { OPT_LOGIN, CLI_LOGIN },
		{ OPT_LOGOUT, CLI_LOGOUT },
		{ OPT_PERSIST_STATUS, CLI_PERSIST_STATUS },
		{ OPT_PERSIST_STOP, CLI_PERSIST_STOP },
		{ OPT_HELP, CLI_HELP }, { OPT_VERSION, CLI_VERSION },
	};
	size_t i;

	/* -b is sendmail's mode letter, or mailx's Bcc: parse_b tells. */
	if (o->opt == 'b')
		return parse_b(c, o->arg, e);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (modes[i].opt == o->opt) {
			c->mode = modes[i].mode;
			return 0;
		}
	}
	return OPT_NOT_OURS;
}

/* -q and the queue commands, with the options that qualify them. */
static int
opt_queue(struct cli *c, const struct opt_read *o, struct err *e)
{
	int used = 0;

	switch (o->opt) {
	case 'q':
		if (parse_q(c, o->arg, *o->optind < o->argc ?
		    o->argv[*o->optind] : NULL, &used, e) == -1)
			return -1;
		*o->optind += used;
		return 0;
	case OPT_NOW:
		c->due_only = 0;
		return 0;
	case OPT_DUE:
		c->due_only = 1;
		return 0;
	case OPT_SHOW:
	case OPT_DELETE:
	case OPT_REQUEUE:
	case OPT_HOLD:
	case OPT_RELEASE:
		return parse_qcmd(c, o->opt, o->arg, e);
	case OPT_ALL:
		c->all_users = 1;
		return 0;
	}
	return OPT_NOT_OURS;
}

/*
 * -Am and -Ac (one word) pick Sendmail's submit.cf or sendmail.cf; Postfix
 * and msmtp ignore them, so does posthorn.  "-A m" (two words) is the
 * account m.
 */
static int
is_sendmail_cf(const struct opt_read *o)
{
	int i = *o->optind;

	return i >= 1 && (strcmp(o->argv[i - 1], "-Am") == 0 ||
	    strcmp(o->argv[i - 1], "-Ac") == 0);
}

/* The account, and the values of it this run overrides. */
static int
opt_account(struct cli *c, const struct opt_read *o, struct err *e)
{
	const char *arg = o->arg;

	switch (o->opt) {
	case 'A':
		if (is_sendmail_cf(o))
			return 0;
		if (clean("account name", arg, e) == -1)
			return -1;
		set_once(&c->account, arg);
		return 0;
	case 'C':
		set_once(&c->config, arg);
		return 0;
	case OPT_HOST:
		if (clean("host", arg, e) == -1)
			return -1;
		set_once(&c->host, arg);
		return 0;
	case OPT_PORT:
		return parse_port(arg, &c->port, e);
	case OPT_TLS:
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0 &&
		    strcmp(arg, "starttls") != 0)
			return err_set(e, ERR_USAGE,
			    "invalid --tls '%s' (on, off or starttls)", arg);
		set_once(&c->tls, arg);
		return 0;
	case OPT_USER:
		if (clean("user", arg, e) == -1)
			return -1;
		set_once(&c->user, arg);
		return 0;
	case OPT_AUTH:
		if (clean("auth", arg, e) == -1 || *arg == '\0' ||
		    strchr(arg, ' ') != NULL)
			return err_set(e, ERR_USAGE, "invalid --auth value");
		set_once(&c->auth, arg);
		return 0;
	case OPT_PERSIST:
		return parse_persist(arg, &c->persist, e);
	}
	return OPT_NOT_OURS;
}

/* Compose mode: the header fields of the message posthorn writes. */
static int
opt_headers(struct cli *c, const struct opt_read *o, struct err *e)
{
	const char *arg = o->arg;

	switch (o->opt) {
	case 's':
		if (clean("subject (-s)", arg, e) == -1)
			return -1;
		set_once(&c->subject, arg);
		c->compose = 1;
		return 0;
	case 'c':
		if (clean("address (-c)", arg, e) == -1)
			return -1;
		strv_add(&c->cc, arg);
		return 0;
	case OPT_BCC:
		if (clean("address (--bcc)", arg, e) == -1)
			return -1;
		strv_add(&c->bcc, arg);
		return 0;
	case OPT_REPLY_TO:
		if (clean("address (--reply-to)", arg, e) == -1)
			return -1;
		strv_add(&c->reply_to, arg);
		return 0;
	case 'H':
		return parse_header_opt(c, arg, e);
	}
	return OPT_NOT_OURS;
}

/* Compose mode: the body and its parts, and what an empty one does. */
static int
opt_body(struct cli *c, const struct opt_read *o, struct err *e)
{
	const char *arg = o->arg;

	switch (o->opt) {
	case OPT_BODY:
		/* "--body -": standard input, as without --body. */
		free(c->body_file);
		c->body_file = strcmp(arg, "-") == 0 ? NULL : xstrdup(arg);
		c->compose = 1;
		return 0;
	case OPT_HTML:
		set_once(&c->html_file, arg);
		c->compose = 1;
		return 0;
	case OPT_INLINE:
		if (clean("inline file name", arg, e) == -1)
			return -1;
		strv_add(&c->inline_files, arg);
		return 0;
	case 'a':
		if (clean("attachment name (-a)", arg, e) == -1)
			return -1;
		strv_add(&c->attach, arg);
		return 0;
	case 'e':
		c->edit = 1;
		c->compose = 1;
		return 0;
	case 'E':
		c->skip_empty = 1;
		return 0;
	case OPT_ALLOW_EMPTY:
		c->allow_empty = 1;
		return 0;
	}
	return OPT_NOT_OURS;
}

/* PGP/MIME: signed, encrypted or both. */
static int
opt_pgp(struct cli *c, const struct opt_read *o, struct err *e)
{
	switch (o->opt) {
	case OPT_SIGN:
		c->sign = 1;
		return 0;
	case OPT_SIGN_AS:
		if (*o->arg == '\0' ||
		    clean("--sign-as key", o->arg, e) == -1)
			return err_set(e, ERR_USAGE, "invalid --sign-as key");
		set_once(&c->sign_as, o->arg);
		c->sign = 1;
		return 0;
	case OPT_ENCRYPT:
		c->encrypt = 1;
		return 0;
	}
	return OPT_NOT_OURS;
}

/*
 * What the run shows or leaves behind besides its exit status: the -v
 * trace, JSON, a dry run's print instead of a send, a copy once sent.
 */
static int
opt_output(struct cli *c, const struct opt_read *o, struct err *e)
{
	switch (o->opt) {
	case 'v':
		c->verbose++;
		return 0;
	case OPT_JSON:
		c->json = 1;
		return 0;
	case OPT_DRY_RUN:
		c->dry_run = 1;
		return 0;
	case OPT_SAVE_COPY:
		if (*o->arg == '\0' ||
		    clean("--save-copy path", o->arg, e) == -1)
			return err_set(e, ERR_USAGE, "invalid --save-copy "
			    "path");
		set_once(&c->save_copy, o->arg);
		return 0;
	}
	return OPT_NOT_OURS;
}

/* One option into c: the group that knows it takes it. */
static int
parse_one(struct cli *c, int opt, const char *arg, int *optind_p,
    int argc, char **argv, struct err *e)
{
	static int (*const groups[])(struct cli *, const struct opt_read *,
	    struct err *) = {
		opt_sending, opt_mode, opt_queue, opt_account, opt_headers,
		opt_body, opt_pgp, opt_output,
	};
	const struct opt_read o = { opt, arg, argc, argv, optind_p };
	size_t i;
	int r;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if ((r = groups[i](c, &o, e)) != OPT_NOT_OURS)
			return r;
	return err_set(e, ERR_SOFTWARE, "unhandled option %d", opt);
}

int
cli_compose_field(struct cli *c, enum cli_field f, const char *v,
    struct err *e)
{
	int optind_unused = 0;

	switch (f) {
	case CLI_F_TO:
		if (clean("recipient", v, e) == -1)
			return -1;
		strv_add(&c->rcpts, v);
		return 0;
	case CLI_F_CC:
		return parse_one(c, 'c', v, &optind_unused, 0, NULL, e);
	case CLI_F_BCC:
		return parse_one(c, OPT_BCC, v, &optind_unused, 0, NULL, e);
	case CLI_F_SUBJECT:
		return parse_one(c, 's', v, &optind_unused, 0, NULL, e);
	case CLI_F_ATTACH:
		return parse_one(c, 'a', v, &optind_unused, 0, NULL, e);
	}
	return err_set(e, ERR_SOFTWARE, "unknown compose field %d", (int)f);
}

/* The basename of argv[0] is the personality: mailq, newaliases or not. */
static void
set_personality(struct cli *c, int argc, char **argv)
{
	const char *base;

	base = argc > 0 && argv[0] != NULL ? argv[0] : "posthorn";
	if (strrchr(base, '/') != NULL)
		base = strrchr(base, '/') + 1;
	c->progname = base;
	if (strcmp(base, "mailq") == 0)
		c->mode = CLI_LIST;
	else if (strcmp(base, "newaliases") == 0)
		c->mode = CLI_NOOP;
}

/*
 * posthorn's own long options, then one per key (msmtp's --tls-trust-file=
 * and the others), made from conf's key table.  The names are kept in
 * c->keyopt_names; the array is the caller's to free.
 */
static struct option *
make_longopts(struct cli *c, size_t *nkeys_p)
{
	struct option *opts;
	size_t nstatic, nkeys, k;
	int i, optional;

	nstatic = sizeof(longopts) / sizeof(longopts[0]) - 1;
	for (nkeys = 0; conf_keyopt(nkeys, NULL) != NULL; nkeys++)
		;
	if (nkeys > CLI_KEYOPTS_MAX)
		nkeys = CLI_KEYOPTS_MAX;
	opts = xreallocarray(NULL, nstatic + nkeys + 1, sizeof(*opts));
	memcpy(opts, longopts, nstatic * sizeof(*opts));
	for (k = 0; k < nkeys; k++) {
		char *name = xstrdup(conf_keyopt(k, &optional));

		for (i = 0; name[i] != '\0'; i++)
			if (name[i] == '_')
				name[i] = '-';
		strv_add(&c->keyopt_names, name);
		free(name);
		opts[nstatic + k].name = c->keyopt_names.v[k];
		opts[nstatic + k].has_arg = optional ? optional_argument :
		    required_argument;
		opts[nstatic + k].flag = NULL;
		opts[nstatic + k].val = OPT_KEY_BASE + (int)k;
	}
	memset(&opts[nstatic + nkeys], 0, sizeof(*opts));
	*nkeys_p = nkeys;
	return opts;
}

/*
 * A long option must be spelt whole: getopt_long takes any unambiguous
 * prefix, and with the key options "--logfile" would be read as
 * --logfile-time-format.  lo is the option getopt_long just matched; the
 * word it came from is read back through optind.
 */
static int
check_spelt_whole(const struct option *lo, char **argv, struct err *e)
{
	const char *w = optarg != NULL && optind >= 2 &&
	    optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
	size_t nl = strlen(lo->name);

	if (strncmp(w, "--", 2) != 0 || strncmp(w + 2, lo->name, nl) != 0 ||
	    (w[2 + nl] != '\0' && w[2 + nl] != '='))
		return err_set(e, ERR_USAGE, "unknown option '%.*s' (see "
		    "--help)", (int)strcspn(w, "="), w);
	return 0;
}

/* --KEY[=VALUE]: kept as the configuration line it stands for. */
static int
parse_keyopt(struct cli *c, size_t k, const char *arg, struct err *e)
{
	const char *v = arg != NULL ? arg : "";

	if (clean(c->keyopt_names.v[k], v, e) == -1)
		return -1;
	strv_add(&c->keyopts, conf_keyopt(k, NULL));
	strv_add(&c->keyopts, v);
	return 0;
}

/*
 * What getopt_long could not read: '?' is an unknown option, ':' one
 * without its value.  A short option is named by its letter, a long one
 * by the word as written.
 */
static int
getopt_error(int opt, char **argv, struct err *e)
{
	if (opt == '?') {
		if (optopt != 0 && optopt < 256)
			return err_set(e, ERR_USAGE,
			    "unknown option '-%c' (see --help)", optopt);
		return err_set(e, ERR_USAGE, "unknown option '%s' (see --help)",
		    argv[optind - 1]);
	}
	if (optopt != 0 && optopt < 256)
		return err_set(e, ERR_USAGE, "option '-%c' needs a value",
		    optopt);
	return err_set(e, ERR_USAGE, "option '%s' needs a value",
	    argv[optind - 1]);
}

/* The options, up to the first operand (or --), into c. */
static int
read_options(struct cli *c, int argc, char **argv, const struct option *opts,
    size_t nkeys, struct err *e)
{
	int opt, li;

	opterr = 0;
	optind = 0;	/* glibc: full reinitialisation (unit tests parse twice) */
	li = -1;
	while ((opt = getopt_long(argc, argv, shortopts, opts, &li)) != -1) {
		if (li >= 0) {
			if (check_spelt_whole(&opts[li], argv, e) == -1)
				return -1;
			li = -1;
		}
		if (opt >= OPT_KEY_BASE && opt < OPT_KEY_BASE + (int)nkeys) {
			if (parse_keyopt(c, (size_t)(opt - OPT_KEY_BASE),
			    optarg, e) == -1)
				return -1;
			continue;
		}
		if (opt == '?' || opt == ':')
			return getopt_error(opt, argv, e);
		if (parse_one(c, opt, optarg, &optind, argc, argv, e) == -1)
			return -1;
	}
	return 0;
}

/*
 * A queue command's operands: more ids after the one its option took.
 * No other check applies to a queue command but --json's.
 */
static int
read_queue_ids(struct cli *c, int first, int argc, char **argv,
    struct err *e)
{
	int i;

	for (i = first; i < argc; i++) {
		if (c->mode == CLI_SHOW)
			return err_set(e, ERR_USAGE, "--show takes one id");
		if (check_id(argv[i], 1, e) == -1)
			return -1;
		strv_add(&c->queue_ids, argv[i]);
	}
	if (c->queue_ids.n > 1 && strv_has(&c->queue_ids, "all"))
		return err_set(e, ERR_USAGE, "'all' goes alone");
	if (c->json && c->mode != CLI_SHOW)
		return err_set(e, ERR_USAGE, "--json works with -bp, --show "
		    "and a send");
	return 0;
}

/*
 * The operands of any other run: recipients.  A word that looks like an
 * option is refused unless -- came before it, so that a misplaced option
 * is never mailed to.
 */
static int
read_recipients(struct cli *c, int first, int argc, char **argv,
    struct err *e)
{
	int i, dashdash;

	dashdash = first > 0 && first <= argc &&
	    strcmp(argv[first - 1], "--") == 0;
	for (i = first; i < argc; i++) {
		if (!dashdash && argv[i][0] == '-')
			return err_set(e, ERR_USAGE,
			    "option '%s' after the first recipient (options "
			    "come first; use -- before recipients)", argv[i]);
		if (clean("recipient", argv[i], e) == -1)
			return -1;
		strv_add(&c->rcpts, argv[i]);
	}
	return 0;
}

/*
 * Options that each parsed well but do not go together, or not with the
 * mode.  The order decides which message a run with several mistakes
 * gets; keep it.
 */
static int
check_combinations(const struct cli *c, struct err *e)
{
	if ((c->mode == CLI_LOGIN || c->mode == CLI_LOGOUT) && c->rcpts.n > 0)
		return err_set(e, ERR_USAGE, "--login and --logout take no "
		    "recipients (choose the account with -A)");
	if (c->json && c->mode != CLI_LIST && c->mode != CLI_SEND)
		return err_set(e, ERR_USAGE, "--json works with -bp, --show "
		    "and a send");
	if (c->all_users && c->mode != CLI_LIST)
		return err_set(e, ERR_USAGE, "--all works only with -bp "
		    "(mailq)");
	if (c->due_only && c->mode != CLI_FLUSH)
		return err_set(e, ERR_USAGE, "--due works only with -q");
	if (c->compose && c->mode != CLI_SEND)
		return err_set(e, ERR_USAGE,
		    "compose options (-s, --body, --html) only when sending");
	if (!c->compose && (c->html_file == NULL && c->inline_files.n > 0))
		return err_set(e, ERR_USAGE, "--inline needs --html");
	if (c->compose && c->read_recipients)
		return err_set(e, ERR_USAGE,
		    "-t reads a message; it does not go with -s, --body or "
		    "--html");
	if ((c->compose || c->attach.n > 0) && c->read_envelope_from)
		return err_set(e, ERR_USAGE, "--read-envelope-from reads a "
		    "message's From; it does not go with -s, -a, --body or "
		    "--html");
	if (c->read_envelope_from && c->sender != NULL)
		return err_set(e, ERR_USAGE, "--read-envelope-from and -f "
		    "both name the sender; give one");
	if (!c->compose && (c->cc.n > 0 || c->bcc.n > 0 ||
	    c->reply_to.n > 0 || c->headers.n > 0))
		return err_set(e, ERR_USAGE,
		    "-c, -b, --bcc, --reply-to and -H need compose mode "
		    "(-s, --body or --html)");
	if (c->allow_empty && !c->compose)
		return err_set(e, ERR_USAGE,
		    "--allow-empty needs compose mode (-s, --body or --html)");
	if (c->save_copy != NULL && c->mode != CLI_SEND && c->mode != CLI_SMTP)
		return err_set(e, ERR_USAGE, "--save-copy works only when "
		    "sending");
	if ((c->sign || c->encrypt) && c->mode != CLI_SEND)
		return err_set(e, ERR_USAGE, "--sign and --encrypt work only "
		    "when sending");
	if (c->skip_empty && c->mode != CLI_SEND)
		return err_set(e, ERR_USAGE, "-E works only when sending");
	return 0;
}

int
cli_parse(struct cli *c, int argc, char **argv, struct err *e)
{
	struct option *opts;
	size_t nkeys;
	int r;

	memset(c, 0, sizeof(*c));
	set_personality(c, argc, argv);
	opts = make_longopts(c, &nkeys);
	r = read_options(c, argc, argv, opts, nkeys, e);
	free(opts);
	if (r == -1)
		return -1;
	if (c->mode == CLI_SHOW || c->mode == CLI_QUEUE_CMD)
		return read_queue_ids(c, optind, argc, argv, e);
	if (read_recipients(c, optind, argc, argv, e) == -1)
		return -1;
	return check_combinations(c, e);
}

void
cli_release(struct cli *c)
{
	strv_free(&c->keyopts);
	strv_free(&c->keyopt_names);
	free(c->sender);
	free(c->full_name);
	free(c->sender_name);
	free(c->dsn_notify);
	free(c->dsn_ret);
	free(c->dsn_envid);
	free(c->config);
	free(c->account);
	free(c->host);
	free(c->tls);
	free(c->user);
	free(c->auth);
	free(c->subject);
	strv_free(&c->attach);
	strv_free(&c->cc);
	strv_free(&c->bcc);
	strv_free(&c->reply_to);
	strv_free(&c->headers);
	free(c->body_file);
	free(c->save_copy);
	free(c->sign_as);
	free(c->html_file);
	strv_free(&c->inline_files);
	free(c->queue_id);
	strv_free(&c->queue_ids);
	strv_free(&c->rcpts);
	memset(c, 0, sizeof(*c));
}
