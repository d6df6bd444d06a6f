/*
 * spool: the queue on disk.  Every message posthorn accepts is written
 * here before the first SMTP byte and stays until the server said 250 to
 * its data; a temporary failure leaves it queued, a permanent one moves
 * it to the failed area.  Layout, file format and the crash rules are
 * described at the top of spool.c.
 */
#ifndef POSTHORN_SPOOL_H
#define POSTHORN_SPOOL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "envelope.h"

struct err;

enum spool_area { SPOOL_TMP = 0, SPOOL_QUEUE, SPOOL_FAILED };

#define SPOOL_ID_MAX	32

struct spool {
	char	*dir;		/* the queue directory */
	char	*area[3];	/* its tmp, queue and failed subdirectories */
};

struct spool_entry {
	char		 id[SPOOL_ID_MAX];
	enum spool_area	 area;
	int		 fd;		/* the message file, flock'd; -1 none */
	struct envelope	 env;
	int		 synced;	/* message and envelope are fsync'd */
};

/*
 * The default queue directory: ${XDG_STATE_HOME:-~/.local/state}/posthorn/
 * queue, or SPOOLDIR/UID when the home is missing, "/", or not writable
 * (cron, at and sudo callers).  Returns a malloc'd path.
 */
char	*spool_default_dir(void);

/*
 * Opens (creating with mode 0700 as needed) the queue at dir, or the
 * default when dir is NULL.  A directory owned by another user, or one
 * that group or others can use, is refused.  ERR_CANTCREAT when it cannot
 * be created or is refused.  0 or -1.
 */
int	 spool_open(struct spool *s, const char *dir, struct err *e);
void	 spool_close(struct spool *s);

/*
 * Starts a new entry in tmp/: a fresh id, the message file created (mode
 * 0600) and locked; ent->fd is open for writing.  ERR_CANTCREAT on
 * failure.
 */
int	 spool_create(struct spool *s, struct spool_entry *ent, struct err *e);
/*
 * The message is complete: writes the envelope beside it (not yet fsync'd:
 * a message delivered at once never pays for an fsync).  ent->env.size
 * must be the message size.  ERR_CANTCREAT on failure.
 */
int	 spool_intake_done(struct spool *s, struct spool_entry *ent,
	    struct err *e);

/*
 * Delivery outcome.  spool_done removes the entry (delivered, or an
 * intake that failed), env first so that no half-removed entry is ever
 * taken for a message; -1 when env cannot be removed (the entry then
 * stays whole).  spool_defer records the attempt (attempts, next attempt
 * by backoff, last error), makes message and envelope durable and moves a
 * tmp/ entry into queue/.  spool_fail records the error and counts the
 * attempt, and moves the entry to failed/, durably.  0 or -1
 * (ERR_CANTCREAT).
 */
int	 spool_done(struct spool *s, struct spool_entry *ent);
int	 spool_defer(struct spool *s, struct spool_entry *ent,
	    const char *error, time_t now, struct err *e);
int	 spool_fail(struct spool *s, struct spool_entry *ent,
	    const char *error, struct err *e);

/* Closes the message file (dropping the lock) and frees the envelope. */
void	 spool_release(struct spool_entry *ent);

/*
 * The ids in an area, oldest first (ids sort by creation time); *ids is a
 * malloc'd array of SPOOL_ID_MAX-byte ids.  0 or -1.
 */
int	 spool_list(struct spool *s, enum spool_area area,
	    char (**ids)[SPOOL_ID_MAX], size_t *n, struct err *e);

/*
 * Reads an entry's envelope without locking it (for -bp): the envelope is
 * replaced by rename, so it is always whole.  Also gives the message size
 * on disk.  0, or -1 when it vanished or is damaged (e says which).
 */
int	 spool_peek(struct spool *s, enum spool_area area, const char *id,
	    struct envelope *env, struct err *e);

/*
 * Locks an entry for delivery and loads its envelope.  1 when locked, 0
 * when another process holds it or it is gone, -1 on error (a damaged
 * entry is moved to failed/ and reported).
 */
int	 spool_lock(struct spool *s, enum spool_area area, const char *id,
	    struct spool_entry *ent, struct err *e);

/*
 * Finds what a killed process left: complete tmp/ entries (envelope
 * written) whose lock is free are made durable and moved into queue/;
 * incomplete ones older than an hour are removed; removals interrupted in
 * queue/ or failed/ are finished; damaged entries go to failed/.  Returns
 * the number recovered, or -1.
 */
int	 spool_recover(struct spool *s, struct err *e);

/* The next attempt after `attempts` failures: 1 minute doubling to 1 hour. */
time_t	 spool_backoff(int attempts, time_t now);

#endif
