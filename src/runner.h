/*
 * runner: retries without a timer.  When a message is queued, posthorn
 * makes sure that a detached runner exists for the queue it went to: a
 * copy of posthorn (re-executed from /proc/self/exe with the hidden
 * option --be-queue-runner=DIR) in a session of its own, without a
 * terminal, its standard streams on /dev/null, that holds an flock on
 * DIR/runner.lock (so there is at most one per queue), sleeps until the
 * next entry is due, runs the queue as `posthorn -q --due` does, and
 * exits when nothing is left to retry (the queue is empty, or holds only
 * entries held by hand or that this configuration has no route for), on
 * SIGTERM, SIGINT or SIGHUP, or after its lifetime.  A posthorn that
 * queues a message wakes the runner through the FIFO DIR/runner.fifo, or
 * starts one when nobody reads it.
 */
#ifndef POSTHORN_RUNNER_H
#define POSTHORN_RUNNER_H

#include <time.h>

/* The runner's files in a queue directory. */
#define RUNNER_LOCK	"runner.lock"
#define RUNNER_FIFO	"runner.fifo"

/*
 * Wakes the runner of the queue at dir, or starts one (with -C conf when
 * conf is not NULL) when there is none.  Never blocks, never fails the
 * caller: a runner that cannot be started is said on stderr with
 * verbose, and the message waits for the next posthorn -q.
 */
void	 runner_ensure(const char *dir, const char *conf, int verbose);

/*
 * What a runner does each time it wakes: one queue run (the entries due
 * now); returns when the next entry will be due, or 0 when nothing is
 * left to retry, or -1 when the queue is gone (the runner exits).
 */
typedef time_t (*runner_run_fn)(void *arg);

/*
 * The runner's life (posthorn --be-queue-runner=DIR): takes the lock
 * (returns 0 at once when another runner holds it), then calls run
 * until it says nothing is left, a signal arrives, or lifetime seconds
 * have passed.  Returns the exit status.
 */
int	 runner_serve(const char *dir, runner_run_fn run, void *arg,
	    int lifetime);

#endif
