/*
 * deliver owns the life of a queue entry from the moment it is locked to
 * its outcome, and the SMTP session that carries it.  One rule decides
 * every outcome (settle): the server took the data for every recipient,
 * the entry goes; something temporary, it is deferred (queue on) or
 * dropped with exit 75 for the caller to retry (queue off); something
 * permanent, it moves to failed/.  A session stays open across entries
 * of the same account, so a fresh message and whatever is due for its
 * account cost one connection.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "deliver.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "smtp.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/sig.h"

static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list ap;

	fputs("posthorn: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
	struct log_outcome o;
	char one[768];

	memset(&o, 0, sizeof(o));
	o.host = a->host;
	o.tls = s != NULL && s->tls;
	o.auth = s != NULL ? s->auth_mech : NULL;
	o.env = &ent->env;
	o.queue_id = ent->id;
	o.outcome = outcome;
	if (e != NULL)
		o.code = e->reply;
	else if (s != NULL && s->reply.code != 0) {
		o.code = s->reply.code;
		smtp_reply_oneline(&s->reply, one, sizeof(one));
		o.reply = one;
	}
	o.error = error;
	o.exitcode = code;
	log_outcome(a, &o);
}

/* "5 days", "12 hours", "30 minutes" for the give-up message. */
static const char *
lifetime_text(int seconds)
{
	static char text[64];

	if (seconds % 86400 == 0)
		snprintf(text, sizeof(text), "%d day%s", seconds / 86400,
		    seconds == 86400 ? "" : "s");
	else if (seconds % 3600 == 0)
		snprintf(text, sizeof(text), "%d hour%s", seconds / 3600,
		    seconds == 3600 ? "" : "s");
	else if (seconds % 60 == 0)
		snprintf(text, sizeof(text), "%d minute%s", seconds / 60,
		    seconds == 60 ? "" : "s");
	else
		snprintf(text, sizeof(text), "%d second%s", seconds,
		    seconds == 1 ? "" : "s");
	return text;
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

/* Session-level failures: the message itself was never judged. */
static int
session_level(const struct err *e)
{
	return e->phase != 0 && e->phase <= SMTP_AUTH + 1;
}

/*
 * Records one attempt's outcome for ent and returns the exit status it
 * means.  fresh: the caller is waiting for this message (print its line);
 * otherwise this is a queue run (print permanent failures only, keep
 * session-level permanent failures queued: a fixed password must not
 * find its mail already failed).
 */
static int
settle(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, struct smtp *s, int rc, struct err *e,
    int fresh, const unsigned char *tried)
{
	struct envelope *env = &ent->env;
	struct err se;
	size_t i, failed, pending;
	const char *why = NULL;
	int code;

	if (rc == 0) {
		failed = envelope_count(env, RCPT_FAILED);
		pending = envelope_count(env, RCPT_PENDING);
		for (i = 0; i < env->nrcpt; i++) {
			const struct rcpt *r = &env->rcpt[i];

			/* Only what this attempt learnt is news. */
			if (r->state == RCPT_DONE || r->code == 0 ||
			    (tried != NULL && !tried[i]))
				continue;
			if (r->state == RCPT_FAILED && (fresh || d->verbose ||
			    r->code / 100 == 5))
				say("recipient <%s> rejected by %s: %s",
				    r->addr, a->host, r->reply ? r->reply : "");
			else if (r->state == RCPT_PENDING && (fresh ||
			    d->verbose))
				say("recipient <%s> deferred by %s: %s",
				    r->addr, a->host, r->reply ? r->reply : "");
		}
		/* The reason kept with a queued entry is why it is queued. */
		for (i = 0; i < env->nrcpt && why == NULL; i++)
			if (env->rcpt[i].state == RCPT_PENDING)
				why = env->rcpt[i].reply;
		for (i = 0; i < env->nrcpt && why == NULL; i++)
			if (env->rcpt[i].state == RCPT_FAILED)
				why = env->rcpt[i].reply;
		if (pending == 0 && failed == 0) {
			log_it(a, s, ent, "sent", NULL, 0, NULL);
			if (d->verbose)
				say("%s: delivered", ent->id);
			spool_done(d->spool, ent);
			return 0;
		}
		code = failed > 0 ? 67 : 0;
		if (pending == 0 || !a->queue) {
			if (failed > 0) {
				if (spool_fail(d->spool, ent, why, &se) == -1) {
					say("%s", se.text);
					cannot_record(d, ent, fresh, &se);
				}
			} else
				spool_done(d->spool, ent);
			if (pending > 0)
				code = failed > 0 ? 67 : 75;
			log_it(a, s, ent, "partial", why, code, NULL);
			return code;
		}
		if (spool_defer(d->spool, ent, why, d->now, &se) == -1) {
			say("%s", se.text);
			return cannot_record(d, ent, fresh, &se);
		}
		log_it(a, s, ent, "partial", why, code, NULL);
		if (fresh)
			say("queued as %s for the deferred recipients", ent->id);
		return code;
	}

	/* Nothing was delivered. */
	if (err_is_temporary(e) || (!fresh && session_level(e))) {
		if (a->queue_lifetime > 0 &&
		    env->created + a->queue_lifetime <= d->now) {
			char *msg = xasprintf("gave up after %s: %s",
			    lifetime_text(a->queue_lifetime), e->text);

			if (spool_fail(d->spool, ent, msg, &se) == -1)
				say("%s", se.text);
			else
				say("%s: %s", ent->id, msg);
			log_it(a, s, ent, "failed", msg, 75, e);
			free(msg);
			return 75;
		}
		if (a->queue || !fresh) {
			if (spool_defer(d->spool, ent, e->text, d->now,
			    &se) == -1) {
				say("%s; and %s", e->text, se.text);
				return cannot_record(d, ent, fresh, &se);
			}
			log_it(a, s, ent, "queued", e->text, 0, e);
			if (fresh)
				say("message queued as %s (will retry): %s",
				    ent->id, e->text);
			else if (d->verbose || !err_is_temporary(e))
				say("%s: still queued: %s", ent->id, e->text);
			return 0;
		}
		spool_done(d->spool, ent);
		log_it(a, s, ent, "failed", e->text, err_exitcode(e), e);
		say("%s", e->text);
		return err_exitcode(e);
	}
	code = err_exitcode(e);
	if (spool_fail(d->spool, ent, e->text, &se) == -1) {
		/* The caller hears the failure; no copy is kept. */
		say("%s; and %s", e->text, se.text);
		cannot_record(d, ent, fresh, &se);
		log_it(a, s, ent, "failed", e->text, code, e);
		return code;
	}
	log_it(a, s, ent, "failed", e->text, code, e);
	if (fresh)
		say("%s", e->text);
	else
		say("%s: failed: %s", ent->id, e->text);
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

/* ------------------------------------------------------- grouping */

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Same account and same command-line overrides: same session. */
static int
same_route(const struct envelope *x, const struct envelope *y)
{
	return same_str(x->account, y->account) && same_str(x->host, y->host) &&
	    x->port == y->port && same_str(x->tls, y->tls) &&
	    same_str(x->user, y->user) && same_str(x->auth, y->auth);
}

struct due {
	char		(*ids)[SPOOL_ID_MAX];
	size_t		  n;
	size_t		 *route;	/* ids[i] takes route heads[route[i]] */
	struct envelope	 *heads;	/* the first envelope of each route */
	size_t		  nheads;
};

static void
due_free(struct due *due)
{
	size_t i;

	for (i = 0; i < due->nheads; i++)
		envelope_release(&due->heads[i]);
	free(due->heads);
	free(due->route);
	free(due->ids);
	memset(due, 0, sizeof(*due));
}

/*
 * The queue entries due now with the same route as env (all of them when
 * env is NULL), oldest first, each envelope read once: the route of every
 * entry is noted as it is read, with the first envelope of each route
 * kept for choosing its account.
 */
static void
find_due(struct deliver_ctx *d, const struct envelope *env,
    const char *only_id, struct due *out)
{
	char (*ids)[SPOOL_ID_MAX];
	struct envelope pe;
	struct err e;
	size_t n, i;

	size_t r;

	memset(out, 0, sizeof(*out));
	if (spool_list(d->spool, SPOOL_QUEUE, &ids, &n, &e) == -1) {
		say("%s", e.text);
		return;
	}
	out->ids = xreallocarray(NULL, n ? n : 1, SPOOL_ID_MAX);
	out->route = xreallocarray(NULL, n ? n : 1, sizeof(*out->route));
	for (i = 0; i < n; i++) {
		if (only_id != NULL && strcmp(ids[i], only_id) != 0)
			continue;
		if (spool_peek(d->spool, SPOOL_QUEUE, ids[i], &pe, &e) == -1) {
			/* Damaged: a queue run moves it aside (spool_lock
			   does) and says so, once. */
			if (env == NULL && e.kind != ERR_TEMP) {
				struct spool_entry bad;

				if (spool_lock(d->spool, SPOOL_QUEUE, ids[i],
				    &bad, &e) == -1)
					say("%s", e.text);
				spool_release(&bad);
			}
			continue;
		}
		if ((env != NULL && !same_route(env, &pe)) ||
		    (d->due_only && only_id == NULL &&
		    pe.next_attempt > d->now)) {
			envelope_release(&pe);
			continue;
		}
		for (r = 0; r < out->nheads; r++)
			if (same_route(&out->heads[r], &pe))
				break;
		if (r == out->nheads) {
			out->heads = xreallocarray(out->heads, r + 1,
			    sizeof(*out->heads));
			out->heads[out->nheads++] = pe;
		} else
			envelope_release(&pe);
		out->route[out->n] = r;
		memcpy(out->ids[out->n++], ids[i], SPOOL_ID_MAX);
	}
	free(ids);
}

/*
 * Sends the due entries of one route over session s (opened here when
 * needed).  A session that cannot be opened defers every entry
 * of the route with the same error, so a dead server costs one attempt.
 */
static void
run_route(struct deliver_ctx *d, const struct account *a, struct smtp *s,
    const struct due *due)
{
	struct spool_entry ent;
	struct err e, open_err;
	unsigned char *tried;
	size_t i;
	int r, opened_failed = 0;

	for (i = 0; i < due->n && !sig_caught; i++) {
		r = spool_lock(d->spool, SPOOL_QUEUE, due->ids[i], &ent, &e);
		if (r == -1) {
			say("%s", e.text);
			spool_release(&ent);
			continue;
		}
		if (r == 0)
			continue;
		if (d->due_only && ent.env.next_attempt > d->now) {
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
		if (!s->open && smtp_open(s, a, d->verbose, &open_err) == -1) {
			opened_failed = 1;
			settle(d, &ent, a, NULL, -1, &open_err, 0, NULL);
			spool_release(&ent);
			continue;
		}
		if (d->verbose)
			say("delivering %s", ent.id);
		tried = pending_now(&ent.env);
		r = smtp_send(s, &ent.env, ent.fd, i + 1 == due->n, &e);
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
	struct smtp s;
	struct due due;
	struct err e;
	unsigned char *tried;
	int r, code;

	find_due(d, &ent->env, NULL, &due);
	if (smtp_open(&s, a, d->verbose, &e) == -1) {
		code = settle(d, ent, a, NULL, -1, &e, 1, NULL);
		due_free(&due);
		return code;
	}
	tried = pending_now(&ent->env);
	r = smtp_send(&s, &ent->env, ent->fd, due.n == 0, &e);
	code = settle(d, ent, a, &s, r, &e, 1, tried);
	free(tried);
	if (r == 0 && s.open && due.n > 0 && !sig_caught)
		run_route(d, a, &s, &due);
	smtp_close(&s);
	due_free(&due);
	return code;
}

int
deliver_queue(struct deliver_ctx *d, const char *only_id)
{
	struct due due, route;
	struct account *a;
	struct smtp s;
	struct err e;
	size_t r, i;

	find_due(d, NULL, only_id, &due);
	if (only_id != NULL && due.n == 0) {
		due_free(&due);
		say("no queued message %s (see posthorn -bp)", only_id);
		return 66;
	}
	/* One session per route, its entries oldest first. */
	memset(&route, 0, sizeof(route));
	route.ids = xreallocarray(NULL, due.n ? due.n : 1, SPOOL_ID_MAX);
	for (r = 0; r < due.nheads && !sig_caught; r++) {
		route.n = 0;
		for (i = 0; i < due.n; i++)
			if (due.route[i] == r)
				memcpy(route.ids[route.n++], due.ids[i],
				    SPOOL_ID_MAX);
		if ((a = d->account_for(d, &due.heads[r], &e)) == NULL) {
			say("%s", e.text);
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.conn.fd = -1;
		run_route(d, a, &s, &route);
		if (s.conn.fd != -1)
			smtp_close(&s);
		conf_account_free(a);
	}
	free(route.ids);
	due_free(&due);
	return 0;
}
