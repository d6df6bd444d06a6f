/*
 * spool: the queue on disk.  Every message posthorn accepts is written
 * here before the first SMTP byte and stays until the server said 250 to
 * its data; a temporary failure leaves it queued, a permanent one moves
 * it to the failed area.  Where a user's queue is (one per user, chosen
 * by uid), the layout, the crash rules and the threat model of the shared
 * spool are described at the top of spool.c.
 */
#ifndef POSTHORN_SPOOL_H
#define POSTHORN_SPOOL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "envelope.h"
#include "util/strv.h"

struct err;

enum spool_area { SPOOL_TMP = 0, SPOOL_QUEUE, SPOOL_FAILED };

/* Queue ids are shorter than this (8 + 5 + 4 characters today). */
#define SPOOL_ID_MAX	32

struct spool {
	char	*dir;		/* the queue directory */
	char	*area[3];	/* its tmp, queue and failed subdirectories */
	int	 readonly;	/* another user's queue, for listing only */
	int	 backoff;	/* the first retry's wait in seconds
				   (queue_backoff), 0 = a minute; for
				   spool_defer and spool_hold */
};

struct spool_entry {
	char		 id[SPOOL_ID_MAX];
	enum spool_area	 area;
	int		 fd;		/* the message file, flock'd; -1 none */
	struct envelope	 env;
	int		 synced;	/* message and envelope are fsync'd */
};

/* ------------------------------------------------------- locations */

/* Where the calling user's queue is; filled by spool_locate. */
struct spool_place {
	char		*dir;	/* the queue new messages go to */
	struct strv	 old;	/* this user's other queues, whose entries
				   spool_adopt moves into dir */
	struct strv	 notes;	/* lines the caller must see on stderr */
};

/*
 * The calling user's queue when no queue_dir is configured.  base is the
 * shared spool (SPOOLDIR, compiled in; main passes it).  When base exists
 * and is safe (a directory of root's, sticky when others may write it),
 * the queue is base/UID, created 0700 if missing, whatever HOME says;
 * when another user took that name, root moves it aside and others use
 * their own directory in base/.fallback (a note names the squatter).
 * The ${XDG_STATE_HOME:-~/.local/state}/posthorn/queue directories of
 * the user (and its passwd home's) are then old queues to move over.
 * Without base, the XDG directory is the queue.  0, or -1 with
 * ERR_CANTCREAT when there is no queue to be had.
 */
int	 spool_locate(const char *base, struct spool_place *pl,
	    struct err *e);
void	 spool_place_release(struct spool_place *pl);

/*
 * Root only: every numeric name in base that does not belong to the uid
 * it names (or is not a plain directory) is renamed out of the way
 * (".squatted-NAME-uidOWNER-TIME"), with a note each.  Returns the number
 * moved, or -1.
 */
int	 spool_clean_squats(const char *base, struct strv *notes,
	    struct err *e);

/* A user's queue found in the shared spool (root's listing). */
struct spool_user {
	uid_t	 uid;
	char	*dir;
};

/*
 * Root only: every user's queue in base (base/UID and base/.fallback/
 * UID.*), by uid.  *users is malloc'd (free with spool_users_free).
 * 0 or -1.
 */
int	 spool_users(const char *base, struct spool_user **users, size_t *n,
	    struct err *e);
void	 spool_users_free(struct spool_user *users, size_t n);

/* ----------------------------------------------------------- opening */

/*
 * Opens (creating with mode 0700 as needed) the queue at dir.  A
 * directory owned by another user, one that group or others can use, or
 * a symbolic link is refused.  ERR_CANTCREAT when it cannot be created or
 * is refused.  0 or -1.
 */
int	 spool_open(struct spool *s, const char *dir, struct err *e);
/*
 * Opens an existing queue of uid owner to read it (root's listing): the
 * same checks, nothing created, nothing moved.  0 or -1.
 */
int	 spool_open_ro(struct spool *s, const char *dir, uid_t owner,
	    struct err *e);
void	 spool_close(struct spool *s);

/*
 * Moves every entry of the queue at olddir (queue/ and failed/, after
 * recovering its tmp/) into s, each copied, made durable and renamed into
 * place before its old copy is removed: a crash leaves it in one place or
 * both, never in none.  Busy entries stay for a later run; an old queue
 * left empty is removed.  Returns the number moved, or -1 (e says why;
 * what moved stays moved).
 */
int	 spool_adopt(struct spool *s, const char *olddir, struct err *e);

/* ------------------------------------------------------------ intake */

/*
 * Starts a new entry in tmp/: a fresh id, the message file created (mode
 * 0600) and locked; ent->fd is open for writing.  ERR_CANTCREAT on
 * failure.
 */
int	 spool_create(struct spool *s, struct spool_entry *ent, struct err *e);
/*
 * The message is complete.  recoverable: writes the envelope beside it
 * (not yet fsync'd: a message delivered at once never pays for an
 * fsync), so that a run killed from now on leaves it for the next run to
 * queue.  Not recoverable (queue off, --dry-run): no envelope yet, so a
 * killed run leaves nothing that is ever sent.  ent->env.size must be the
 * message size.  ERR_CANTCREAT on failure.
 */
int	 spool_intake_done(struct spool *s, struct spool_entry *ent,
	    int recoverable, struct err *e);

/* ----------------------------------------------------------- outcome */

/*
 * spool_done removes the entry (delivered, cancelled, deleted, or an
 * intake that failed), env first so that no half-removed entry is ever
 * taken for a message; -1 when env cannot be removed (the entry then
 * stays whole).
 *
 * spool_defer records the attempt (attempts, next attempt by backoff,
 * last error), makes message and envelope durable and moves a tmp/ entry
 * into queue/.  spool_hold does the same with the entry held (HOLD_AUTO:
 * retried by every -q, at the backoff by --due; HOLD_MANUAL: never until
 * released; attempt says whether an attempt led there).  spool_fail
 * records the error and counts the attempt, notes the time, and moves the
 * entry to failed/, durably.  spool_save writes the envelope durably where
 * the entry is; spool_move moves it to another area.  0 or -1
 * (ERR_CANTCREAT).
 */
int	 spool_done(struct spool *s, struct spool_entry *ent);
int	 spool_defer(struct spool *s, struct spool_entry *ent,
	    const char *error, time_t now, struct err *e);
int	 spool_hold(struct spool *s, struct spool_entry *ent,
	    enum env_hold hold, const char *error, int attempt, time_t now,
	    struct err *e);
int	 spool_fail(struct spool *s, struct spool_entry *ent,
	    const char *error, time_t now, struct err *e);
int	 spool_save(struct spool *s, struct spool_entry *ent, struct err *e);
int	 spool_move(struct spool *s, struct spool_entry *ent,
	    enum spool_area to, struct err *e);

/* Closes the message file (dropping the lock) and frees the envelope. */
void	 spool_release(struct spool_entry *ent);

/* ----------------------------------------------------------- reading */

/* 1 when id could be a queue id (letters and digits, not too long). */
int	 spool_valid_id(const char *id);

/*
 * The ids in an area, oldest first (ids sort by creation time); *ids is a
 * malloc'd array of SPOOL_ID_MAX-byte ids.  0 or -1.
 */
int	 spool_list(struct spool *s, enum spool_area area,
	    char (**ids)[SPOOL_ID_MAX], size_t *n, struct err *e);

/*
 * Reads an entry's envelope without locking it (for -bp): the envelope is
 * replaced by rename, so it is always whole.  0, or -1 when it vanished
 * (ERR_TEMP) or is damaged (ERR_DATA, e says how).
 */
int	 spool_peek(struct spool *s, enum spool_area area, const char *id,
	    struct envelope *env, struct err *e);

/* The area that holds id (queue/ or failed/), or -1 when none does. */
int	 spool_where(struct spool *s, const char *id);

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

/*
 * Removes the entries of failed/ that failed more than max_age seconds
 * before now (failed-at, or the envelope's time for older entries).
 * Returns the number removed, or -1.
 */
int	 spool_expire_failed(struct spool *s, int max_age, time_t now,
	    struct err *e);

/*
 * The next attempt after `attempts` failures: first seconds (0: a
 * minute) doubling to an hour, or to first when that is longer.
 */
time_t	 spool_backoff(int first, int attempts, time_t now);

#endif
