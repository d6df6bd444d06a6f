/*
 * main owns the top-level flow and the process's exit.  It dispatches on
 * the personality (posthorn, sendmail, mailq, newaliases) and the mode,
 * loads the configuration, picks the account, and for a send: spools the
 * message (msg into spool), then hands it to deliver.  Every failure
 * comes back as an error record; main prints its one line and exits with
 * the status SPEC.md gives it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "bs.h"
#include "cli.h"
#include "compose.h"
#include "conf.h"
#include "deliver.h"
#include "err.h"
#include "mailq.h"
#include "msg.h"
#include "smtp.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/sig.h"
#include "util/str.h"

struct ctx {
	struct cli	 cli;
	struct conf	 conf;
	struct conf_env	 env;
	int		 have_conf;
};

static int
fail(const struct err *e)
{
	fprintf(stderr, "posthorn: %s\n", e->text);
	return err_exitcode(e);
}

/* --host etc. (from the command line, or kept in a queued envelope). */
static void
apply_overrides(struct account *a, const char *host, int port,
    const char *tls, const char *user, const char *auth)
{
	if (host != NULL) {
		free(a->host);
		a->host = xstrdup(host);
	}
	if (port != 0)
		a->port = port;
	if (tls != NULL) {
		a->tls = strcmp(tls, "off") != 0;
		a->tls_starttls = strcmp(tls, "starttls") == 0;
	}
	if (user != NULL) {
		free(a->user);
		a->user = xstrdup(user);
	}
	if (auth != NULL) {
		free(a->auth_mech);
		a->auth_mech = NULL;
		if (strcasecmp(auth, "off") == 0)
			a->auth = 0;
		else {
			a->auth = 1;
			if (strcasecmp(auth, "on") != 0)
				a->auth_mech = str_upper(xstrdup(auth));
		}
	}
}

/*
 * The account: -A, else --host alone (no file needed), else the one whose
 * from matches -f, else "default".  Returns a copy with the command-line
 * overrides applied.
 */
static struct account *
pick_account(struct ctx *c, const char *name, const char *sender,
    int by_host, struct err *e)
{
	const struct account *found = NULL;
	struct account *a;

	if (name != NULL) {
		if (!c->have_conf || (found = conf_account(&c->conf, name)) ==
		    NULL) {
			err_set(e, ERR_CONFIG, "no account '%s'%s%s", name,
			    c->have_conf ? " in " : " (no configuration file)",
			    c->have_conf ? c->conf.path : "");
			return NULL;
		}
	} else if (by_host) {
		a = conf_account_new("command line");
		return a;
	} else if (c->have_conf) {
		if (sender != NULL && *sender != '\0')
			found = conf_account_for_from(&c->conf, sender);
		if (found == NULL)
			found = conf_account(&c->conf, "default");
		if (found == NULL) {
			err_set(e, ERR_CONFIG, "no account 'default' in %s%s; "
			    "name one with -A", c->conf.path, sender != NULL &&
			    *sender ? " and none whose from matches the sender" :
			    "");
			return NULL;
		}
	} else {
		err_set(e, ERR_CONFIG, "no configuration file (see "
		    "posthorn.conf(5) for where posthorn looks) and no --host");
		return NULL;
	}
	return conf_account_dup(found);
}

static struct account *
cli_account(struct ctx *c, const char *sender, struct err *e)
{
	struct cli *cl = &c->cli;
	struct account *a;

	a = pick_account(c, cl->account, sender,
	    cl->account == NULL && cl->host != NULL, e);
	if (a == NULL)
		return NULL;
	apply_overrides(a, cl->host, cl->port, cl->tls, cl->user, cl->auth);
	return a;
}

static struct account *
queued_account(struct deliver_ctx *d, const struct envelope *env,
    struct err *e)
{
	struct ctx *c = d->arg;
	struct account *a;

	a = pick_account(c, env->account, NULL,
	    env->account == NULL && env->host != NULL, e);
	if (a == NULL && env->account != NULL) {
		/* The account was renamed or removed: try the default. */
		a = pick_account(c, NULL, NULL, 0, e);
	}
	if (a == NULL)
		return NULL;
	apply_overrides(a, env->host, env->port, env->tls, env->user,
	    env->auth);
	return a;
}

static void
deliver_init(struct deliver_ctx *d, struct ctx *c, struct spool *sp)
{
	memset(d, 0, sizeof(*d));
	d->conf = &c->conf;
	d->spool = sp;
	d->verbose = c->cli.verbose;
	d->due_only = c->cli.due_only;
	d->now = time(NULL);
	d->account_for = queued_account;
	d->arg = c;
}

static int
load_conf(struct ctx *c, struct err *e)
{
	char *path;
	int found;

	conf_env_init(&c->env);
	path = conf_find(c->cli.config, &found, e);
	if (found == -1)
		return -1;
	if (found == 0)
		return 0;
	if (conf_load(&c->conf, path, c->cli.config != NULL, &c->env, e) ==
	    -1) {
		free(path);
		return -1;
	}
	free(path);
	c->have_conf = 1;
	return 0;
}

/* Opens the queue and finds what a killed run left behind. */
static int
open_spool(struct spool *sp, const struct account *a, struct err *e)
{
	struct err re;

	if (spool_open(sp, a != NULL ? a->queue_dir : NULL, e) == -1)
		return -1;
	if (spool_recover(sp, &re) == -1)
		fprintf(stderr, "posthorn: %s\n", re.text);
	return 0;
}

static void
dry_run(const struct spool_entry *ent)
{
	char buf[65536];
	ssize_t n;
	off_t off = 0;
	size_t i;

	printf("MAIL FROM:<%s>\n", ent->env.sender);
	for (i = 0; i < ent->env.nrcpt; i++)
		printf("RCPT TO:<%s>\n", ent->env.rcpt[i].addr);
	printf("\n");
	fflush(stdout);
	/* The message as stored, CRLF shown as LF. */
	while ((n = pread(ent->fd, buf, sizeof(buf), off)) > 0) {
		ssize_t k, o = 0;

		off += n;
		for (k = 0; k < n; k++)
			if (buf[k] != '\r' || (k + 1 < n && buf[k + 1] != '\n'))
				buf[o++] = buf[k];
		fwrite(buf, 1, (size_t)o, stdout);
	}
	fflush(stdout);
}

/*
 * Spools and delivers one message read from in.  sender and rcpts are the
 * envelope the caller named (argv, or -bs's MAIL and RCPT); compose when
 * the command line composes or attaches.
 */
static int
submit(struct ctx *c, int in, const char *sender, const struct strv *rcpts,
    int compose)
{
	struct cli *cl = &c->cli;
	struct msg_params p;
	struct alias_map aliases;
	struct spool sp;
	struct spool_entry ent;
	struct deliver_ctx d;
	struct account *a;
	struct err e;
	int code, have_aliases = 0, r;

	err_clear(&e);
	if ((a = cli_account(c, sender, &e)) == NULL)
		return fail(&e);
	if (a->aliases != NULL) {
		if (alias_load(&aliases, a->aliases, &e) == -1) {
			conf_account_free(a);
			return fail(&e);
		}
		have_aliases = 1;
	}
	/* Files named on the command line must be readable before anything. */
	if (compose && compose_check(cl, &e) == -1)
		goto out_fail;
	if (open_spool(&sp, a, &e) == -1)
		goto out_fail;
	if (spool_create(&sp, &ent, &e) == -1) {
		spool_close(&sp);
		goto out_fail;
	}

	memset(&p, 0, sizeof(p));
	p.acct = a;
	p.aliases = have_aliases ? &aliases : NULL;
	p.sender = sender;
	p.full_name = cl->full_name;
	p.read_recipients = cl->read_recipients;
	p.rcpts = rcpts;
	p.dsn_notify = cl->dsn_notify;
	p.dsn_ret = cl->dsn_ret;
	p.dsn_envid = cl->dsn_envid;
	p.body_forced = cl->body != CLI_BODY_UNSET;
	p.body = cl->body == CLI_BODY_8BITMIME ? BODY_8BITMIME : BODY_7BIT;
	p.user = c->env.user;
	/* The mail domain needs a lookup only when from does not give it. */
	if (a->from == NULL || strchr(a->from, '@') == NULL ||
	    strpbrk(a->from, "*?[") != NULL)
		p.domain = conf_env_mailname(&c->env);
	p.now = time(NULL);

	if (compose)
		r = compose_message(cl, &p, in, ent.fd, &ent.env, &e);
	else
		r = msg_read(in, &p, ent.fd, &ent.env, &e);
	/* A signal can end the input early (Ctrl-C on `cmd | sendmail`
	   kills cmd too): what was read may not be the whole message. */
	if (sig_caught && (r == 0 || e.kind == ERR_IO))
		r = err_set(&e, ERR_IO, "interrupted while reading the "
		    "message; nothing was sent");
	if (r == -1) {
		spool_done(&sp, &ent);
		spool_release(&ent);
		spool_close(&sp);
		goto out_fail;
	}
	/* Remember the route for later attempts from the queue. */
	if (cl->account != NULL)
		envelope_set(&ent.env.account, cl->account);
	else if (cl->host == NULL && a->name != NULL)
		envelope_set(&ent.env.account, a->name);
	envelope_set(&ent.env.host, cl->host);
	ent.env.port = cl->port;
	envelope_set(&ent.env.tls, cl->tls);
	envelope_set(&ent.env.user, cl->user);
	envelope_set(&ent.env.auth, cl->auth);
	if (spool_intake_done(&sp, &ent, &e) == -1) {
		spool_done(&sp, &ent);
		spool_release(&ent);
		spool_close(&sp);
		goto out_fail;
	}

	if (cl->dry_run) {
		dry_run(&ent);
		spool_done(&sp, &ent);
		code = 0;
	} else {
		deliver_init(&d, c, &sp);
		code = deliver_new(&d, &ent, a);
	}
	spool_release(&ent);
	spool_close(&sp);
	if (have_aliases)
		alias_free(&aliases);
	conf_account_free(a);
	return code;

out_fail:
	if (have_aliases)
		alias_free(&aliases);
	conf_account_free(a);
	return fail(&e);
}

/* -bs hands each message it accepts to submit. */
static int
bs_submit(void *arg, const char *sender, const struct strv *rcpts,
    int datafd)
{
	struct ctx *c = arg;

	if (lseek(datafd, 0, SEEK_SET) == -1)
		return 74;
	return submit(c, datafd, sender, rcpts, 0);
}

/* The queue directories of every account (usually just one). */
static size_t
queue_dirs(struct ctx *c, const char **dirs, size_t max)
{
	size_t i, j, n = 0;

	if (!c->have_conf || c->conf.naccounts == 0) {
		dirs[n++] = NULL;
		return n;
	}
	for (i = 0; i < c->conf.naccounts && n < max; i++) {
		const char *q = c->conf.accounts[i]->queue_dir;

		for (j = 0; j < n; j++)
			if ((dirs[j] == NULL && q == NULL) || (dirs[j] != NULL &&
			    q != NULL && strcmp(dirs[j], q) == 0))
				break;
		if (j == n)
			dirs[n++] = q;
	}
	return n;
}

static int
list_or_flush(struct ctx *c)
{
	const char *dirs[64];
	struct deliver_ctx d;
	struct spool sp;
	struct err e;
	size_t n, i;
	int code = 0, r;

	n = queue_dirs(c, dirs, 64);
	for (i = 0; i < n; i++) {
		err_clear(&e);
		if (spool_open(&sp, dirs[i], &e) == -1) {
			code = fail(&e);
			continue;
		}
		if (spool_recover(&sp, &e) == -1)
			fprintf(stderr, "posthorn: %s\n", e.text);
		if (c->cli.mode == CLI_LIST)
			r = mailq_print(&sp, c->cli.json, time(NULL), stdout,
			    &e) == -1 ? fail(&e) : 0;
		else {
			deliver_init(&d, c, &sp);
			r = deliver_queue(&d, c->cli.queue_id);
		}
		if (r != 0)
			code = r;
		spool_close(&sp);
	}
	return code;
}

static int
serverinfo(struct ctx *c)
{
	struct account *a;
	struct smtp s;
	struct err e;

	err_clear(&e);
	if ((a = cli_account(c, c->cli.sender, &e)) == NULL)
		return fail(&e);
	/* Show what the server offers; do not log in. */
	a->auth = 0;
	if (smtp_open(&s, a, c->cli.verbose, &e) == -1) {
		conf_account_free(a);
		return fail(&e);
	}
	smtp_describe(&s, stdout);
	smtp_close(&s);
	conf_account_free(a);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctx c;
	struct err e;
	int code;

	memset(&c, 0, sizeof(c));
	err_clear(&e);
	sig_install();
	umask(077);
	if (cli_parse(&c.cli, argc, argv, &e) == -1) {
		code = fail(&e);
		cli_release(&c.cli);
		return code;
	}
	switch (c.cli.mode) {
	case CLI_HELP:
		cli_usage(stdout);
		code = 0;
		goto out;
	case CLI_VERSION:
		printf("posthorn %s\n", PACKAGE_VERSION);
		code = 0;
		goto out;
	case CLI_NOOP:
		code = 0;
		goto out;
	default:
		break;
	}
	if (load_conf(&c, &e) == -1) {
		code = fail(&e);
		goto out;
	}
	switch (c.cli.mode) {
	case CLI_LIST:
	case CLI_FLUSH:
		code = list_or_flush(&c);
		break;
	case CLI_SERVERINFO:
		code = serverinfo(&c);
		break;
	case CLI_SMTP:
		code = bs_serve(0, 1, c.env.host ? c.env.host : "localhost",
		    bs_submit, &c);
		break;
	default:
		code = submit(&c, 0, c.cli.sender, &c.cli.rcpts,
		    c.cli.compose || c.cli.attach.n > 0);
		break;
	}
out:
	if (c.have_conf)
		conf_free(&c.conf);
	conf_env_release(&c.env);
	cli_release(&c.cli);
	fflush(stdout);
	if (ferror(stdout) && code == 0) {
		fprintf(stderr, "posthorn: cannot write to standard output\n");
		code = 74;
	}
	return code;
}
