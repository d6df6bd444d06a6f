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
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "bounce.h"
#include "bs.h"
#include "cli.h"
#include "compose.h"
#include "conf.h"
#include "deliver.h"
#include "draft.h"
#include "err.h"
#include "mailq.h"
#include "msg.h"
#include "oauth.h"
#include "oauth_provider.h"
#include "pgp.h"
#include "record.h"
#include "persist.h"
#include "privsep.h"
#include "route.h"
#include "runner.h"
#include "smtp.h"
#include "spool.h"
#include "term.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/sig.h"
#include "util/str.h"

#ifndef SPOOLDIR
#define SPOOLDIR	"/var/spool/posthorn"
#endif

struct ctx {
	struct cli	 cli;
	struct conf	 conf;
	struct conf_env	 env;
	int		 have_conf;
	char		*conf_real;	/* its absolute path, or NULL */
	const char	*runner_dir;	/* --be-queue-runner=DIR: we are it */
	const char	*bs_id;		/* -bs: the entry its client waits on */
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
	/* The system account's secret goes only where its file says. */
	if (host != NULL || port != 0 || tls != NULL || user != NULL ||
	    auth != NULL)
		privsep_forget_secret(a);
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
	struct account *a = NULL;

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
	if (a == NULL)
		a = conf_account_dup(found);
	/* No domain: greet with the host's name, looked up only now. */
	if (a->domain == NULL)
		a->domain = xstrdup(conf_env_ehlo(&c->env));
	return a;
}

/*
 * Whether the envelope sender comes from the message's From header:
 * --read-envelope-from; or, by default, -t without -f, -A or --host when
 * no account's from would be the sender otherwise: there is a
 * configuration and its account "default" is missing or has no plain
 * from (none, a pattern, or %F).  Mail clients with several accounts
 * (mutt, aerc, notmuch) call "sendmail -oi -oem -t" that way.
 */
static int
sender_from_header(struct ctx *c, const char *sender)
{
	const struct cli *cl = &c->cli;
	const struct account *d;

	if (cl->read_envelope_from)
		return 1;
	if (!cl->read_recipients || sender != NULL || cl->account != NULL ||
	    cl->host != NULL || !c->have_conf)
		return 0;
	d = conf_account(&c->conf, "default");
	return d == NULL || d->from == NULL || strpbrk(d->from, "*?[") !=
	    NULL || conf_from_has_f(d->from);
}

/* 1 when the environment variable holds one word, no control byte. */
static int
env_word(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' && !str_has_ctl(v) &&
	    strpbrk(v, " \t") == NULL;
}

static struct account *
cli_account(struct ctx *c, const char *sender, struct err *e)
{
	struct cli *cl = &c->cli;
	struct account *a;

	size_t i;
	char *what, *p;
	int r;

	const char *env_from = NULL;

	/*
	 * msmtp's EMAIL and SMTPSERVER: with no -A and no --host, when no
	 * account would be found (no configuration, or neither an account
	 * for the sender nor one named default), SMTPSERVER is the host, as
	 * if given with --host (so the queue keeps it), and EMAIL the
	 * sender, unless -f or --read-envelope-from gave one.
	 */
	if (cl->account == NULL && cl->host == NULL && env_word("SMTPSERVER") &&
	    (!c->have_conf || ((sender == NULL || *sender == '\0' ||
	    conf_account_for_from(&c->conf, sender) == NULL) &&
	    conf_account(&c->conf, "default") == NULL))) {
		cl->host = xstrdup(getenv("SMTPSERVER"));
		if (env_word("EMAIL"))
			env_from = getenv("EMAIL");
	}
	a = pick_account(c, cl->account, sender,
	    cl->account == NULL && cl->host != NULL, e);
	if (a == NULL)
		return NULL;
	apply_overrides(a, cl->host, cl->port, cl->tls, cl->user, cl->auth);
	if (env_from != NULL) {
		free(a->from);
		a->from = xstrdup(env_from);
		conf_account_origin(a, "from", CONF_FROM_ENV);
	}
	if (cl->host != NULL)
		conf_account_origin(a, "host", getenv("SMTPSERVER") != NULL &&
		    strcmp(cl->host, getenv("SMTPSERVER")) == 0 ?
		    CONF_FROM_ENV : CONF_FROM_CLI);
	if (cl->port != 0)
		conf_account_origin(a, "port", CONF_FROM_CLI);
	if (cl->tls != NULL) {
		conf_account_origin(a, "tls", CONF_FROM_CLI);
		conf_account_origin(a, "tls_starttls", CONF_FROM_CLI);
	}
	if (cl->user != NULL)
		conf_account_origin(a, "user", CONF_FROM_CLI);
	if (cl->auth != NULL)
		conf_account_origin(a, "auth", CONF_FROM_CLI);
	/* --KEY=VALUE options, in their order, as the file's lines would. */
	for (i = 0; i + 1 < cl->keyopts.n; i += 2) {
		what = xasprintf("--%s", cl->keyopts.v[i]);
		for (p = what; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		r = conf_account_set(a, cl->keyopts.v[i], cl->keyopts.v[i + 1],
		    what, &c->env, e);
		free(what);
		if (r == -1) {
			conf_account_free(a);
			return NULL;
		}
	}
	return a;
}

/*
 * The account of this configuration for a queued envelope: by its name
 * (or --host alone), else any account that, with the envelope's
 * overrides, gives the route the envelope was accepted for.  An older
 * envelope without a route takes the account it names, or the default.
 */
static struct account *
route_account(struct ctx *c, const struct envelope *env, struct err *e)
{
	char digest[ROUTE_DIGEST_LEN];
	struct account *a;
	struct err ne;
	size_t i;

	a = pick_account(c, env->account, NULL,
	    env->account == NULL && env->host != NULL, &ne);
	if (a != NULL)
		apply_overrides(a, env->host, env->port, env->tls, env->user,
		    env->auth);
	if (env->route == NULL) {
		if (a == NULL && env->account != NULL) {
			/* The account was renamed or removed: the default. */
			if ((a = pick_account(c, NULL, NULL, 0, e)) == NULL)
				return NULL;
			apply_overrides(a, env->host, env->port, env->tls,
			    env->user, env->auth);
		} else if (a == NULL)
			*e = ne;
		return a;
	}
	if (a != NULL) {
		route_digest(a, digest);
		if (strcmp(digest, env->route) == 0)
			return a;
		conf_account_free(a);
	}
	for (i = 0; c->have_conf && i < c->conf.naccounts; i++) {
		a = conf_account_dup(c->conf.accounts[i]);
		apply_overrides(a, env->host, env->port, env->tls, env->user,
		    env->auth);
		route_digest(a, digest);
		if (strcmp(digest, env->route) == 0)
			return a;
		conf_account_free(a);
	}
	err_set(e, ERR_CONFIG, "it was accepted for %s%s%s%s, and %s has no "
	    "account with that route%s%s%s", env->route_desc ?
	    env->route_desc : "another route", env->account ? " (account " :
	    "", env->account ? env->account : "", env->account ? ")" : "",
	    !c->have_conf ? "the command line" : c->conf_real != NULL ?
	    c->conf_real : c->conf.path,
	    env->conf ? " (it was queued with " : "",
	    env->conf ? env->conf : "", env->conf ? ")" : "");
	return NULL;
}

static struct account *
queued_account(struct deliver_ctx *d, const struct envelope *env,
    struct err *e)
{
	return route_account(d->arg, env, e);
}

/* For the listing: why this configuration leaves env alone, or NULL. */
static char *
why_not_here(void *arg, const struct envelope *env)
{
	struct account *a;
	struct err e;

	err_clear(&e);
	if ((a = route_account(arg, env, &e)) != NULL) {
		conf_account_free(a);
		return NULL;
	}
	return xstrdup(e.text);
}

/*
 * A message was queued: make sure a runner retries it (runner.c).  Each
 * time: a runner that found its queue empty may have gone since (a long
 * -bs session), and waking one that is there costs a byte.
 */
static void
queued_hook(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a)
{
	struct ctx *c = d->arg;

	(void)ent;
	if (c->runner_dir != NULL || a == NULL || !a->queue_runner)
		return;
	runner_ensure(d->spool->dir, !c->have_conf ? NULL : c->conf_real !=
	    NULL ? c->conf_real : c->conf.path, d->verbose);
}

/* A message finally failed: report it (bounce.c). */
static void
failed_hook(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, const char *why)
{
	struct ctx *c = d->arg;

	/* -bs: the client heard the refusal in the reply to its data; the
	   failure is its to report. */
	if (c->bs_id != NULL && strcmp(c->bs_id, ent->id) == 0)
		return;
	bounce_failed(d, ent, a, why, a != NULL && a->domain != NULL ?
	    a->domain : c->env.host);
}

static void
deliver_init(struct deliver_ctx *d, struct ctx *c, struct spool *sp)
{
	memset(d, 0, sizeof(*d));
	d->conf = &c->conf;
	d->spool = sp;
	d->verbose = c->cli.verbose;
	d->due_only = c->cli.due_only;
	d->json = c->cli.json;
	d->now = time(NULL);
	d->account_for = queued_account;
	d->arg = c;
	d->on_queued = queued_hook;
	d->on_failed = failed_hook;
}

/*
 * 1 when this run may read the system configuration with the setgid
 * group's rights: it is the file conf_find chose (no -C, no
 * POSTHORN_CONFIG, no configuration of the caller's own) and nothing on
 * the command line sends its credentials to another server or as another
 * user (--host, --port, --tls, --user, --auth, and every --KEY=VALUE:
 * --proxy-host, --socket or --tls-certcheck=off would do it too).
 */
static int
system_route(const struct ctx *c, const char *path)
{
	const struct cli *cl = &c->cli;
	const char *env = getenv("POSTHORN_CONFIG");

	return cl->config == NULL && (env == NULL || *env == '\0') &&
	    strcmp(path, conf_system_path) == 0 && cl->host == NULL &&
	    cl->port == 0 && cl->tls == NULL && cl->user == NULL &&
	    cl->auth == NULL && cl->keyopts.n == 0;
}

static int
load_conf(struct ctx *c, struct err *e)
{
	struct conf sysconf;
	const char *env, *sys;
	char *path;
	size_t i;
	int found, r;

	conf_env_init(&c->env);
	path = conf_find(c->cli.config, &found, e);
	if (found != 1) {
		privsep_drop();
		return found == -1 ? -1 : 0;
	}
	/* The group's rights for the system file and its secrets only;
	   gone for good before anything else happens. */
	if (privsep_held() && system_route(c, path))
		privsep_raise();
	else
		privsep_drop();
	r = conf_load(&c->conf, path, c->cli.config != NULL, &c->env, e);
	if (r == 0 && privsep_used())
		privsep_preload(&c->conf);
	privsep_drop();
	if (r == -1) {
		free(path);
		return -1;
	}
	/*
	 * The system file too, below a user file found by looking (msmtp's
	 * rule); -C and POSTHORN_CONFIG name exactly one file.  One this
	 * user cannot read is passed over, as msmtp does.
	 */
	env = getenv("POSTHORN_CONFIG");
	sys = conf_system_path;
	if (c->cli.config == NULL && (env == NULL || *env == '\0') &&
	    strcmp(path, sys) != 0 && access(sys, R_OK) == 0) {
		if (conf_load(&sysconf, sys, 0, &c->env, e) == -1) {
			conf_free(&c->conf);
			free(path);
			return -1;
		}
		conf_merge(&c->conf, &sysconf);
	}
	c->conf_real = realpath(path, NULL);
	free(path);
	c->have_conf = 1;
	for (i = 0; i < c->conf.nnotes; i++)
		fprintf(stderr, "posthorn: %s\n", c->conf.notes[i]);
	return 0;
}

static void
notes(const struct strv *n)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		fprintf(stderr, "posthorn: %s\n", n->v[i]);
}

/*
 * Opens a queue: qdir (an account's queue_dir), or the user's own queue
 * (spool_locate), whose older places are emptied into it.  Then finds
 * what a killed run left behind and drops failed entries older than
 * failed_lifetime.
 */
static int
open_queue(struct ctx *c, struct spool *sp, const char *qdir,
    int failed_lifetime, struct err *e)
{
	struct spool_place pl;
	struct err re;
	size_t i;
	int n;

	if (qdir != NULL) {
		if (spool_open(sp, qdir, e) == -1)
			return -1;
	} else {
		if (spool_locate(SPOOLDIR, &pl, e) == -1)
			return -1;
		notes(&pl.notes);
		if (spool_open(sp, pl.dir, e) == -1) {
			spool_place_release(&pl);
			return -1;
		}
		for (i = 0; i < pl.old.n; i++) {
			n = spool_adopt(sp, pl.old.v[i], &re);
			if (n == -1)
				fprintf(stderr, "posthorn: moving the queue %s "
				    "into %s: %s\n", pl.old.v[i], sp->dir,
				    re.text);
			else if (n > 0 && c->cli.verbose)
				fprintf(stderr, "posthorn: moved %d message%s "
				    "from %s into %s\n", n, n == 1 ? "" : "s",
				    pl.old.v[i], sp->dir);
		}
		spool_place_release(&pl);
	}
	if (spool_recover(sp, &re) == -1)
		fprintf(stderr, "posthorn: %s\n", re.text);
	if (spool_expire_failed(sp, failed_lifetime, time(NULL), &re) == -1)
		fprintf(stderr, "posthorn: %s\n", re.text);
	return 0;
}

/*
 * Drops the CR of each CRLF in the n bytes at p, in place; returns the
 * new length.  A CR that ends them is held back in *cr (its LF may start
 * the next bytes); the caller writes it when it was not a CRLF's.
 */
static size_t
crlf_to_lf(char *p, size_t n, int *cr)
{
	size_t o = 0, i = 0, run;
	char *q;

	*cr = 0;
	while ((q = memchr(p + i, '\r', n - i)) != NULL) {
		run = (size_t)(q - (p + i));
		memmove(p + o, p + i, run);
		o += run;
		i += run + 1;
		if (i == n)
			*cr = 1;
		else if (p[i] != '\n')
			p[o++] = '\r';
	}
	memmove(p + o, p + i, n - i);
	return o + (n - i);
}

static void
dry_run(const struct spool_entry *ent)
{
	char buf[65536];
	ssize_t n;
	off_t off = 0;
	size_t i;
	int cr = 0;

	printf("MAIL FROM:<%s>\n", ent->env.sender);
	for (i = 0; i < ent->env.nrcpt; i++)
		printf("RCPT TO:<%s>\n", ent->env.rcpt[i].addr);
	printf("\n");
	fflush(stdout);
	/* The message as stored, CRLF shown as LF. */
	while ((n = pread(ent->fd, buf, sizeof(buf), off)) > 0) {
		off += n;
		if (cr && buf[0] != '\n')
			putchar('\r');
		fwrite(buf, 1, crlf_to_lf(buf, (size_t)n, &cr), stdout);
	}
	if (cr)
		putchar('\r');
	fflush(stdout);
}

/* What the queue must know to deliver the entry later, and where to. */
static void
record_route(struct ctx *c, struct envelope *env, const struct account *a)
{
	const struct cli *cl = &c->cli;
	char digest[ROUTE_DIGEST_LEN];

	if (cl->account != NULL)
		envelope_set(&env->account, cl->account);
	else if (cl->host == NULL && a->name != NULL)
		envelope_set(&env->account, a->name);
	envelope_set(&env->host, cl->host);
	env->port = cl->port;
	envelope_set(&env->tls, cl->tls);
	envelope_set(&env->user, cl->user);
	envelope_set(&env->auth, cl->auth);
	route_digest(a, digest);
	envelope_set(&env->route, digest);
	free(env->route_desc);
	env->route_desc = route_describe(a);
	envelope_set(&env->conf, c->have_conf ? (c->conf_real != NULL ?
	    c->conf_real : c->conf.path) : NULL);
	env->lifetime = a->queue_lifetime;
}

/*
 * The holder ended after GO without an answer.  Still in tmp/ (the usual
 * case: killed during the transaction): queued for -q.  Already settled
 * by the holder (moved or removed before it died): said so.
 */
static int
lost(struct deliver_ctx *d, struct spool *sp, struct spool_entry *ent,
    const struct account *a)
{
	struct stat st;
	char *path;
	int in_tmp, where;

	path = xasprintf("%s/%s", sp->area[SPOOL_TMP], ent->id);
	in_tmp = lstat(path, &st) == 0;
	free(path);
	if (in_tmp)
		return deliver_lost(d, ent, a, "the process holding the "
		    "connection (persist) ended during the transaction");
	where = spool_where(sp, ent->id);
	fprintf(stderr, "posthorn: the process holding the connection "
	    "(persist) ended after settling the message: %s%s%s\n",
	    where == SPOOL_QUEUE ? "queued as " : where == SPOOL_FAILED ?
	    "failed, kept as " : "it is no longer queued",
	    where == -1 ? "" : ent->id, where == SPOOL_FAILED ?
	    " (see posthorn --show)" : "");
	return where == SPOOL_FAILED ? 69 : 0;
}

/*
 * Sends the entry just spooled: through a holder's session when the
 * account persists (persist.c), else (and when there is no holder, or
 * it refused) on its own session, which it then may leave to a holder.
 */
static int
send_new(struct ctx *c, struct deliver_ctx *d, struct spool *sp,
    struct spool_entry *ent, const struct account *a)
{
	int secs = c->cli.persist > 0 ? c->cli.persist - 1 : a->persist;
	struct persist pp;
	struct smtp held;
	int code = 0;

	/* The queue keeps what a holder that dies leaves behind. */
	if (secs <= 0 || !a->queue || persist_init(&pp, a, c->have_conf ?
	    (c->conf_real != NULL ? c->conf_real : c->conf.path) : NULL,
	    sp->dir, secs) == -1)
		return deliver_new(d, ent, a);
	switch (persist_offer(&pp, ent, d->verbose, d->json, &code)) {
	case PERSIST_DONE:
		break;
	case PERSIST_LOST:
		code = lost(d, sp, ent, a);
		break;
	case PERSIST_BUSY:
		code = deliver_lost(d, ent, a, "max_connections sessions to "
		    "the server stayed busy");
		break;
	case PERSIST_DIRECT:
		memset(&held, 0, sizeof(held));
		held.conn.fd = -1;
		d->keep = &held;
		code = deliver_new(d, ent, a);
		d->keep = NULL;
		if (held.open) {
			/* The holder must not keep the message's lock. */
			spool_release(ent);
			persist_hold(&pp, &held, d, a);
		}
		break;
	}
	persist_release(&pp);
	return code;
}

/*
 * deliver_ctx.offer for a queue run (-q, the runner): an entry of an
 * account that persists goes through the holder of its route, when one
 * is there and takes it, and is settled there as this run would have
 * settled it (its lines come back to our stdout and stderr).  Without a
 * holder this run opens its own session and does not become one.
 */
static int
queue_offer(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a)
{
	struct ctx *c = d->arg;
	int secs = c->cli.persist > 0 ? c->cli.persist - 1 : a->persist;
	struct persist pp;
	char *path;
	int code, done = 0;

	if (secs <= 0 || !a->queue || persist_init(&pp, a, c->have_conf ?
	    (c->conf_real != NULL ? c->conf_real : c->conf.path) : NULL,
	    d->spool->dir, secs) == -1)
		return 0;
	switch (persist_try(&pp, ent, d->verbose, d->json, &code)) {
	case PERSIST_DONE:
		done = 1;
		break;
	case PERSIST_LOST:
		/* Still in queue/ (the holder died in the transaction):
		   an attempt that failed; else the holder settled it. */
		done = 1;
		path = xasprintf("%s/%s", d->spool->area[SPOOL_QUEUE],
		    ent->id);
		if (access(path, F_OK) == 0)
			(void)deliver_lost(d, ent, a, "the process holding "
			    "the connection (persist) ended during the "
			    "transaction");
		free(path);
		break;
	default:
		break;
	}
	persist_release(&pp);
	return done;
}

/*
 * The body a person types, and -E's look at the input, before anything
 * is spooled: at a terminal in compose mode (no --body) the body is read
 * as mail(1) reads it into a scratch file; with -E a piped body (or a
 * piped message) is copied into one and an empty one ends the run.
 * 0 to go on (*in may then be the scratch file, *scratch its descriptor
 * for the caller to close); 1 when the run ends here with *code.
 */
static int
prepare_input(struct ctx *c, int edit_conf, int *in, int *scratch,
    int *code)
{
	struct cli *cl = &c->cli;
	const char *editor = getenv("VISUAL");
	struct stat st;
	struct err e;
	size_t len;
	int fd, blank;

	err_clear(&e);
	*scratch = -1;
	if (editor == NULL || *editor == '\0')
		editor = getenv("EDITOR");
	if (editor != NULL && *editor == '\0')
		editor = NULL;
	/* -e; or `edit on`, an editor named, and a person at the terminal. */
	if (cl->compose && (cl->edit || (edit_conf && editor != NULL &&
	    isatty(*in)))) {
		switch (draft_edit(cl, editor != NULL ? editor : "vi", *in,
		    &fd, code, &e)) {
		case 0:
			*in = *scratch = fd;
			return 0;
		case 1:
			return 1;
		default:
			if (deliver_cancelled()) {
				fprintf(stderr, "posthorn: cancelled; nothing "
				    "was sent\n");
				*code = 130;
			} else
				*code = fail(&e);
			return 1;
		}
	}
	if (cl->compose && cl->body_file == NULL && isatty(*in)) {
		if ((fd = term_scratch(&e)) == -1) {
			*code = fail(&e);
			return 1;
		}
		if (term_read_body(*in, fd, &len, &blank, &e) == -1) {
			close(fd);
			if (deliver_cancelled()) {
				fprintf(stderr, "posthorn: cancelled; nothing "
				    "was sent\n");
				*code = 130;
				return 1;
			}
			if (sig_caught)
				err_set(&e, ERR_IO, "interrupted while reading "
				    "the message; nothing was sent");
			*code = fail(&e);
			return 1;
		}
		if (blank && (cl->skip_empty || !cl->allow_empty)) {
			close(fd);
			fprintf(stderr, "posthorn: the message is empty; "
			    "nothing was sent%s\n", cl->skip_empty ? "" :
			    " (--allow-empty sends it)");
			*code = cl->skip_empty ? 0 : 65;
			return 1;
		}
		if (lseek(fd, 0, SEEK_SET) == -1) {
			close(fd);
			err_set(&e, ERR_IO, "cannot read back the typed "
			    "message: %s", strerror(errno));
			*code = fail(&e);
			return 1;
		}
		*in = *scratch = fd;
		return 0;
	}
	if (!cl->skip_empty)
		return 0;
	if (cl->compose && cl->body_file != NULL) {
		/* compose_check has made sure it can be read. */
		if (stat(cl->body_file, &st) == 0 && st.st_size == 0) {
			*code = 0;
			return 1;
		}
		return 0;
	}
	if ((fd = term_spill(*in, &len, &e)) == -1) {
		if (sig_caught && deliver_cancelled()) {
			fprintf(stderr, "posthorn: cancelled; nothing was "
			    "sent\n");
			*code = 130;
		} else
			*code = fail(&e);
		return 1;
	}
	if (len == 0) {
		close(fd);
		*code = 0;
		return 1;
	}
	*in = *scratch = fd;
	return 0;
}

/* What reading or composing the message needs: the command line's and
   the account's word on it. */
static void
message_params(struct ctx *c, struct account *a,
    const struct alias_map *aliases, const char *sender,
    const struct strv *rcpts, struct strv *local, struct msg_params *p)
{
	struct cli *cl = &c->cli;

	memset(p, 0, sizeof(*p));
	p->acct = a;
	p->aliases = aliases;
	p->sender = sender;
	p->full_name = cl->full_name != NULL ? cl->full_name :
	    cl->sender_name;
	p->read_recipients = cl->read_recipients;
	p->rcpts = rcpts;
	p->dsn_notify = cl->dsn_notify;
	p->dsn_ret = cl->dsn_ret;
	p->dsn_envid = cl->dsn_envid;
	p->body_forced = cl->body != CLI_BODY_UNSET;
	p->body = cl->body == CLI_BODY_8BITMIME ? BODY_8BITMIME : BODY_7BIT;
	p->user = c->env.user;
	/* The mail domain needs a lookup only when from does not give it. */
	if (a->from == NULL || strchr(a->from, '@') == NULL ||
	    strpbrk(a->from, "*?[") != NULL)
		p->domain = conf_env_mailname(&c->env);
	conf_local_domains(a, &c->env, local);
	p->local_domains = local;
	p->admin = a->admin;
	p->env = &c->env;
	p->now = time(NULL);
}

/*
 * Reads the message from in into the entry (composing it, or after the
 * bytes pre already holds), then signs or encrypts it as asked.  0, -1
 * with e set, or 130 when a signal cancelled the run.
 */
static int
read_message(struct ctx *c, int in, int compose, const struct buf *pre,
    struct msg_params *p, struct spool_entry *ent, struct err *e)
{
	struct cli *cl = &c->cli;
	int r;

	if (compose)
		r = compose_message(cl, p, in, ent->fd, &ent->env, e);
	else if (pre != NULL)
		r = msg_read_prefixed(in, pre->data != NULL ? pre->data : "",
		    pre->len, p, ent->fd, &ent->env, e);
	else
		r = msg_read(in, p, ent->fd, &ent->env, e);
	/* A signal can end the input early (Ctrl-C on `cmd | sendmail`
	   kills cmd too): what was read may not be the whole message. */
	if (sig_caught && (r == 0 || e->kind == ERR_IO)) {
		if (deliver_cancelled())
			return 130;
		r = err_set(e, ERR_IO, "interrupted while reading the "
		    "message; nothing was sent");
	}
	if (r == 0 && (cl->sign || cl->encrypt)) {
		struct pgp_opts po = { cl->sign, cl->encrypt, cl->sign_as };

		r = pgp_protect(ent->fd, &ent->env, &po, e);
	}
	return r;
}

/* --save-copy or record, kept with the entry: -q may deliver it later. */
static void
keep_record(const struct cli *cl, const struct account *a, int compose,
    struct envelope *env)
{
	size_t i;

	if (cl->dry_run || (cl->save_copy == NULL && a->record == NULL))
		return;
	free(env->record);
	env->record = record_path(cl->save_copy != NULL ? cl->save_copy :
	    a->record);
	for (i = 0; compose && i < cl->bcc.n; i++)
		strv_add(&env->record_bcc, cl->bcc.v[i]);
}

/*
 * Spools and delivers one message read from in.  sender and rcpts are the
 * envelope the caller named (argv, or -bs's MAIL and RCPT); compose when
 * the command line composes or attaches; pre, when not NULL, holds the
 * bytes of in already read (msg_peek_header).
 */
static int
submit_one(struct ctx *c, int in, const char *sender,
    const struct strv *rcpts, int compose, const struct buf *pre)
{
	struct cli *cl = &c->cli;
	struct msg_params p;
	struct alias_map aliases;
	struct strv local = { NULL, 0 };
	struct spool sp;
	struct spool_entry ent;
	struct deliver_ctx d;
	struct account *a;
	struct err e;
	int code, have_aliases = 0, r, scratch = -1;

	err_clear(&e);
	if ((a = cli_account(c, sender, &e)) == NULL)
		return fail(&e);
	if (a->aliases != NULL) {
		if (alias_load(&aliases, a->aliases, &e) == -1)
			goto out_fail;
		have_aliases = 1;
	}
	/* Files named on the command line must be readable before anything. */
	if (compose && compose_check(cl, &e) == -1)
		goto out_fail;
	if (in == 0 && prepare_input(c, a->edit, &in, &scratch, &code) ==
	    1)
		goto out_code;
	if (open_queue(c, &sp, a->queue_dir, a->failed_lifetime, &e) == -1)
		goto out_fail;
	if (spool_create(&sp, &ent, &e) == -1) {
		spool_close(&sp);
		goto out_fail;
	}

	message_params(c, a, have_aliases ? &aliases : NULL, sender, rcpts,
	    &local, &p);
	if ((r = read_message(c, in, compose, pre, &p, &ent, &e)) == 0) {
		record_route(c, &ent.env, a);
		keep_record(cl, a, compose, &ent.env);
		/* With the queue off, or for a dry run, a killed run must
		   leave nothing that a later run would send: no envelope
		   yet. */
		r = spool_intake_done(&sp, &ent, a->queue && !cl->dry_run,
		    &e);
	}
	if (r != 0) {
		spool_done(&sp, &ent);
		spool_release(&ent);
		spool_close(&sp);
		if (r == -1)
			goto out_fail;
		fprintf(stderr, "posthorn: cancelled; nothing was sent\n");
		code = r;
		goto out_code;
	}

	if (cl->dry_run) {
		dry_run(&ent);
		spool_done(&sp, &ent);
		code = 0;
	} else {
		deliver_init(&d, c, &sp);
		if (cl->mode == CLI_SMTP)
			c->bs_id = ent.id;
		code = send_new(c, &d, &sp, &ent, a);
		c->bs_id = NULL;
	}
	spool_release(&ent);
	spool_close(&sp);
	goto out_code;

out_fail:
	code = fail(&e);
out_code:
	if (scratch != -1)
		close(scratch);
	if (have_aliases)
		alias_free(&aliases);
	strv_free(&local);
	conf_account_free(a);
	return code;
}

/*
 * Spools and delivers one message read from in (see submit_one); with
 * --read-envelope-from, or -t's default (sender_from_header), the header
 * section is read ahead first and the From header's address is the
 * sender, selecting the account as -f would.
 */
static int
submit(struct ctx *c, int in, const char *sender, const struct strv *rcpts,
    int compose)
{
	struct buf pre;
	struct err e;
	char *hdr_sender = NULL;
	int code;

	if (compose || c->cli.mode != CLI_SEND ||
	    !sender_from_header(c, sender))
		return submit_one(c, in, sender, rcpts, compose, NULL);
	err_clear(&e);
	if (msg_peek_header(in, &pre, &e) == -1)
		return fail(&e);
	if (msg_sender_of(pre.data != NULL ? pre.data : "", pre.len,
	    &hdr_sender) == 0)
		sender = hdr_sender;
	if (c->cli.verbose && hdr_sender != NULL)
		fprintf(stderr, "posthorn: sender %s (from the From header)\n",
		    hdr_sender);
	code = submit_one(c, in, sender, rcpts, compose, &pre);
	buf_release(&pre);
	free(hdr_sender);
	return code;
}

/*
 * --version: the version, what is built in (and what is not), and where
 * the configuration and the queue are, as msmtp's --version tells.
 */
static void
print_version(void)
{
	char *paths = conf_describe_paths();

	printf("posthorn %s\n", PACKAGE_VERSION);
	printf("TLS: GnuTLS (STARTTLS, implicit TLS, client certificates, "
	    "SHA-256 pinning, channel binding)\n");
	printf("authentication: SCRAM-SHA-256(-PLUS), SCRAM-SHA-1(-PLUS), "
	    "CRAM-MD5, PLAIN, LOGIN, EXTERNAL, GSSAPI, XOAUTH2, "
	    "OAUTHBEARER (GNU SASL); no NTLM\n");
	printf("message: MIME with libmagic, 8BITMIME, SMTPUTF8, CHUNKING, "
	    "DSN, the 7-bit downgrade\n");
	printf("msmtp: configuration keys of 1.8.33 (eval, %%F, obsolete "
	    "keys), --KEY=VALUE options, --read-envelope-from\n");
	printf("network: TCP, Unix-domain sockets, SOCKS5 (RFC 1928/1929), "
	    "SMTP and LMTP, fallback accounts\n");
	printf("%s\n", paths);
	printf("queue: %s/UID when that spool exists, else "
	    "${XDG_STATE_HOME:-~/.local/state}/posthorn/queue (queue_dir "
	    "overrides)\n", SPOOLDIR);
	printf("defaults: tls on with STARTTLS, certificates checked against "
	    "the system store, port 25 (465 with implicit TLS), EHLO the "
	    "host's fully qualified name\n");
	free(paths);
}

/*
 * -P, --pretend: the account this run would use (-A, --host, -f, the
 * environment, the key options all applied), each key's value and where
 * it came from; secrets as ***.  Nothing is read or sent.
 */
static int
pretend(struct ctx *c)
{
	struct account *a;
	struct buf out;
	struct err e;

	err_clear(&e);
	if ((a = cli_account(c, c->cli.sender, &e)) == NULL)
		return fail(&e);
	buf_init(&out, 0);
	conf_describe(a, &out);
	fputs(buf_str(&out), stdout);
	buf_release(&out);
	conf_account_free(a);
	return 0;
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

/* A queue directory and the failed_lifetime that applies to it. */
struct qdir {
	const char	*dir;		/* NULL: the user's own queue */
	int		 failed_lifetime;
};

/*
 * The queue directories of every account (usually just one), each with
 * the failed_lifetime that applies to it; *n set.  Returns a malloc'd
 * array.
 */
static struct qdir *
queue_dirs(struct ctx *c, size_t *n)
{
	struct qdir *dirs;
	size_t i, j;

	dirs = xreallocarray(NULL, c->have_conf && c->conf.naccounts > 0 ?
	    c->conf.naccounts : 1, sizeof(*dirs));
	*n = 0;
	if (!c->have_conf || c->conf.naccounts == 0) {
		dirs[0].dir = NULL;
		dirs[0].failed_lifetime = 30 * 86400;
		*n = 1;
		return dirs;
	}
	for (i = 0; i < c->conf.naccounts; i++) {
		const struct account *a = c->conf.accounts[i];
		const char *q = a->queue_dir;

		for (j = 0; j < *n; j++)
			if ((dirs[j].dir == NULL && q == NULL) ||
			    (dirs[j].dir != NULL && q != NULL &&
			    strcmp(dirs[j].dir, q) == 0))
				break;
		if (j == *n) {
			dirs[j].dir = q;
			dirs[j].failed_lifetime = a->failed_lifetime;
			(*n)++;
		} else if (a->failed_lifetime > dirs[j].failed_lifetime)
			/* Several accounts share it: keep the longest. */
			dirs[j].failed_lifetime = a->failed_lifetime;
	}
	return dirs;
}

/*
 * --persist-status and --persist-stop [-A NAME]: the holders in the
 * runtime directory (and each queue's fallback directory).
 */
static int
persist_command(struct ctx *c)
{
	struct qdir *dirs;
	struct spool sp;
	struct err e;
	size_t n, i;
	int found = 0;

	dirs = queue_dirs(c, &n);
	for (i = 0; i < n; i++) {
		if (open_queue(c, &sp, dirs[i].dir, dirs[i].failed_lifetime,
		    &e) == -1) {
			fprintf(stderr, "posthorn: %s\n", e.text);
			continue;
		}
		if (c->cli.mode == CLI_PERSIST_STOP)
			found += persist_stop(sp.dir, c->cli.account, stdout);
		else
			found += persist_status(sp.dir, stdout);
		spool_close(&sp);
		/* The runtime directory is the same for every queue. */
		if (getenv("XDG_RUNTIME_DIR") != NULL)
			break;
	}
	free(dirs);
	if (found == 0 && c->cli.mode == CLI_PERSIST_STATUS)
		printf("no connection held\n");
	return 0;
}

static void
mailq_init(struct mailq_opts *o, struct ctx *c)
{
	memset(o, 0, sizeof(*o));
	o->json = c->cli.json;
	o->now = time(NULL);
	o->why_not = why_not_here;
	o->arg = c;
	o->uid = -1;
}

/* Root's mailq --all: every user's queue, read only. */
static int
list_all(struct ctx *c)
{
	struct spool_user *users;
	struct mailq_opts o;
	struct strv n = { NULL, 0 };
	struct spool sp;
	struct err e;
	size_t nu, i;
	int code = 0;

	if (getuid() != 0) {
		err_set(&e, ERR_NOPERM, "--all lists every user's queue and "
		    "needs root");
		return fail(&e);
	}
	if (spool_clean_squats(SPOOLDIR, &n, &e) == -1)
		code = fail(&e);
	notes(&n);
	strv_free(&n);
	if (spool_users(SPOOLDIR, &users, &nu, &e) == -1)
		return fail(&e);
	mailq_init(&o, c);
	o.why_not = NULL;
	for (i = 0; i < nu; i++) {
		const struct passwd *pw = getpwuid(users[i].uid);

		if (spool_open_ro(&sp, users[i].dir, users[i].uid, &e) == -1) {
			code = fail(&e);
			continue;
		}
		o.uid = (long)users[i].uid;
		if (!o.json)
			printf("== uid %u%s%s%s, %s:\n", (unsigned)users[i].uid,
			    pw ? " (" : "", pw ? pw->pw_name : "", pw ? ")" :
			    "", users[i].dir);
		if (mailq_print(&sp, &o, stdout, &e) == -1)
			code = fail(&e);
		spool_close(&sp);
	}
	if (nu == 0 && !o.json)
		printf("No queue in %s\n", SPOOLDIR);
	spool_users_free(users, nu);
	return code;
}

static int
list_or_flush(struct ctx *c)
{
	struct qdir *dirs;
	struct deliver_ctx d;
	struct mailq_opts o;
	struct strv n = { NULL, 0 };
	struct spool sp;
	struct err e;
	size_t nd, i;
	int code = 0, r;

	if (c->cli.mode == CLI_LIST && c->cli.all_users)
		return list_all(c);
	if (c->cli.mode == CLI_FLUSH && getuid() == 0) {
		/* Root's queue runs clear squatted names for everyone. */
		if (spool_clean_squats(SPOOLDIR, &n, &e) == -1)
			fail(&e);
		notes(&n);
		strv_free(&n);
	}
	dirs = queue_dirs(c, &nd);
	for (i = 0; i < nd; i++) {
		err_clear(&e);
		if (open_queue(c, &sp, dirs[i].dir, dirs[i].failed_lifetime,
		    &e) == -1) {
			code = fail(&e);
			continue;
		}
		if (c->cli.mode == CLI_LIST) {
			mailq_init(&o, c);
			r = mailq_print(&sp, &o, stdout, &e) == -1 ?
			    fail(&e) : 0;
		} else {
			deliver_init(&d, c, &sp);
			d.offer = queue_offer;
			r = deliver_queue(&d, c->cli.queue_id);
		}
		if (r != 0)
			code = r;
		spool_close(&sp);
	}
	free(dirs);
	return code;
}

/* ------------------------------------------------------ queue commands */

/*
 * What --requeue does to an entry: back to the queue, due now.  An entry
 * whose route this configuration no longer gives (the server was changed
 * on purpose) is bound to the route its account gives now, and says so:
 * the user asked for this message by its id.
 */
static int
requeue(struct ctx *c, struct spool *sp, struct spool_entry *ent,
    struct err *e)
{
	char digest[ROUTE_DIGEST_LEN];
	struct account *a;
	struct envelope *env = &ent->env;
	struct err re;
	size_t i;

	a = env->route != NULL ? route_account(c, env, &re) : NULL;
	if (env->route != NULL && a == NULL) {
		char *old = env->route;

		env->route = NULL;
		a = route_account(c, env, &re);
		env->route = old;
		if (a == NULL)
			return err_set(e, ERR_CONFIG, "%s: %s", ent->id,
			    re.text);
		route_digest(a, digest);
		envelope_set(&env->route, digest);
		free(env->route_desc);
		env->route_desc = route_describe(a);
		envelope_set(&env->conf, c->conf_real != NULL ? c->conf_real :
		    c->conf.path);
		fprintf(stderr, "posthorn: %s: now for %s\n", ent->id,
		    env->route_desc);
	}
	conf_account_free(a);

	if (ent->area == SPOOL_FAILED)
		for (i = 0; i < ent->env.nrcpt; i++)
			if (ent->env.rcpt[i].state == RCPT_FAILED)
				ent->env.rcpt[i].state = RCPT_PENDING;
	ent->env.hold = HOLD_NONE;
	ent->env.next_attempt = 0;
	ent->env.failed_at = 0;
	ent->env.requeued = time(NULL);
	if (ent->area == SPOOL_FAILED)
		return spool_move(sp, ent, SPOOL_QUEUE, e);
	return spool_save(sp, ent, e);
}

/*
 * One queue command on one entry (locked).  Returns 1 when it did it, 0
 * when it does not apply (with the reason in e when it was named).
 */
static int
apply_qcmd(struct ctx *c, enum cli_qcmd cmd, struct spool *sp,
    struct spool_entry *ent, int named, struct err *e)
{
	err_clear(e);
	switch (cmd) {
	case CLI_Q_DELETE:
		if (spool_done(sp, ent) == -1) {
			err_set(e, ERR_CANTCREAT, "cannot remove %s: %s",
			    ent->id, strerror(errno));
			return -1;
		}
		return 1;
	case CLI_Q_REQUEUE:
		if (ent->area == SPOOL_QUEUE && ent->env.hold == HOLD_NONE &&
		    !named)
			return 0;
		return requeue(c, sp, ent, e) == -1 ? -1 : 1;
	case CLI_Q_HOLD:
		if (ent->area == SPOOL_FAILED) {
			if (named)
				err_set(e, ERR_USAGE, "%s has failed; "
				    "--requeue it first", ent->id);
			return 0;
		}
		if (ent->env.hold == HOLD_MANUAL)
			return 0;
		ent->env.hold = HOLD_MANUAL;
		return spool_save(sp, ent, e) == -1 ? -1 : 1;
	case CLI_Q_RELEASE:
		if (ent->area == SPOOL_FAILED || ent->env.hold == HOLD_NONE) {
			if (named)
				err_set(e, ERR_USAGE, "%s is not held",
				    ent->id);
			return 0;
		}
		ent->env.hold = HOLD_NONE;
		ent->env.next_attempt = 0;
		return spool_save(sp, ent, e) == -1 ? -1 : 1;
	}
	return 0;
}

static const char *const qcmd_done[] = {
	NULL, "deleted", "requeued", "held", "released"
};

/* The ids a command works on in one queue: those named, or all. */
static void
qcmd_ids(struct ctx *c, struct spool *sp, struct strv *ids)
{
	char (*v)[SPOOL_ID_MAX];
	size_t n, i;
	struct err e;
	int a;

	if (!strv_has(&c->cli.queue_ids, "all")) {
		for (i = 0; i < c->cli.queue_ids.n; i++)
			strv_add(ids, c->cli.queue_ids.v[i]);
		return;
	}
	for (a = SPOOL_QUEUE; a <= SPOOL_FAILED; a++) {
		if (spool_list(sp, (enum spool_area)a, &v, &n, &e) == -1)
			continue;
		for (i = 0; i < n; i++)
			strv_add(ids, v[i]);
		free(v);
	}
}

/* --show, --delete, --requeue, --hold, --release over the user's queues. */
static int
queue_command(struct ctx *c)
{
	struct qdir *dirs;
	struct spool_entry ent;
	struct mailq_opts o;
	struct strv ids, seen = { NULL, 0 };
	struct spool sp;
	struct err e;
	size_t nd, i, j;
	int code = 0, r, where, done = 0, all;

	all = strv_has(&c->cli.queue_ids, "all");
	dirs = queue_dirs(c, &nd);
	for (i = 0; i < nd; i++) {
		err_clear(&e);
		if (open_queue(c, &sp, dirs[i].dir, dirs[i].failed_lifetime,
		    &e) == -1) {
			code = fail(&e);
			continue;
		}
		memset(&ids, 0, sizeof(ids));
		qcmd_ids(c, &sp, &ids);
		for (j = 0; j < ids.n; j++) {
			if ((where = spool_where(&sp, ids.v[j])) == -1)
				continue;
			strv_add(&seen, ids.v[j]);
			if (c->cli.mode == CLI_SHOW) {
				mailq_init(&o, c);
				if (mailq_show(&sp, ids.v[j], &o, stdout, &e)
				    == -1)
					code = fail(&e);
				continue;
			}
			r = spool_lock(&sp, (enum spool_area)where, ids.v[j],
			    &ent, &e);
			if (r == 0) {
				err_set(&e, ERR_TEMP, "%s is being delivered "
				    "right now; try again", ids.v[j]);
				code = fail(&e);
				continue;
			}
			if (r == -1) {
				code = fail(&e);
				continue;
			}
			r = apply_qcmd(c, c->cli.qcmd, &sp, &ent, !all, &e);
			if (r == 1)
				done++;
			else if (e.kind != ERR_NONE)
				code = fail(&e);
			spool_release(&ent);
		}
		strv_free(&ids);
		spool_close(&sp);
	}
	for (j = 0; !all && j < c->cli.queue_ids.n; j++)
		if (!strv_has(&seen, c->cli.queue_ids.v[j])) {
			err_set(&e, ERR_NOINPUT, "no queued message %s (see "
			    "posthorn -bp)", c->cli.queue_ids.v[j]);
			code = fail(&e);
		}
	strv_free(&seen);
	free(dirs);
	if (c->cli.mode == CLI_QUEUE_CMD && (done > 0 || c->cli.verbose))
		fprintf(stderr, "posthorn: %s %d message%s\n",
		    qcmd_done[c->cli.qcmd], done, done == 1 ? "" : "s");
	return code;
}

/* ------------------------------------------------------ queue runner */

/* The longest of the accounts' lifetimes (f: failed_lifetime). */
static int
longest(struct ctx *c, int f)
{
	int n = f ? 30 * 86400 : 5 * 86400, v;
	size_t i;

	for (i = 0; c->have_conf && i < c->conf.naccounts; i++) {
		v = f ? c->conf.accounts[i]->failed_lifetime :
		    c->conf.accounts[i]->queue_lifetime;
		if (v > n)
			n = v;
	}
	return n;
}

/*
 * One wake of the runner: the configuration read again (a password
 * fixed since counts), then what is due in its queue, as -q --due.
 */
static time_t
runner_once(void *arg)
{
	struct ctx *c = arg;
	struct deliver_ctx d;
	struct spool sp;
	struct stat sb;
	struct err e;
	time_t next;

	if (lstat(c->runner_dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		return -1;
	if (c->have_conf)
		conf_free(&c->conf);
	c->have_conf = 0;
	free(c->conf_real);
	c->conf_real = NULL;
	conf_env_release(&c->env);
	err_clear(&e);
	if (load_conf(c, &e) == -1)
		return -1;
	if (open_queue(c, &sp, c->runner_dir, longest(c, 1), &e) == -1)
		return -1;
	deliver_init(&d, c, &sp);
	d.due_only = 1;
	d.offer = queue_offer;
	deliver_queue(&d, NULL);
	d.now = time(NULL);
	next = deliver_next_due(&d);
	spool_close(&sp);
	return next;
}

/*
 * posthorn --be-queue-runner=DIR [-C FILE]: the runner runner_ensure
 * starts.  Not an option for people (the getopt table does not know
 * it): only this exact form is taken.
 */
static int
is_runner(int argc, char **argv, struct ctx *c)
{
	static const char opt[] = "--be-queue-runner=";

	if ((argc != 2 && argc != 4) || strncmp(argv[1], opt,
	    sizeof(opt) - 1) != 0 || argv[1][sizeof(opt) - 1] != '/')
		return 0;
	if (argc == 4 && strcmp(argv[2], "-C") != 0)
		return 0;
	c->runner_dir = argv[1] + sizeof(opt) - 1;
	if (argc == 4)
		c->cli.config = xstrdup(argv[3]);
	c->cli.progname = "posthorn";
	return 1;
}

static int
run_runner(struct ctx *c)
{
	struct err e;
	int code;

	err_clear(&e);
	if (load_conf(c, &e) == -1)
		return fail(&e);
	code = runner_serve(c->runner_dir, runner_once, c,
	    longest(c, 0) + 3600);
	return code;
}

static int
serverinfo(struct ctx *c)
{
	struct account *a;
	struct smtp s;
	struct err e;
	int oauth;

	err_clear(&e);
	if ((a = cli_account(c, c->cli.sender, &e)) == NULL)
		return fail(&e);
	/* Show what the server offers; do not log in. */
	oauth = oauth_provider_used(a);
	a->auth = 0;
	if (smtp_open(&s, a, c->cli.verbose, &e) == -1) {
		conf_account_free(a);
		return fail(&e);
	}
	smtp_describe(&s, stdout);
	smtp_close(&s);
	if (oauth) {
		char *st = oauth_status(a);

		printf("OAuth2:      %s\n", st);
		free(st);
	}
	conf_account_free(a);
	return 0;
}

/* --login and --logout: the account's OAuth2 sign-in. */
static int
login_logout(struct ctx *c)
{
	struct account *a;
	struct err e;
	int rv;

	err_clear(&e);
	if ((a = cli_account(c, c->cli.sender, &e)) == NULL)
		return fail(&e);
	if (c->cli.mode == CLI_LOGIN)
		rv = oauth_login(a, stderr, &e);
	else
		rv = oauth_logout(a, stderr, &e);
	conf_account_free(a);
	return rv == -1 ? fail(&e) : 0;
}

int
main(int argc, char **argv)
{
	struct ctx c;
	struct err e;
	int code;

	/* Before anything: a setgid install puts its group away. */
	privsep_start();
	conf_system_path = SYSTEM_CONFIG;
	memset(&c, 0, sizeof(c));
	err_clear(&e);
	sig_install();
	umask(077);
	if (is_runner(argc, argv, &c)) {
		code = run_runner(&c);
		goto out;
	}
	if (cli_parse(&c.cli, argc, argv, &e) == -1) {
		privsep_drop();
		code = fail(&e);
		cli_release(&c.cli);
		return code;
	}
	switch (c.cli.mode) {
	case CLI_HELP:
	case CLI_VERSION:
	case CLI_NOOP:
		privsep_drop();
		break;
	default:
		break;
	}
	switch (c.cli.mode) {
	case CLI_HELP:
		cli_usage(stdout);
		code = 0;
		goto out;
	case CLI_VERSION:
		print_version();
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
	case CLI_PRETEND:
		code = pretend(&c);
		break;
	case CLI_LOGIN:
	case CLI_LOGOUT:
		code = login_logout(&c);
		break;
	case CLI_PERSIST_STATUS:
	case CLI_PERSIST_STOP:
		code = persist_command(&c);
		break;
	case CLI_SHOW:
	case CLI_QUEUE_CMD:
		code = queue_command(&c);
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
	free(c.conf_real);
	conf_env_release(&c.env);
	cli_release(&c.cli);
	fflush(stdout);
	if (ferror(stdout) && code == 0) {
		fprintf(stderr, "posthorn: cannot write to standard output\n");
		code = 74;
	}
	return code;
}
