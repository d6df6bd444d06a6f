/*
 * cli: the command line into a plain struct.  Sendmail's flags (Postfix's
 * sendmail(1) is the reference) and posthorn's own; checks that need no
 * file system (values well formed, no CR/LF that could inject a header or
 * an SMTP command, no option after the first recipient).  Reading files,
 * resolving accounts and addresses happens later, elsewhere.
 */
#ifndef POSTHORN_CLI_H
#define POSTHORN_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "util/strv.h"

struct err;

enum cli_mode {
	CLI_SEND = 0,	/* -bm, the default */
	CLI_LIST,	/* -bp, mailq */
	CLI_SMTP,	/* -bs */
	CLI_NOOP,	/* -bi, -I, newaliases, -q with an interval */
	CLI_FLUSH,	/* -q, -qI ID */
	CLI_SERVERINFO,	/* --serverinfo */
	CLI_PRETEND,	/* -P, --pretend */
	CLI_LOGIN,	/* --login: OAuth2 sign-in */
	CLI_LOGOUT,	/* --logout */
	CLI_SHOW,	/* --show ID */
	CLI_QUEUE_CMD,	/* --delete, --requeue, --hold, --release ID... */
	CLI_PERSIST_STATUS, /* --persist-status */
	CLI_PERSIST_STOP, /* --persist-stop */
	CLI_HELP,
	CLI_VERSION,
};

enum cli_body { CLI_BODY_UNSET = 0, CLI_BODY_7BIT, CLI_BODY_8BITMIME };

/* What CLI_QUEUE_CMD does to each id. */
enum cli_qcmd { CLI_Q_DELETE = 1, CLI_Q_REQUEUE, CLI_Q_HOLD, CLI_Q_RELEASE };

struct cli {
	enum cli_mode	 mode;
	const char	*progname;	/* basename of argv[0] */
	int		 read_recipients;	/* -t */
	char		*sender;	/* -f/-r without <>; "" = null sender */
	int		 read_envelope_from; /* --read-envelope-from */
	char		*full_name;	/* -F */
	char		*sender_name;	/* the name of -r 'Name <addr>' */
	char		*dsn_notify;	/* -N: "NEVER" or "SUCCESS,FAILURE,DELAY" subset */
	char		*dsn_ret;	/* -R: "FULL" or "HDRS" */
	char		*dsn_envid;	/* -V */
	enum cli_body	 body;		/* -B */
	char		*config;	/* -C */
	int		 verbose;	/* -v count */
	char		*account;	/* -A, --account */
	char		*host;		/* --host */
	int		 port;		/* --port, 0 = unset */
	char		*tls;		/* --tls on|off|starttls */
	char		*user;		/* --user */
	char		*auth;		/* --auth on|off|MECH */
	struct strv	 keyopts;	/* --KEY=VALUE for a key of the
					   configuration (conf_keyopt): key
					   name, value, key name, value... */
	struct strv	 keyopt_names;	/* the option names, for getopt */
	int		 persist;	/* --persist SECONDS + 1; 0 = unset */

	int		 compose;	/* -s, --body or --html given */
	char		*subject;	/* -s */
	struct strv	 attach;	/* -a FILE[:type/sub], as given */
	struct strv	 cc;		/* -c, --cc */
	struct strv	 bcc;		/* --bcc */
	struct strv	 reply_to;	/* --reply-to */
	struct strv	 headers;	/* -H 'Name: value' */
	char		*body_file;	/* --body (NULL: stdin, also for "-") */
	int		 allow_empty;	/* --allow-empty: send a typed empty body */
	int		 skip_empty;	/* -E: an empty body sends nothing */
	int		 edit;		/* -e, --edit: compose in an editor */
	char		*save_copy;	/* --save-copy PATH */
	int		 sign;		/* --sign, --sign-as: PGP/MIME signed */
	char		*sign_as;	/* --sign-as KEY */
	int		 encrypt;	/* --encrypt: PGP/MIME encrypted */
	char		*html_file;	/* --html */
	struct strv	 inline_files;	/* --inline */
	int		 dry_run;	/* --dry-run */

	int		 json;		/* --json (-bp, --show, a send) */
	int		 due_only;	/* --due: only what backoff allows */
	char		*queue_id;	/* -qI ID */
	int		 all_users;	/* --all (-bp as root) */
	enum cli_qcmd	 qcmd;		/* with CLI_QUEUE_CMD */
	struct strv	 queue_ids;	/* --show/--delete/... ids, or "all" */

	struct strv	 rcpts;		/* recipient words from argv, as given */
};

/*
 * Parses argv into c (zeroed first).  The basename of argv[0] selects the
 * personality: "mailq" lists the queue, "newaliases" does nothing,
 * "sendmail" and anything else send.  The queue commands take their first
 * id as the option's value and more as the words after it (queue_ids;
 * "all" alone stands for every entry).  0 on success; -1 with ERR_USAGE
 * and a one-line message otherwise.
 */
int	 cli_parse(struct cli *c, int argc, char **argv, struct err *e);
void	 cli_release(struct cli *c);

/* The compose fields a draft (draft.c) gives back, for cli_compose_field. */
enum cli_field { CLI_F_TO, CLI_F_CC, CLI_F_BCC, CLI_F_SUBJECT, CLI_F_ATTACH };

/*
 * Sets one compose field from v exactly as its option does (-s, -c, -b,
 * -a, a recipient word): the same checks, the same error (ERR_USAGE).
 * Lists are appended to; the subject replaced.  0 or -1.
 */
int	 cli_compose_field(struct cli *c, enum cli_field f, const char *v,
	    struct err *e);
/* Writes the --help text. */
void	 cli_usage(FILE *out);

#endif
