/*
 * deliver: a queue entry from lock to outcome.  Opens the SMTP session
 * (deliver owns it), sends, and records what happened in the spool:
 * removed when the server took it for every recipient, deferred (queued,
 * with backoff) on a temporary failure, held on a mistake a person must
 * fix (authentication, password source, certificate, configuration),
 * moved to failed/ on a permanent one, removed on a cancel (Ctrl-C at a
 * terminal).  Also the queue run (-q): due entries grouped by route, one
 * session per route, each entry only through the route it was accepted
 * for.
 */
#ifndef POSTHORN_DELIVER_H
#define POSTHORN_DELIVER_H

#include <stdio.h>
#include <time.h>

struct account;
struct conf;
struct envelope;
struct err;
struct spool;
struct spool_entry;

struct deliver_ctx {
	struct conf		*conf;
	struct spool		*spool;
	int			 verbose;
	int			 due_only;	/* respect next-attempt times */
	int			 json;		/* --json: the outcome of a send
						   as JSON on stdout */
	int			 alone;		/* deliver_new: this message
						   only, not what is due */
	time_t			 now;
	/*
	 * The account to deliver env with: one whose route (route.c) is the
	 * one env was accepted for, with env's command-line overrides; for
	 * an older envelope without a route, the account it names.  NULL
	 * with e saying why when this configuration gives no such route.
	 * The caller frees it with conf_account_free.
	 */
	struct account		*(*account_for)(struct deliver_ctx *,
				    const struct envelope *, struct err *);
	void			*arg;		/* for account_for */

	/*
	 * Hooks for what happens beside delivery; NULL = nothing.
	 * on_failed: ent finally failed (a 5xx after the server took it
	 * for some, the lifetime reached, a route no configuration gives
	 * any more); ent is locked in failed/ with why as its last error;
	 * a is the account it was tried with, or NULL.  The bounce module
	 * sends its delivery status notification from here.
	 * on_queued: ent was queued (deferred or held) for a later attempt;
	 * the runner module makes sure that attempt happens.  ent is
	 * locked in queue/.
	 */
	void			(*on_failed)(struct deliver_ctx *,
				    struct spool_entry *ent,
				    const struct account *a, const char *why);
	void			(*on_queued)(struct deliver_ctx *,
				    struct spool_entry *ent,
				    const struct account *a);
	void			*hook_arg;

	/*
	 * persist (persist.c): when keep is set, deliver_new leaves its
	 * session open there (no QUIT) for a holder to take over; keep->open
	 * says whether it still is.
	 */
	struct smtp		*keep;

	/*
	 * A queue run (-q, the runner) with persist (persist.c): before it
	 * opens a session of its own for a route, each entry (locked in
	 * queue/, for account a) is offered here; 1 when it was settled
	 * elsewhere (a holder sent it) and the run goes on to the next, 0
	 * to deliver it as without.  NULL: none.
	 */
	int			(*offer)(struct deliver_ctx *,
				    struct spool_entry *ent,
				    const struct account *a);
};

/*
 * Delivers a message just taken from the caller (ent locked in tmp/) with
 * account a, then, over the same session, what is due in the queue for
 * the same route.  Writes the line the caller must see on stderr (the
 * partial delivery, the queued or held note, the failure, the cancel)
 * and, with json, the outcome on stdout; returns SPEC.md's exit status
 * for the message (130 when the user cancelled it at a terminal).
 */
int	 deliver_new(struct deliver_ctx *d, struct spool_entry *ent,
	    const struct account *a);

/*
 * Delivers ent (fresh: the caller waits) over s, a session held open
 * (persist.c), and settles it as deliver_new does, then what is due in
 * the queue for the same route, as deliver_new does; s stays open (no
 * QUIT) unless the server ended it.  Returns the exit status for the
 * message.
 */
int	 deliver_held(struct deliver_ctx *d, struct spool_entry *ent,
	    const struct account *a, struct smtp *s);

/*
 * A queue run's entry (ent locked in queue/), handed to a holder
 * (persist.c): delivered over s and settled as a queue run settles it
 * (its lines, its log line, its hooks), that entry alone.  s stays open
 * (no QUIT) unless the server ended it.  Returns what settling it gave.
 */
int	 deliver_held_queued(struct deliver_ctx *d, struct spool_entry *ent,
	    const struct account *a, struct smtp *s);

/*
 * ent was handed to a holder that ended without saying what became of
 * it (persist.c): queued (or dropped with 75 when the queue is off) with
 * why, as a lost connection would leave it; a queue entry (in queue/) is
 * deferred as a queue run defers it.  Returns the exit status.
 */
int	 deliver_lost(struct deliver_ctx *d, struct spool_entry *ent,
	    const struct account *a, const char *why);

/*
 * -q: delivers the queued entries (only those due with due_only) that
 * this configuration has a route for, oldest first, one session per
 * route; held entries too, but not those held by hand; only_id limits it
 * to one entry.  Entries whose lifetime passed fail.  Permanent failures
 * and held entries are reported on stderr, the rest (deferrals, entries
 * left alone for their route) with -v.  Returns 0, or an exit status when
 * the queue itself could not be worked.
 */
int	 deliver_queue(struct deliver_ctx *d, const char *only_id);

/*
 * When the queue runner (runner.c) must look again: the earliest next
 * attempt of the queued entries it would retry (not held by hand, with a
 * route in this configuration), at least a few seconds from now; 0 when
 * there is none.
 */
time_t	 deliver_next_due(struct deliver_ctx *d);

/*
 * 1 when a Ctrl-C at a terminal asked to cancel: SIGINT was caught and
 * standard input or standard error is a terminal whose foreground
 * process group is ours.
 */
int	 deliver_cancelled(void);

/*
 * The line posthorn prints for a message whose recipients were partly
 * accepted: "delivered to N of M recipients; rejected: <a> (550 ...);
 * deferred: <b> (451 ...)".  At most 10 of each are named ("and N more").
 * Returns a malloc'd string.
 */
char	*deliver_summary(const struct envelope *env);

#endif
