/*
 * deliver owns the life of a queue entry from the moment it is locked to
 * its outcome, and the SMTP session that carries it.  One rule decides
 * every outcome (settle):
 *
 *   - the server took the data for every recipient: the entry goes;
 *   - Ctrl-C at a terminal before that (the caller's own message): the
 *     entry goes, exit 130, "cancelled; nothing was sent";
 *   - something temporary: deferred (queue on, or a queue run) or
 *     dropped with exit 75 for the caller to retry (queue off);
 *   - a mistake a person must fix — the session failed for good before
 *     any message was tried (authentication, the password source, the
 *     certificate, STARTTLS, the host), a configuration error, or a 454
 *     to AUTH: held in the queue with the reason and the exit status
 *     SPEC.md gives the failure; every -q retries it;
 *   - anything else permanent: failed/.
 *
 * A message that waits longer than its account's queue_lifetime fails.
 * A session stays open across entries of the same route, so a fresh
 * message and whatever is due for its route cost one connection.  An
 * entry is only ever sent through the route it was accepted for
 * (route.c): entries no account of this configuration gives the route
 * for are left alone and said so with -v.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "fallback.h"
#include "record.h"
#include "envelope.h"
#include "err.h"
#include "jsonw.h"
#include "log.h"
#include "oauth.h"
#include "oauth_provider.h"
#include "route.h"
#include "smtp.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/sig.h"
#include "util/str.h"

/* How many recipients the summary line names in each list. */
#define SUMMARY_NAMES	10

/*
 * Server text on a terminal: C1 controls (U+0080..U+009F, in UTF-8 C2 80
 * to C2 9F) become '?' in place, like the C0 ones str_oneline replaces;
 * a NEL would otherwise break the one line in two.
 */
static void
terminal_safe(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)s[0], n = (unsigned char)s[1];

		if (c == 0xC2 && n >= 0x80 && n <= 0x9F) {
			*o++ = '?';
			s++;
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*o++ = '?';
		else
			*o++ = *s;
	}
	*o = '\0';
}

static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("posthorn: out of memory\n", stderr);
		return;
	}
	terminal_safe(line);
	fprintf(stderr, "posthorn: %s\n", line);
	free(line);
}

static int
foreground_tty(int fd)
{
	pid_t pg;

	if (!isatty(fd))
		return 0;
	pg = tcgetpgrp(fd);
	return pg != -1 && pg == getpgrp();
}

int
deliver_cancelled(void)
{
	return sig_caught == SIGINT && (foreground_tty(0) ||
	    foreground_tty(2));
}

/*
 * One log line for ent.  When nothing was delivered, e is the failure:
 * its reply code (if the server gave one) is the status that decided, not
 * whatever reply came last (with PIPELINING, DATA's answer to a rejected
 * RCPT; before a lost connection, the 354).
 */
static void
log_it(const struct account *a, const struct smtp *s,
    const struct spool_entry *ent, const char *outcome, const char *error,
    int code, const struct err *e)
{
	const struct account *a2 = a;
	struct log_outcome o;
	char *one = NULL;
	size_t n;

	if (a == NULL)
		return;
	memset(&o, 0, sizeof(o));
	/* The route the session went to (a fallback, maybe). */
	if (s != NULL && s->acct != NULL)
		a2 = s->acct;
	o.host = a2->socket != NULL ? a2->socket : a2->host;
	o.tls = s != NULL && s->tls;
	o.auth = s != NULL ? s->auth_mech : NULL;
	o.env = &ent->env;
	o.queue_id = ent->id;
	o.outcome = outcome;
	if (e != NULL)
		o.code = e->reply;
	else if (s != NULL && s->reply.code != 0) {
		/* Room for the whole reply: a log line is not cut. */
		n = s->reply.text.len + sizeof(s->reply.status) + 16;
		one = xmalloc(n);
		o.code = s->reply.code;
		smtp_reply_oneline(&s->reply, one, n);
		o.reply = one;
	}
	o.error = error;
	o.exitcode = code;
	log_outcome(a, &o);
	free(one);
}

/* "5 days", "12 hours", "30 minutes" for the give-up message. */
static void
lifetime_text(char *text, size_t n, int seconds)
{
	if (seconds % 86400 == 0)
		snprintf(text, n, "%d day%s", seconds / 86400,
		    seconds == 86400 ? "" : "s");
	else if (seconds % 3600 == 0)
		snprintf(text, n, "%d hour%s", seconds / 3600,
		    seconds == 3600 ? "" : "s");
	else if (seconds % 60 == 0)
		snprintf(text, n, "%d minute%s", seconds / 60,
		    seconds == 60 ? "" : "s");
	else
		snprintf(text, n, "%d second%s", seconds,
		    seconds == 1 ? "" : "s");
}

/* The lifetime that applies to env: the account's, else the recorded. */
static int
lifetime_of(const struct account *a, const struct envelope *env)
{
	if (a != NULL)
		return a->queue_lifetime;
	return env->lifetime > 0 ? env->lifetime : 5 * 86400;
}

/* 1 when env has waited its lifetime (counted from a --requeue too). */
static int
expired(const struct envelope *env, int lifetime, time_t now)
{
	time_t since = env->requeued > env->created ? env->requeued :
	    env->created;

	return lifetime > 0 && since + lifetime <= now;
}

/* Names the recipients in state st, as "<a> (reply), <b> (reply)". */
static void
name_list(struct buf *b, const struct envelope *env, enum rcpt_state st)
{
	size_t i, named = 0, total = envelope_count(env, st);

	for (i = 0; i < env->nrcpt && named < SUMMARY_NAMES; i++) {
		const struct rcpt *r = &env->rcpt[i];
		char *reply = NULL;

		if (r->state != st)
			continue;
		envelope_set_capped(&reply, r->reply, ENVELOPE_REPLY_MAX);
		buf_printf(b, "%s<%s>", named ? ", " : "", r->addr);
		if (reply != NULL && reply[0] != '\0')
			buf_printf(b, " (%s)", reply);
		free(reply);
		named++;
	}
	if (total > named)
		buf_printf(b, " and %zu more (see posthorn -bp)",
		    total - named);
}

char *
deliver_summary(const struct envelope *env)
{
	struct buf b;
	char *line;

	buf_init(&b, 0);
	buf_printf(&b, "delivered to %zu of %zu recipient%s",
	    envelope_count(env, RCPT_DONE), env->nrcpt,
	    env->nrcpt == 1 ? "" : "s");
	if (envelope_count(env, RCPT_FAILED) > 0) {
		buf_adds(&b, "; rejected: ");
		name_list(&b, env, RCPT_FAILED);
	}
	if (envelope_count(env, RCPT_PENDING) > 0) {
		buf_adds(&b, "; deferred: ");
		name_list(&b, env, RCPT_PENDING);
	}
	line = xmalloc(b.len + 1);
	str_oneline(line, b.len + 1, buf_str(&b), b.len);
	buf_release(&b);
	return line;
}

/* Session-level failures: the message itself was never judged. */
static int
session_level(const struct err *e)
{
	return e->phase != 0 && e->phase <= SMTP_AUTH + 1;
}

/*
 * Opens the session; an OAuth2 account first makes sure of a token that
 * lives long enough (a refresh, if one is due, happens before connecting).
 */
static int
session_open(struct smtp *s, const struct account *a, int verbose,
    struct err *e)
{
	char *token;

	if (oauth_provider_used(a)) {
		err_clear(e);
		if (oauth_token(a, OAUTH_CONNECT, &token, e) == -1)
			return -1;
		wipe_free(token);
	}
	return smtp_open(s, a, verbose, e);
}

/* A failure a person must fix: held, not failed (see the top). */
static int
held_kind(const struct err *e)
{
	if (e->phase == SMTP_AUTH + 1 && e->reply == 454)
		return 1;
	if (err_is_temporary(e))
		return 0;
	return session_level(e) || e->kind == ERR_CONFIG ||
	    e->kind == ERR_NOPERM || e->kind == ERR_NOHOST;
}

/* What to fix, for the held line. */
static const char *
held_fix(const struct err *e, const struct account *a)
{
	/* The OAuth2 text names the command (posthorn --login -A ...). */
	if (e->kind == ERR_NOPERM && a != NULL && oauth_provider_used(a))
		return "sign in";
	if (e->kind == ERR_NOPERM || (e->phase == SMTP_AUTH + 1 &&
	    e->kind != ERR_CONFIG))
		return "fix the account's user or password";
	if (e->kind == ERR_CONFIG)
		return "fix the configuration";
	if (e->kind == ERR_NOHOST)
		return "fix the account's host";
	if (e->phase == SMTP_TLS + 1 || e->phase == SMTP_STARTTLS + 1)
		return "fix the account's TLS settings (tls_trust_file, "
		    "tls_fingerprint, tls_starttls)";
	return "fix the account's server settings";
}

/* ---------------------------------------------------------- outcome */

enum outcome {
	OUT_SENT, OUT_PARTIAL, OUT_QUEUED, OUT_HELD, OUT_FAILED,
	OUT_CANCELLED, OUT_DROPPED
};

static const char *const outcome_names[] = {
	"sent", "partial", "queued", "held", "failed", "cancelled", "dropped"
};

/* --json on a send: the outcome and every recipient's, on stdout. */
static void
print_json(const struct spool_entry *ent, enum outcome out, int code,
    const char *error)
{
	static const char *const st[] = { "pending", "delivered", "rejected" };
	const struct envelope *env = &ent->env;
	size_t i;

	printf("{\"id\":");
	jsonw_str(stdout, ent->id);
	printf(",\"outcome\":\"%s\",\"exit\":%d,\"error\":",
	    outcome_names[out], code);
	jsonw_str(stdout, error);
	printf(",\"delivered\":%zu,\"recipients\":[",
	    envelope_count(env, RCPT_DONE));
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];
		const char *state = st[r->state];

		if (r->state == RCPT_PENDING && r->code / 100 == 4)
			state = "deferred";
		printf("%s{\"address\":", i ? "," : "");
		jsonw_str(stdout, r->addr);
		printf(",\"state\":\"%s\"", state);
		if (r->code != 0)
			printf(",\"code\":%d", r->code);
		if (r->reply != NULL) {
			fputs(",\"reply\":", stdout);
			jsonw_str(stdout, r->reply);
		}
		putchar('}');
	}
	printf("]}\n");
	fflush(stdout);
}

static void
hook_failed(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, const char *why)
{
	if (d->on_failed != NULL && ent->area == SPOOL_FAILED)
		d->on_failed(d, ent, a, why);
}

static void
hook_queued(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a)
{
	if (d->on_queued != NULL && ent->area == SPOOL_QUEUE)
		d->on_queued(d, ent, a);
}

/*
 * The queue could not record an outcome for a message the caller is
 * waiting for: it must not stay behind (the caller hears a failure and
 * keeps its own copy; a second one here would be sent as well).  A queue
 * run leaves the entry as it was.  Returns the exit status.
 */
static int
cannot_record(struct deliver_ctx *d, struct spool_entry *ent, int fresh,
    const struct err *se)
{
	if (fresh)
		spool_done(d->spool, ent);
	return err_exitcode(se);
}

/* Fails ent for good after its lifetime; returns 75. */
static int
give_up(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, const struct smtp *s, const char *why,
    const struct err *e)
{
	char life[64], *msg;
	struct err se;

	lifetime_text(life, sizeof(life), lifetime_of(a, &ent->env));
	msg = xasprintf("gave up after %s: %s", life, why);
	if (spool_fail(d->spool, ent, msg, d->now, &se) == -1)
		say("%s", se.text);
	else {
		say("%s: %s", ent->id, msg);
		hook_failed(d, ent, a, msg);
	}
	log_it(a, s, ent, "failed", msg, 75, e);
	free(msg);
	return 75;
}

/* Settles a message that some recipients took (smtp_send returned 0). */
static int
settle_some(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, struct smtp *s, int fresh,
    const unsigned char *tried, enum outcome *out)
{
	struct envelope *env = &ent->env;
	const struct account *ra = s != NULL && s->acct != NULL ? s->acct : a;
	const char *where = ra->socket != NULL ? ra->socket :
	    ra->host != NULL ? ra->host : "the server";
	struct err se;
	size_t i, failed, pending;
	const char *why = NULL;
	char *summary;
	int code;

	failed = envelope_count(env, RCPT_FAILED);
	pending = envelope_count(env, RCPT_PENDING);
	/* The copy --save-copy asked for, now that a server took it. */
	if (record_sent(ent, d->now, &se) == -1)
		say("%s: sent, but no copy was kept: %s", ent->id, se.text);
	if (pending == 0 && failed == 0) {
		log_it(a, s, ent, "sent", NULL, 0, NULL);
		if (d->verbose)
			say("%s: delivered", ent->id);
		spool_done(d->spool, ent);
		*out = OUT_SENT;
		return 0;
	}
	/* The reason kept with a queued entry is why it is queued. */
	for (i = 0; i < env->nrcpt && why == NULL; i++)
		if (env->rcpt[i].state == RCPT_PENDING)
			why = env->rcpt[i].reply;
	for (i = 0; i < env->nrcpt && why == NULL; i++)
		if (env->rcpt[i].state == RCPT_FAILED)
			why = env->rcpt[i].reply;
	summary = deliver_summary(env);
	if (!fresh) {
		/* A queue run names what this attempt learnt. */
		for (i = 0; i < env->nrcpt; i++) {
			const struct rcpt *r = &env->rcpt[i];

			if (r->state == RCPT_DONE || r->code == 0 ||
			    (tried != NULL && !tried[i]))
				continue;
			if (r->state == RCPT_FAILED)
				say("%s: recipient <%s> rejected by %s: %s",
				    ent->id, r->addr, where,
				    r->reply ? r->reply : "");
			else if (d->verbose)
				say("%s: recipient <%s> deferred by %s: %s",
				    ent->id, r->addr, where,
				    r->reply ? r->reply : "");
		}
	}
	code = failed > 0 ? 67 : 0;
	*out = OUT_PARTIAL;
	if (pending == 0 || !a->queue) {
		if (failed > 0) {
			if (spool_fail(d->spool, ent, why, d->now, &se) == -1) {
				say("%s", se.text);
				cannot_record(d, ent, fresh, &se);
			} else
				hook_failed(d, ent, a, why);
		} else
			spool_done(d->spool, ent);
		if (pending > 0)
			code = failed > 0 ? 67 : 75;
		if (fresh)
			say("%s", summary);
		log_it(a, s, ent, "partial", why, code, NULL);
		free(summary);
		return code;
	}
	if (spool_defer(d->spool, ent, why, d->now, &se) == -1) {
		say("%s", se.text);
		free(summary);
		return cannot_record(d, ent, fresh, &se);
	}
	hook_queued(d, ent, a);
	log_it(a, s, ent, "partial", why, code, NULL);
	if (fresh)
		say("%s; queued as %s for the deferred recipients", summary,
		    ent->id);
	free(summary);
	return code;
}

/*
 * Records one attempt's outcome for ent and returns the exit status it
 * means.  fresh: the caller is waiting for this message (print its line);
 * otherwise this is a queue run (print permanent failures and holds).
 * rc is smtp_send's (or -1 when the session could not be opened).
 */
static int
settle(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, struct smtp *s, int rc, struct err *e,
    int fresh, const unsigned char *tried)
{
	struct envelope *env = &ent->env;
	enum outcome out = OUT_FAILED;
	const char *error = NULL;
	struct err se;
	int code;

	envelope_cap(env);
	d->spool->backoff = a != NULL ? a->queue_backoff : 0;
	if (rc == 0) {
		/* A Ctrl-C from now on cancels nothing (deliver_new says
		   so once the session is closed). */
		code = settle_some(d, ent, a, s, fresh, tried, &out);
		goto done;
	}
	error = e->text;

	/* Ctrl-C at the terminal: the caller's message is withdrawn. */
	if (fresh && deliver_cancelled()) {
		spool_done(d->spool, ent);
		log_it(a, s, ent, "cancelled", e->text, 130, e);
		if (e->phase == SMTP_END + 1)
			say("cancelled; the server had the whole message but "
			    "had not answered, so it may have been delivered");
		else
			say("cancelled; nothing was sent");
		out = OUT_CANCELLED;
		code = 130;
		goto done;
	}

	/* All recipients refused: name them. */
	if (e->kind == ERR_NOUSER && e->phase == SMTP_RCPT + 1 &&
	    env->nrcpt > 1 && fresh) {
		char *summary = deliver_summary(env);

		err_set(e, ERR_NOUSER, "%s", summary);
		free(summary);
	}

	if (err_is_temporary(e) || held_kind(e)) {
		int held = held_kind(e);

		if (expired(env, lifetime_of(a, env), d->now)) {
			code = give_up(d, ent, a, s, e->text, e);
			out = OUT_FAILED;
			goto done;
		}
		if (!a->queue && fresh) {
			spool_done(d->spool, ent);
			code = err_exitcode(e);
			log_it(a, s, ent, "failed", e->text, code, e);
			say("%s", e->text);
			out = OUT_DROPPED;
			goto done;
		}
		if ((held ? spool_hold(d->spool, ent, HOLD_AUTO, e->text, 1,
		    d->now, &se) : spool_defer(d->spool, ent, e->text, d->now,
		    &se)) == -1) {
			say("%s; and %s", e->text, se.text);
			code = cannot_record(d, ent, fresh, &se);
			goto done;
		}
		hook_queued(d, ent, a);
		out = held ? OUT_HELD : OUT_QUEUED;
		code = held ? (err_is_temporary(e) ? 0 : err_exitcode(e)) : 0;
		log_it(a, s, ent, held ? "held" : "queued", e->text, code, e);
		if (fresh && held)
			say("%s; message held as %s: %s, then run posthorn -q",
			    e->text, ent->id, held_fix(e, a));
		else if (fresh)
			say("message queued as %s (will retry): %s", ent->id,
			    e->text);
		else if (held)
			say("%s: still held: %s (%s, then run posthorn -q)",
			    ent->id, e->text, held_fix(e, a));
		else if (d->verbose)
			say("%s: still queued: %s", ent->id, e->text);
		if (!fresh)
			code = 0;
		goto done;
	}

	code = err_exitcode(e);
	if (spool_fail(d->spool, ent, e->text, d->now, &se) == -1) {
		/* The caller hears the failure; no copy is kept. */
		say("%s; and %s", e->text, se.text);
		cannot_record(d, ent, fresh, &se);
		log_it(a, s, ent, "failed", e->text, code, e);
		goto done;
	}
	hook_failed(d, ent, a, e->text);
	log_it(a, s, ent, "failed", e->text, code, e);
	if (fresh)
		say("%s", e->text);
	else
		say("%s: failed: %s", ent->id, e->text);
done:
	if (fresh && d->json)
		print_json(ent, out, code, out == OUT_SENT ? NULL : error);
	return code;
}

/* Which recipients an attempt will try (those still pending). */
static unsigned char *
pending_now(const struct envelope *env)
{
	unsigned char *t = xcalloc(env->nrcpt ? env->nrcpt : 1, 1);
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		t[i] = env->rcpt[i].state == RCPT_PENDING;
	return t;
}

/* An older entry without a route takes the route it is sent through. */
static void
adopt_route(struct envelope *env, const struct account *a, const char *conf)
{
	char digest[ROUTE_DIGEST_LEN];

	if (env->route != NULL)
		return;
	route_digest(a, digest);
	envelope_set(&env->route, digest);
	free(env->route_desc);
	env->route_desc = route_describe(a);
	if (env->conf == NULL && conf != NULL)
		envelope_set(&env->conf, conf);
	if (env->lifetime == 0)
		env->lifetime = a->queue_lifetime;
}

/* ------------------------------------------------------- grouping */

struct due_group {
	struct account	*a;
	char		 digest[ROUTE_DIGEST_LEN];
};

struct due {
	char		(*ids)[SPOOL_ID_MAX];
	size_t		 *group;	/* the group of ids[i] */
	size_t		  n;
	struct due_group *groups;
	size_t		  ngroups;
};

static void
due_free(struct due *due)
{
	size_t i;

	for (i = 0; i < due->ngroups; i++)
		conf_account_free(due->groups[i].a);
	free(due->groups);
	free(due->group);
	free(due->ids);
	memset(due, 0, sizeof(*due));
}

/* Fails an entry no configuration gives the route for, after its time. */
static void
expire_orphan(struct deliver_ctx *d, const char *id, const char *why)
{
	struct spool_entry ent;
	struct err e;

	if (spool_lock(d->spool, SPOOL_QUEUE, id, &ent, &e) != 1)
		return;
	if (ent.env.hold != HOLD_MANUAL &&
	    expired(&ent.env, lifetime_of(NULL, &ent.env), d->now))
		give_up(d, &ent, NULL, NULL, why, NULL);
	spool_release(&ent);
}

/*
 * The queue entries to attempt now, oldest first, each envelope read
 * once: with want, those whose route has that digest; otherwise all this
 * configuration has a route for, grouped by route.  Held-by-hand entries
 * are skipped, and with due_only (and no only_id) those still waiting.
 */
static void
find_due(struct deliver_ctx *d, const char *want, const char *only_id,
    struct due *out)
{
	char (*ids)[SPOOL_ID_MAX];
	char digest[ROUTE_DIGEST_LEN];
	struct envelope pe;
	struct account *a;
	struct err e;
	size_t n, i, g;

	memset(out, 0, sizeof(*out));
	if (spool_list(d->spool, SPOOL_QUEUE, &ids, &n, &e) == -1) {
		say("%s", e.text);
		return;
	}
	out->ids = xreallocarray(NULL, n ? n : 1, SPOOL_ID_MAX);
	out->group = xreallocarray(NULL, n ? n : 1, sizeof(*out->group));
	for (i = 0; i < n; i++) {
		if (only_id != NULL && strcmp(ids[i], only_id) != 0)
			continue;
		if (spool_peek(d->spool, SPOOL_QUEUE, ids[i], &pe, &e) == -1) {
			/* Damaged: a queue run moves it aside (spool_lock
			   does) and says so, once. */
			if (want == NULL && e.kind != ERR_TEMP) {
				struct spool_entry bad;

				if (spool_lock(d->spool, SPOOL_QUEUE, ids[i],
				    &bad, &e) == -1)
					say("%s", e.text);
				spool_release(&bad);
			}
			continue;
		}
		if (pe.hold == HOLD_MANUAL) {
			if (only_id != NULL || (d->verbose && want == NULL))
				say("%s: held by hand (posthorn --release %s "
				    "lets it go)", ids[i], ids[i]);
			envelope_release(&pe);
			continue;
		}
		if (d->due_only && only_id == NULL &&
		    pe.next_attempt > d->now) {
			envelope_release(&pe);
			continue;
		}
		if ((a = d->account_for(d, &pe, &e)) == NULL) {
			if (want == NULL) {
				if (d->verbose || only_id != NULL)
					say("%s: left alone: %s", ids[i],
					    e.text);
				if (expired(&pe, lifetime_of(NULL, &pe),
				    d->now))
					expire_orphan(d, ids[i], e.text);
			}
			envelope_release(&pe);
			continue;
		}
		envelope_release(&pe);
		route_digest(a, digest);
		if (want != NULL && strcmp(digest, want) != 0) {
			conf_account_free(a);
			continue;
		}
		for (g = 0; g < out->ngroups; g++)
			if (strcmp(out->groups[g].digest, digest) == 0)
				break;
		if (g == out->ngroups) {
			out->groups = xreallocarray(out->groups, g + 1,
			    sizeof(*out->groups));
			out->groups[g].a = a;
			memcpy(out->groups[g].digest, digest, sizeof(digest));
			out->ngroups++;
		} else
			conf_account_free(a);
		out->group[out->n] = g;
		memcpy(out->ids[out->n++], ids[i], SPOOL_ID_MAX);
	}
	free(ids);
}

/*
 * A route that failed in a way that lets the next one be tried: said
 * with -v, and logged as outcome "fallback" with the route's host and
 * the failure.  i is the route's index of n.
 */
static void
next_route(struct deliver_ctx *d, const struct spool_entry *ent,
    const struct account *a, const struct smtp *s,
    const struct account *ra, const struct err *e, size_t i, size_t n)
{
	struct log_outcome o;

	if (d->verbose)
		say("%s: route %zu of %zu (%s) failed: %s; trying the next",
		    ent->id, i + 1, n, ra->socket != NULL ? ra->socket :
		    ra->host != NULL ? ra->host : "-", e->text);
	memset(&o, 0, sizeof(o));
	o.host = ra->socket != NULL ? ra->socket : ra->host;
	o.tls = s != NULL && s->tls;
	o.auth = s != NULL ? s->auth_mech : NULL;
	o.env = &ent->env;
	o.queue_id = ent->id;
	o.outcome = "fallback";
	o.code = e->reply;
	o.error = e->text;
	o.exitcode = err_exitcode(e);
	log_outcome(a, &o);
}

/*
 * Opens s on a's route, else on each fallback in turn while the failure
 * lets it move on (a queue run: a message's own failures after the
 * session is open are settled as they are, and the next run starts
 * again with the first route).  0, or -1 with the last failure in e.
 */
static int
open_route(struct deliver_ctx *d, const struct spool_entry *ent,
    const struct account *a, struct smtp *s, struct err *e)
{
	const struct account *ra;
	size_t i, n = fallback_count(a);

	for (i = 0; i < n; i++) {
		ra = fallback_route(a, i);
		if (session_open(s, ra, d->verbose, e) == 0)
			return 0;
		if (i + 1 == n || !fallback_moves_on(e))
			break;
		next_route(d, ent, a, NULL, ra, e, i, n);
	}
	return -1;
}

/*
 * Sends the entries of group g over session s with account a (opened
 * here when needed).  A session that cannot be opened settles every
 * entry of the route with the same error, so a dead server costs one
 * attempt.
 */
static void
run_route(struct deliver_ctx *d, const struct account *a, struct smtp *s,
    const struct due *due, size_t g)
{
	struct spool_entry ent;
	struct err e, open_err;
	unsigned char *tried;
	size_t i, last = 0;
	int r, opened_failed = 0;

	for (i = 0; i < due->n; i++)
		if (due->group[i] == g)
			last = i;
	for (i = 0; i < due->n && !sig_caught; i++) {
		if (due->group[i] != g)
			continue;
		r = spool_lock(d->spool, SPOOL_QUEUE, due->ids[i], &ent, &e);
		if (r == -1) {
			say("%s", e.text);
			spool_release(&ent);
			continue;
		}
		if (r == 0)
			continue;
		if (ent.env.hold == HOLD_MANUAL ||
		    (d->due_only && ent.env.next_attempt > d->now)) {
			spool_release(&ent);
			continue;
		}
		adopt_route(&ent.env, a, d->conf != NULL ? d->conf->path :
		    NULL);
		/* A holder's session first, while this run has none. */
		if (!s->open && !opened_failed && d->offer != NULL &&
		    d->offer(d, &ent, a) == 1) {
			spool_release(&ent);
			continue;
		}
		if (opened_failed) {
			settle(d, &ent, a, NULL, -1, &open_err, 0, NULL);
			spool_release(&ent);
			continue;
		}
		if (!s->open && s->conn.fd != -1)
			smtp_close(s);
		if (!s->open && open_route(d, &ent, a, s, &open_err) == -1) {
			opened_failed = 1;
			settle(d, &ent, a, NULL, -1, &open_err, 0, NULL);
			spool_release(&ent);
			continue;
		}
		if (d->verbose)
			say("delivering %s", ent.id);
		tried = pending_now(&ent.env);
		/* A session kept for a holder gets no QUIT. */
		r = smtp_send(s, &ent.env, ent.fd, i == last && d->keep == NULL,
		    &e);
		settle(d, &ent, a, s, r, &e, 0, tried);
		free(tried);
		spool_release(&ent);
	}
}

/* --------------------------------------------------------- public */

int
deliver_new(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a)
{
	const struct account *ra;
	struct smtp s;
	struct due due;
	struct err e;
	unsigned char *tried;
	char digest[ROUTE_DIGEST_LEN];
	size_t g, i, n;
	int r, code, opened;

	route_digest(a, digest);
	if (d->alone)
		memset(&due, 0, sizeof(due));
	else
		find_due(d, digest, NULL, &due);
	err_clear(&e);
	/* The account's route, then each fallback while nothing of the
	   message can have been accepted (fallback.h). */
	for (i = 0, n = fallback_count(a); ; i++) {
		ra = fallback_route(a, i);
		tried = NULL;
		opened = session_open(&s, ra, d->verbose, &e) == 0;
		r = -1;
		if (opened) {
			tried = pending_now(&ent->env);
			r = smtp_send(&s, &ent->env, ent->fd, due.n == 0 &&
			    d->keep == NULL, &e);
		}
		if (r == 0 || i + 1 == n || !fallback_moves_on(&e))
			break;
		next_route(d, ent, a, opened ? &s : NULL, ra, &e, i, n);
		free(tried);
		if (opened)
			smtp_close(&s);
	}
	if (!opened) {
		code = settle(d, ent, a, NULL, -1, &e, 1, NULL);
		due_free(&due);
		return code;
	}
	code = settle(d, ent, a, &s, r, &e, 1, tried);
	free(tried);
	if (r == 0 && s.open && due.n > 0 && !sig_caught)
		for (g = 0; g < due.ngroups; g++)
			run_route(d, a, &s, &due, g);
	if (d->keep != NULL && s.open && !s.quit_sent && !sig_caught)
		*d->keep = s;
	else
		smtp_close(&s);
	due_free(&due);
	if (r == 0 && deliver_cancelled())
		say("interrupted, but the server had already accepted the "
		    "message, so it was sent");
	return code;
}

int
deliver_held(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, struct smtp *s)
{
	char digest[ROUTE_DIGEST_LEN];
	unsigned char *tried;
	struct smtp *keep = d->keep;
	struct due due;
	struct err e;
	size_t g;
	int r, code;

	/* As deliver_new: what is due for the route goes after it. */
	route_digest(a, digest);
	find_due(d, digest, NULL, &due);
	err_clear(&e);
	tried = pending_now(&ent->env);
	r = smtp_send(s, &ent->env, ent->fd, 0, &e);
	code = settle(d, ent, a, s, r, &e, 1, tried);
	free(tried);
	d->keep = s;
	if (r == 0 && s->open && due.n > 0 && !sig_caught)
		for (g = 0; g < due.ngroups; g++)
			run_route(d, a, s, &due, g);
	d->keep = keep;
	due_free(&due);
	return code;
}

int
deliver_held_queued(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, struct smtp *s)
{
	unsigned char *tried;
	struct err e;
	int r, code;

	err_clear(&e);
	adopt_route(&ent->env, a, d->conf != NULL ? d->conf->path : NULL);
	tried = pending_now(&ent->env);
	r = smtp_send(s, &ent->env, ent->fd, 0, &e);
	code = settle(d, ent, a, s, r, &e, 0, tried);
	free(tried);
	return code;
}

int
deliver_lost(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, const char *why)
{
	struct err e;

	err_clear(&e);
	err_set(&e, ERR_TEMP, "%s", why);
	return settle(d, ent, a, NULL, -1, &e, ent->area != SPOOL_QUEUE,
	    NULL);
}

int
deliver_queue(struct deliver_ctx *d, const char *only_id)
{
	struct due due;
	struct smtp s;
	size_t g;

	find_due(d, NULL, only_id, &due);
	if (only_id != NULL && due.n == 0) {
		due_free(&due);
		if (spool_where(d->spool, only_id) == SPOOL_QUEUE)
			return 0;	/* said why above */
		say("no queued message %s (see posthorn -bp)", only_id);
		return 66;
	}
	/* One session per route, its entries oldest first. */
	for (g = 0; g < due.ngroups && !sig_caught; g++) {
		memset(&s, 0, sizeof(s));
		s.conn.fd = -1;
		run_route(d, due.groups[g].a, &s, &due, g);
		if (s.conn.fd != -1)
			smtp_close(&s);
	}
	due_free(&due);
	return 0;
}

/* An entry due but busy (its sender still has it) is looked at again. */
#define NEXT_DUE_MIN	5

time_t
deliver_next_due(struct deliver_ctx *d)
{
	char (*ids)[SPOOL_ID_MAX];
	struct envelope pe;
	struct account *a;
	struct err e;
	time_t next = 0, t;
	size_t n, i;

	if (spool_list(d->spool, SPOOL_QUEUE, &ids, &n, &e) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (spool_peek(d->spool, SPOOL_QUEUE, ids[i], &pe, &e) == -1)
			continue;
		if (pe.hold != HOLD_MANUAL &&
		    (a = d->account_for(d, &pe, &e)) != NULL) {
			conf_account_free(a);
			t = pe.next_attempt;
			if (t < d->now + NEXT_DUE_MIN)
				t = d->now + NEXT_DUE_MIN;
			if (next == 0 || t < next)
				next = t;
		}
		envelope_release(&pe);
	}
	free(ids);
	return next;
}
