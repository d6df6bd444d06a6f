/*
 * record owns the copy of a sent message: deciding that it is due (the
 * entry leaves the queue with the server having taken it), the notes on
 * top, and the two mailbox formats — Maildir the Maildir way (a unique
 * name in tmp/, fsync, rename into new/, fsync of new/) and mbox as mutt
 * writes it (O_APPEND, an fcntl write lock held for the whole append, a
 * From_ line, ">From " quoting of mboxrd, an empty line after, fsync).
 * The queue stores the message with CRLF line ends; copies get LF.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "err.h"
#include "record.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/fsio.h"
#include "util/rand.h"
#include "util/sig.h"

char *
record_path(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* The notes on top of the copy, LF line ends. */
static void
record_notes(FILE *out, const struct spool_entry *ent, time_t when)
{
	const struct envelope *env = &ent->env;
	char date[64];
	struct tm tm;
	size_t i;

	if (env->record_bcc.n > 0) {
		fputs("X-Posthorn-Bcc: ", out);
		for (i = 0; i < env->record_bcc.n; i++)
			fprintf(out, "%s%s", i ? ", " : "",
			    env->record_bcc.v[i]);
		fputc('\n', out);
	}
	fprintf(out, "X-Posthorn-Queue-Id: %s\n", ent->id);
	localtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	fprintf(out, "X-Posthorn-Sent: %s\n", date);
}

/* 1 when line (without its end) is ">*From ", which mboxrd quotes. */
static int
from_line(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && line[i] == '>')
		i++;
	return n - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

/*
 * Copies the message on fd to out with LF line ends; quote: mboxrd
 * quoting.  0, or -1 with errno.
 */
static int
record_copy(int fd, FILE *out, int quote)
{
	FILE *in;
	char *line = NULL;
	size_t cap = 0, n;
	ssize_t got;
	int dfd, saved;

	if (lseek(fd, 0, SEEK_SET) == -1 || (dfd = dup(fd)) == -1)
		return -1;
	if ((in = fdopen(dfd, "r")) == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	while ((got = getline(&line, &cap, in)) > 0) {
		n = (size_t)got;
		if (line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (quote && from_line(line, n))
			fputc('>', out);
		fwrite(line, 1, n, out);
		fputc('\n', out);
	}
	saved = ferror(in) ? errno : 0;
	free(line);
	fclose(in);
	if (saved != 0 || ferror(out)) {
		errno = saved != 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

/* Flushes and syncs out, then closes it; 0 or -1 with errno. */
static int
record_close(FILE *out)
{
	int saved;

	if (fflush(out) == EOF || ferror(out) || fsync(fileno(out)) == -1) {
		saved = errno ? errno : EIO;
		fclose(out);
		errno = saved;
		return -1;
	}
	return fclose(out) == EOF ? -1 : 0;
}

static int
record_maildir(const char *path, const struct spool_entry *ent,
    time_t when, struct err *e)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char host[256], rnd[9], *dir, *tmp, *new, *p, *name;
	FILE *out;
	size_t i;
	int fd, saved;

	for (i = 0; i < 3; i++) {
		dir = xasprintf("%s/%s", path, sub[i]);
		if (fsio_mkdirs(dir, 0700) == -1) {
			saved = errno;
			free(dir);
			return err_set(e, ERR_CANTCREAT, "cannot create the "
			    "Maildir '%s': %s", path, strerror(saved));
		}
		free(dir);
	}
	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p != '\0'; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	if (rand_alnum(rnd, sizeof(rnd) - 1) == -1)
		strcpy(rnd, "0");
	name = xasprintf("%lld.P%dQ%sR%s.%s", (long long)when, (int)getpid(),
	    ent->id, rnd, host);
	tmp = xasprintf("%s/tmp/%s", path, name);
	new = xasprintf("%s/new/%s", path, name);
	free(name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || (out = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		err_set(e, ERR_CANTCREAT, "cannot write the copy in '%s': %s",
		    path, strerror(saved));
		goto fail;
	}
	record_notes(out, ent, when);
	if (record_copy(ent->fd, out, 0) == -1) {
		saved = errno;
		fclose(out);
		unlink(tmp);
		err_set(e, ERR_IO, "cannot write the copy in '%s': %s", path,
		    strerror(saved));
		goto fail;
	}
	if (record_close(out) == -1 || rename(tmp, new) == -1) {
		saved = errno;
		unlink(tmp);
		err_set(e, ERR_IO, "cannot write the copy in '%s': %s", path,
		    strerror(saved));
		goto fail;
	}
	dir = xasprintf("%s/new", path);
	(void)fsio_fsync_dir(dir);
	free(dir);
	free(tmp);
	free(new);
	return 0;
fail:
	free(tmp);
	free(new);
	return -1;
}

/*
 * A failed append leaves the mbox as it was: half a message (a From_
 * line without its end) would swallow the next one appended.  Called with
 * the lock still held; what stdio still buffers is dropped first, so
 * that the fclose after writes nothing past the cut.
 */
static void
record_mbox_undo(FILE *out, off_t size)
{
	__fpurge(out);
	if (ftruncate(fileno(out), size) == 0)
		(void)fsync(fileno(out));
	fclose(out);
}

unsigned record_lock_ms = 30000;

/*
 * The fcntl write lock on fd, tried every 100 ms for record_lock_ms:
 * the message was sent already, and a mail reader that hangs holding
 * the mbox must not keep a cron job waiting for ever (mutt gives up
 * likewise).  A signal ends the wait.  0, or -1 with errno (EAGAIN when
 * the time ran out).
 */
static int
lock_mbox(int fd)
{
	struct flock lk;
	struct pollfd pf;
	unsigned waited = 0;

	memset(&lk, 0, sizeof(lk));
	lk.l_type = F_WRLCK;
	lk.l_whence = SEEK_SET;
	for (;;) {
		if (fcntl(fd, F_SETLK, &lk) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN)
			return -1;
		if (waited >= record_lock_ms) {
			errno = EAGAIN;
			return -1;
		}
		pf.fd = sig_fd;
		pf.events = POLLIN;
		if (sig_caught || poll(&pf, sig_fd >= 0 ? 1 : 0, 100) != 0) {
			errno = EINTR;
			return -1;
		}
		waited += 100;
	}
}

static int
record_mbox(const char *path, const struct spool_entry *ent, time_t when,
    struct err *e)
{
	const struct envelope *env = &ent->env;
	struct stat st;
	struct tm tm;
	char date[64];
	FILE *out;
	int fd, saved;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "cannot open the mbox '%s': "
		    "%s", path, strerror(errno));
	if (lock_mbox(fd) == -1) {
		saved = errno;
		close(fd);
		if (saved == EAGAIN)
			return err_set(e, ERR_IO, "cannot lock the mbox '%s': "
			    "another process held it for %g s", path,
			    record_lock_ms / 1000.0);
		return err_set(e, ERR_IO, "cannot lock the mbox '%s': %s",
		    path, strerror(saved));
	}
	/* Its size under the lock: where a failed append is cut back to. */
	if (fstat(fd, &st) == -1 || (out = fdopen(fd, "a")) == NULL) {
		saved = errno;
		close(fd);
		return err_set(e, ERR_IO, "cannot write the mbox '%s': %s",
		    path, strerror(saved));
	}
	localtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(out, "From %s %s\n", env->sender != NULL &&
	    env->sender[0] != '\0' ? env->sender : "MAILER-DAEMON", date);
	record_notes(out, ent, when);
	if (record_copy(ent->fd, out, 1) == -1) {
		saved = errno;
		record_mbox_undo(out, st.st_size);
		return err_set(e, ERR_IO, "cannot write the mbox '%s': %s",
		    path, strerror(saved));
	}
	fputc('\n', out);
	errno = 0;
	if (fflush(out) == EOF || ferror(out) || fsync(fd) == -1) {
		saved = errno ? errno : EIO;
		record_mbox_undo(out, st.st_size);
		return err_set(e, ERR_IO, "cannot write the mbox '%s': %s",
		    path, strerror(saved));
	}
	/* Closing the file drops the lock, after the fsync. */
	if (fclose(out) == EOF)
		return err_set(e, ERR_IO, "cannot write the mbox '%s': %s",
		    path, strerror(errno));
	return 0;
}

int
record_sent(const struct spool_entry *ent, time_t when, struct err *e)
{
	const struct envelope *env = &ent->env;
	const char *path = env->record;
	struct stat st;
	size_t n;

	if (path == NULL || envelope_count(env, RCPT_PENDING) > 0 ||
	    envelope_count(env, RCPT_DONE) == 0 || ent->fd == -1)
		return 0;
	n = strlen(path);
	if ((n > 0 && path[n - 1] == '/') ||
	    (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return record_maildir(path, ent, when, e);
	return record_mbox(path, ent, when, e);
}
