/*
 * record: a copy of what was sent (--save-copy PATH, the `record PATH`
 * key), kept for the person who sent it as mail programs keep one.  The
 * path is stored in the queue entry's envelope, so a message queued now
 * and delivered later by -q gets its copy then; nothing is written for a
 * message no server took.  The copy is the message as sent, with three
 * notes on top: X-Posthorn-Bcc (the Bcc recipients, which no header of
 * the sent message names), X-Posthorn-Queue-Id and X-Posthorn-Sent.
 */
#ifndef POSTHORN_RECORD_H
#define POSTHORN_RECORD_H

#include <time.h>

struct err;
struct spool_entry;

/*
 * When ent's envelope names a record and no recipient is left pending
 * with at least one that took it, appends the message (ent->fd, as the
 * queue stores it) to the record: a Maildir when the path is a directory
 * or ends in '/' (written to tmp/, fsync'd, renamed into new/), else an
 * mbox file (fcntl write lock, waited for up to
 * record_lock_ms, a From_ line, >From quoting, fsync'd).
 * when is the time the server took it.  0 when written or nothing was
 * due; -1 with ERR_CANTCREAT or ERR_IO naming the path.
 */
int	 record_sent(const struct spool_entry *ent, time_t when,
	    struct err *e);

/* How long an mbox copy waits for another process's lock, in ms (30 s;
   tests shorten it). */
extern unsigned record_lock_ms;

/*
 * The record path as an envelope keeps it: absolute (a relative path is
 * taken from the current directory, since -q may run elsewhere), a
 * trailing '/' kept.  malloc'd.
 */
char	*record_path(const char *path);

#endif
