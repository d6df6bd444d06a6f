/*
 * deliver: a queue entry from lock to outcome.  Opens the SMTP session
 * (deliver owns it), sends, and records what happened in the spool:
 * removed when the server took it for every recipient, deferred (queued,
 * with backoff) on a temporary failure, moved to failed/ on a permanent
 * one.  Also the queue run (-q): due entries grouped by account, one
 * session per account.
 */
#ifndef POSTHORN_DELIVER_H
#define POSTHORN_DELIVER_H

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
	time_t			 now;
	/* Account for an envelope: by name, with its overrides; the
	   caller frees it with conf_account_free. */
	struct account		*(*account_for)(struct deliver_ctx *,
				    const struct envelope *, struct err *);
	void			*arg;		/* for account_for */
};

/*
 * Delivers a message just taken from the caller (ent locked in tmp/) with
 * account a, then, over the same session, what is due in the queue for
 * that account.  Writes the line(s) the caller must see on stderr
 * ("posthorn: ...": rejected recipients, the queued note, the failure)
 * and returns SPEC.md's exit status for the message.
 */
int	 deliver_new(struct deliver_ctx *d, struct spool_entry *ent,
	    const struct account *a);

/*
 * -q: delivers the queued entries (only those due with due_only), oldest
 * first, one session per account; only_id limits it to one entry.
 * Permanent failures are reported on stderr, deferrals only with -v.
 * Returns 0, or an exit status when the queue itself could not be worked.
 */
int	 deliver_queue(struct deliver_ctx *d, const char *only_id);

#endif
