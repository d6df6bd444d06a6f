/*
 * mailq: the queue as people and scripts see it: the listing of -bp and
 * mailq (one line per message; --json: one JSON object per line), and
 * one message in full (--show).
 */
#ifndef POSTHORN_MAILQ_H
#define POSTHORN_MAILQ_H

#include <stdio.h>
#include <time.h>

struct envelope;
struct err;
struct spool;

struct mailq_opts {
	int	 json;
	time_t	 now;
	/*
	 * Why the running configuration would leave env alone (no route
	 * for it), as a malloc'd line, or NULL when it would send it.  NULL
	 * function: not asked (another user's queue).
	 */
	char	*(*why_not)(void *arg, const struct envelope *env);
	void	*arg;
	long	 uid;	/* the queue's owner for --all's JSON, or -1 */
};

/*
 * Lists queue/ of sp (waiting messages, then held ones, each held one
 * with its reason) and failed/ (with their errors), then the totals.
 * 0 or -1 (ERR_IO).
 */
int	 mailq_print(struct spool *sp, const struct mailq_opts *o, FILE *out,
	    struct err *e);

/*
 * Prints one entry in full: state and reason, envelope, size, route and
 * the message's header (terminal-safe; JSON with o->json).  0, or -1
 * with ERR_NOINPUT when there is no such entry.
 */
int	 mailq_show(struct spool *sp, const char *id,
	    const struct mailq_opts *o, FILE *out, struct err *e);

#endif
