/*
 * spool owns the queue on disk: where it lives, how an entry is written,
 * locked, moved and listed, and what a crash at any instant leaves.
 *
 * Layout.  QUEUE_DIR/{tmp,queue,failed}/ID/ with two files in each entry
 * directory: "msg", the message as it goes on the wire before
 * dot-stuffing (CRLF line ends), and "env", its envelope.  Every directory
 * is mode 0700 and every file 0600.  IDs are 8 hex digits of the creation
 * second, 5 of the microsecond and 4 random characters, so they sort by
 * age.  An entry moves between areas by renaming its directory, which is
 * atomic: an entry is always wholly in one area.
 *
 * The env file is text, one "key: value" per line, values in RFC 3461
 * xtext where they could hold spaces or odd bytes:
 *
 *	posthorn-queue: 1
 *	created: 1763904000
 *	account: work			(absent: the default account)
 *	sender: alice@example.org	("<>" for the null sender)
 *	size: 1234			(octets of msg)
 *	body: 8BITMIME			(or 7BIT)
 *	body-forced: 0
 *	smtputf8: 0
 *	long-lines: 0
 *	ret: FULL			(DSN RET; optional)
 *	envid: xtext			(DSN ENVID; optional)
 *	host: / port: / tls: / user: / auth:  (command-line overrides)
 *	attempts: 2
 *	next-attempt: 1763904060
 *	last-error: xtext		(optional)
 *	rcpt: STATE ADDR [notify=X] [orcpt=X] [code=N] [reply=X]
 *
 * STATE is pending, done or failed.  Unknown keys are ignored so a newer
 * posthorn's queue stays readable.  env is always replaced by writing
 * env.new and renaming it over env.
 *
 * Locking.  Whoever works on an entry holds flock(LOCK_EX) on its msg
 * file for the whole time, from creation (intake) or spool_lock
 * (delivery) until spool_release; the lock follows the file through
 * renames.  Busy entries are skipped.  A new msg file is locked with a
 * waiting flock: another process's recovery may hold it for a moment.
 *
 * Durability.  Intake writes tmp/ID/msg then tmp/ID/env without fsync; a
 * message that is delivered at once is then removed and never costs an
 * fsync.  Before posthorn reports a message queued or failed (and exits),
 * msg, then env, then the directories are fsync'd and the entry renamed
 * into queue/ or failed/.  An entry is removed env first: an entry
 * without env is never a message to send.  A process killed at any point
 * leaves either an unlocked tmp/ entry with its env (complete:
 * spool_recover moves it into queue/, checking its size against env) or
 * one without env (the caller never heard success, or it was being
 * removed: removed after an hour), or a queue/ or failed/ entry in its
 * old or new state, or one without env in the middle of its removal
 * (spool_recover finishes that).  An entry whose env cannot be parsed or
 * whose msg has not the size env says is moved to failed/ as it is
 * found.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/rand.h"
#include "util/str.h"

#ifndef SPOOLDIR
#define SPOOLDIR	"/var/spool/posthorn"
#endif

#define ENV_MAX		(4 * 1024 * 1024)
#define STALE_INTAKE	3600

static const char *const area_names[] = { "tmp", "queue", "failed" };

/* ------------------------------------------------------- locations */

static int
home_usable(const char *home)
{
	struct stat st;

	if (home == NULL || home[0] != '/' || strcmp(home, "/") == 0)
		return 0;
	if (stat(home, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	return access(home, W_OK) == 0;
}

static char *
fallback_dir(void)
{
	return xasprintf("%s/%u", SPOOLDIR, (unsigned)getuid());
}

char *
spool_default_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (!home_usable(home))
		return fallback_dir();
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/posthorn/queue", xdg);
	return xasprintf("%s/.local/state/posthorn/queue", home);
}

/* The directory must be ours, a real directory, and closed to others. */
static int
check_dir(const char *dir, struct err *e)
{
	struct stat st;

	if (lstat(dir, &st) == -1)
		return err_set(e, ERR_CANTCREAT, "queue directory '%s': %s",
		    dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_CANTCREAT,
		    "queue directory '%s' is not a directory", dir);
	if (st.st_uid != getuid())
		return err_set(e, ERR_CANTCREAT,
		    "queue directory '%s' belongs to another user (uid %u)",
		    dir, (unsigned)st.st_uid);
	if (st.st_mode & 077)
		return err_set(e, ERR_CANTCREAT,
		    "queue directory '%s' is open to other users (mode %03o; "
		    "chmod 700 it)", dir, (unsigned)(st.st_mode & 0777));
	return 0;
}

static int
make_dir(const char *dir, struct err *e)
{
	char *parent, *slash;
	int saved;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return err_set(e, ERR_CANTCREAT,
		    "cannot create queue directory '%s': %s", dir,
		    strerror(errno));
	parent = xstrdup(dir);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		/* The shared spool base is world-writable and sticky, like /tmp;
		   everything posthorn creates for itself is 0700. */
		if (strcmp(parent, SPOOLDIR) == 0) {
			if (fsio_mkdirs(parent, 0755) == 0)
				chmod(parent, 01777);
		} else
			fsio_mkdirs(parent, 0700);
	}
	free(parent);
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	saved = errno;
	return err_set(e, ERR_CANTCREAT,
	    "cannot create queue directory '%s': %s", dir, strerror(saved));
}

int
spool_open(struct spool *s, const char *dir, struct err *e)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->dir = dir != NULL ? xstrdup(dir) : spool_default_dir();
	if (dir == NULL && make_dir(s->dir, e) == -1 &&
	    strncmp(s->dir, SPOOLDIR "/", sizeof(SPOOLDIR)) != 0) {
		/* The home would not take it: fall back to the shared spool. */
		free(s->dir);
		s->dir = fallback_dir();
	}
	if (make_dir(s->dir, e) == -1 || check_dir(s->dir, e) == -1)
		goto fail;
	for (i = 0; i < 3; i++) {
		s->area[i] = xasprintf("%s/%s", s->dir, area_names[i]);
		if (make_dir(s->area[i], e) == -1 ||
		    check_dir(s->area[i], e) == -1)
			goto fail;
	}
	return 0;
fail:
	spool_close(s);
	return -1;
}

void
spool_close(struct spool *s)
{
	int i;

	free(s->dir);
	for (i = 0; i < 3; i++)
		free(s->area[i]);
	memset(s, 0, sizeof(*s));
}

static char *
entry_path(const struct spool *s, enum spool_area a, const char *id,
    const char *file)
{
	if (file == NULL)
		return xasprintf("%s/%s", s->area[a], id);
	return xasprintf("%s/%s/%s", s->area[a], id, file);
}

/* ------------------------------------------------------- env format */

static void
put(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buf_printf(b, "%s: ", key);
	str_xtext_encode(b, value);
	buf_addc(b, '\n');
}

static const char *const state_names[] = { "pending", "done", "failed" };

static void
env_format(const struct envelope *env, struct buf *b)
{
	size_t i;

	buf_printf(b, "posthorn-queue: 1\ncreated: %lld\n",
	    (long long)env->created);
	put(b, "account", env->account);
	if (env->sender[0] == '\0')
		buf_adds(b, "sender: <>\n");
	else
		put(b, "sender", env->sender);
	buf_printf(b, "size: %lld\nbody: %s\nbody-forced: %d\nsmtputf8: %d\n"
	    "long-lines: %d\n", (long long)env->size,
	    env->body == BODY_8BITMIME ? "8BITMIME" : "7BIT",
	    env->body_forced, env->smtputf8, env->long_lines);
	put(b, "ret", env->dsn_ret);
	put(b, "envid", env->dsn_envid);
	put(b, "host", env->host);
	if (env->port != 0)
		buf_printf(b, "port: %d\n", env->port);
	put(b, "tls", env->tls);
	put(b, "user", env->user);
	put(b, "auth", env->auth);
	buf_printf(b, "attempts: %d\nnext-attempt: %lld\n", env->attempts,
	    (long long)env->next_attempt);
	put(b, "last-error", env->last_error);
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];

		buf_printf(b, "rcpt: %s ", state_names[r->state]);
		str_xtext_encode(b, r->addr);
		if (r->notify != NULL)
			buf_printf(b, " notify=%s", r->notify);
		if (r->orcpt != NULL) {
			buf_adds(b, " orcpt=");
			str_xtext_encode(b, r->orcpt);
		}
		if (r->code != 0)
			buf_printf(b, " code=%d", r->code);
		if (r->reply != NULL) {
			buf_adds(b, " reply=");
			str_xtext_encode(b, r->reply);
		}
		buf_addc(b, '\n');
	}
}

static char *
decode(const char *v, int *bad)
{
	struct buf b;

	buf_init(&b, ENV_MAX);
	if (str_xtext_decode(&b, v) == -1) {
		*bad = 1;
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static long long
num(const char *v, int *bad)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0)
		*bad = 1;
	return n;
}

static int
parse_rcpt(struct envelope *env, char *v)
{
	char *tok, *save = NULL, *addr;
	struct rcpt *r;
	int state, bad = 0;

	if ((tok = strtok_r(v, " ", &save)) == NULL)
		return -1;
	for (state = 0; state < 3; state++)
		if (strcmp(tok, state_names[state]) == 0)
			break;
	if (state == 3 || (tok = strtok_r(NULL, " ", &save)) == NULL)
		return -1;
	if ((addr = decode(tok, &bad)) == NULL)
		return -1;
	env->rcpt = xreallocarray(env->rcpt, env->nrcpt + 1,
	    sizeof(*env->rcpt));
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = addr;
	r->state = (enum rcpt_state)state;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		if (strncmp(tok, "notify=", 7) == 0)
			envelope_set(&r->notify, tok + 7);
		else if (strncmp(tok, "orcpt=", 6) == 0) {
			free(r->orcpt);
			r->orcpt = decode(tok + 6, &bad);
		} else if (strncmp(tok, "code=", 5) == 0)
			r->code = (int)num(tok + 5, &bad);
		else if (strncmp(tok, "reply=", 6) == 0) {
			free(r->reply);
			r->reply = decode(tok + 6, &bad);
		}
	}
	return bad ? -1 : 0;
}

/* Parses an env file; -1 when it is not a complete, sane envelope. */
static int
env_parse(struct envelope *env, char *text)
{
	char *line, *save = NULL, *colon, *v;
	int bad = 0, version = 0, have_sender = 0, have_size = 0;

	envelope_init(env);
	for (line = strtok_r(text, "\n", &save); line != NULL && !bad;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((colon = strchr(line, ':')) == NULL || colon[1] != ' ') {
			bad = 1;
			break;
		}
		*colon = '\0';
		v = colon + 2;
		if (strcmp(line, "posthorn-queue") == 0)
			version = (int)num(v, &bad);
		else if (strcmp(line, "created") == 0)
			env->created = (time_t)num(v, &bad);
		else if (strcmp(line, "account") == 0)
			env->account = decode(v, &bad);
		else if (strcmp(line, "sender") == 0) {
			env->sender = strcmp(v, "<>") == 0 ? xstrdup("") :
			    decode(v, &bad);
			have_sender = 1;
		} else if (strcmp(line, "size") == 0) {
			env->size = (off_t)num(v, &bad);
			have_size = 1;
		} else if (strcmp(line, "body") == 0)
			env->body = strcmp(v, "8BITMIME") == 0 ?
			    BODY_8BITMIME : BODY_7BIT;
		else if (strcmp(line, "body-forced") == 0)
			env->body_forced = (int)num(v, &bad);
		else if (strcmp(line, "smtputf8") == 0)
			env->smtputf8 = (int)num(v, &bad);
		else if (strcmp(line, "long-lines") == 0)
			env->long_lines = (int)num(v, &bad);
		else if (strcmp(line, "ret") == 0)
			env->dsn_ret = decode(v, &bad);
		else if (strcmp(line, "envid") == 0)
			env->dsn_envid = decode(v, &bad);
		else if (strcmp(line, "host") == 0)
			env->host = decode(v, &bad);
		else if (strcmp(line, "port") == 0)
			env->port = (int)num(v, &bad);
		else if (strcmp(line, "tls") == 0)
			env->tls = decode(v, &bad);
		else if (strcmp(line, "user") == 0)
			env->user = decode(v, &bad);
		else if (strcmp(line, "auth") == 0)
			env->auth = decode(v, &bad);
		else if (strcmp(line, "attempts") == 0)
			env->attempts = (int)num(v, &bad);
		else if (strcmp(line, "next-attempt") == 0)
			env->next_attempt = (time_t)num(v, &bad);
		else if (strcmp(line, "last-error") == 0)
			env->last_error = decode(v, &bad);
		else if (strcmp(line, "rcpt") == 0) {
			if (parse_rcpt(env, v) == -1)
				bad = 1;
		}
	}
	if (bad || version != 1 || !have_sender || !have_size ||
	    env->nrcpt == 0 || env->sender == NULL) {
		envelope_release(env);
		return -1;
	}
	return 0;
}

static int
read_env(const char *path, struct envelope *env, struct err *e)
{
	struct buf b;
	int r;

	buf_init(&b, ENV_MAX);
	if (fsio_read_file(path, &b) == -1) {
		r = errno;
		buf_release(&b);
		return err_set(e, r == ENOENT ? ERR_TEMP : ERR_IO,
		    "cannot read '%s': %s", path, strerror(r));
	}
	r = env_parse(env, (char *)buf_str(&b));
	buf_release(&b);
	if (r == -1)
		return err_set(e, ERR_DATA, "damaged envelope file '%s'",
		    path);
	return 0;
}

/* Writes env.new and renames it over env; fsyncs when durable. */
static int
write_env(const struct spool *s, const struct spool_entry *ent,
    int durable, struct err *e)
{
	struct buf b;
	char *tmp = entry_path(s, ent->area, ent->id, "env.new");
	char *dst = entry_path(s, ent->area, ent->id, "env");
	int fd = -1, rv = -1;

	buf_init(&b, ENV_MAX);
	env_format(&ent->env, &b);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || fsio_write_all(fd, b.data, b.len) == -1 ||
	    (durable && fsync(fd) == -1)) {
		err_set(e, ERR_CANTCREAT, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(e, ERR_CANTCREAT, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		err_set(e, ERR_CANTCREAT, "cannot rename '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (fd != -1)
		close(fd);
	if (rv == -1)
		unlink(tmp);
	buf_release(&b);
	free(tmp);
	free(dst);
	return rv;
}

/* ----------------------------------------------------------- intake */

/*
 * Locks a msg file just created.  Another process's spool_recover may
 * hold it for the moment it takes to see that it has no env, so wait.
 */
static int
lock_wait(int fd)
{
	int r;

	do
		r = flock(fd, LOCK_EX);
	while (r == -1 && errno == EINTR);
	return r;
}

int
spool_create(struct spool *s, struct spool_entry *ent, struct err *e)
{
	struct timeval tv;
	char rnd[5], *dir, *path;
	int tries;

	memset(ent, 0, sizeof(*ent));
	ent->fd = -1;
	ent->area = SPOOL_TMP;
	envelope_init(&ent->env);
	for (tries = 0; tries < 10; tries++) {
		gettimeofday(&tv, NULL);
		if (rand_alnum(rnd, 4) == -1)
			return err_set(e, ERR_SOFTWARE,
			    "no random numbers: %s", strerror(errno));
		snprintf(ent->id, sizeof(ent->id), "%08llX%05lX%s",
		    (unsigned long long)tv.tv_sec, (long)tv.tv_usec, rnd);
		dir = entry_path(s, SPOOL_TMP, ent->id, NULL);
		if (mkdir(dir, 0700) == 0) {
			free(dir);
			break;
		}
		free(dir);
		if (errno != EEXIST)
			return err_set(e, ERR_CANTCREAT,
			    "cannot create a queue entry in '%s': %s",
			    s->area[SPOOL_TMP], strerror(errno));
	}
	if (tries == 10)
		return err_set(e, ERR_CANTCREAT, "cannot pick a queue id");
	path = entry_path(s, SPOOL_TMP, ent->id, "msg");
	ent->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ent->fd == -1 || lock_wait(ent->fd) == -1) {
		err_set(e, ERR_CANTCREAT, "cannot create '%s': %s", path,
		    strerror(errno));
		free(path);
		spool_done(s, ent);
		return -1;
	}
	free(path);
	return 0;
}

int
spool_intake_done(struct spool *s, struct spool_entry *ent, struct err *e)
{
	return write_env(s, ent, 0, e);
}

/* ---------------------------------------------------------- outcome */

/*
 * Removes an entry, env first: from the moment env is gone the entry is
 * no longer a message, whatever happens to the rest.  When env cannot be
 * removed the entry stays whole (a duplicate later rather than a torn
 * entry).
 */
static int
remove_entry(const struct spool *s, enum spool_area a, const char *id)
{
	static const char *const files[] = { "env", "env.new", "msg" };
	char *p;
	size_t i;
	int rv = 0;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = entry_path(s, a, id, files[i]);
		if (unlink(p) == -1 && errno != ENOENT) {
			rv = -1;
			if (i == 0) {
				free(p);
				return -1;
			}
		}
		free(p);
	}
	p = entry_path(s, a, id, NULL);
	if (rmdir(p) == -1 && errno != ENOENT)
		rv = -1;
	free(p);
	return rv;
}

int
spool_done(struct spool *s, struct spool_entry *ent)
{
	return remove_entry(s, ent->area, ent->id);
}

/* fsync of message, envelope (written durably) and entry directory. */
static int
make_durable(struct spool *s, struct spool_entry *ent, struct err *e)
{
	char *dir;

	/* The message before the envelope that vouches for its size. */
	if (!ent->synced && fsync(ent->fd) == -1)
		return err_set(e, ERR_CANTCREAT,
		    "cannot save queue entry %s: %s", ent->id,
		    strerror(errno));
	if (write_env(s, ent, 1, e) == -1)
		return -1;
	dir = entry_path(s, ent->area, ent->id, NULL);
	if (fsio_fsync_dir(dir) == -1) {
		err_set(e, ERR_CANTCREAT, "cannot save queue entry %s: %s",
		    ent->id, strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	ent->synced = 1;
	return 0;
}

static int
move(struct spool *s, struct spool_entry *ent, enum spool_area to,
    struct err *e)
{
	char *from = entry_path(s, ent->area, ent->id, NULL);
	char *dst = entry_path(s, to, ent->id, NULL);
	int rv = 0;

	if (rename(from, dst) == -1)
		rv = err_set(e, ERR_CANTCREAT, "cannot move queue entry %s "
		    "into %s: %s", ent->id, s->area[to], strerror(errno));
	else {
		/* Renamed: it is there now, even if the fsync fails. */
		enum spool_area was = ent->area;

		ent->area = to;
		if (fsio_fsync_dir(s->area[to]) == -1 ||
		    fsio_fsync_dir(s->area[was]) == -1)
			rv = err_set(e, ERR_CANTCREAT, "cannot save queue "
			    "entry %s: %s", ent->id, strerror(errno));
	}
	free(from);
	free(dst);
	return rv;
}

time_t
spool_backoff(int attempts, time_t now)
{
	time_t wait = 60;

	while (attempts-- > 1 && wait < 3600)
		wait *= 2;
	return now + (wait > 3600 ? 3600 : wait);
}

int
spool_defer(struct spool *s, struct spool_entry *ent, const char *error,
    time_t now, struct err *e)
{
	ent->env.attempts++;
	ent->env.next_attempt = spool_backoff(ent->env.attempts, now);
	envelope_set(&ent->env.last_error, error);
	if (make_durable(s, ent, e) == -1)
		return -1;
	if (ent->area == SPOOL_TMP)
		return move(s, ent, SPOOL_QUEUE, e);
	return 0;
}

/* Into failed/ with its last error; attempt: an attempt led there. */
static int
fail_entry(struct spool *s, struct spool_entry *ent, const char *error,
    int attempt, struct err *e)
{
	if (attempt)
		ent->env.attempts++;
	envelope_set(&ent->env.last_error, error);
	if (make_durable(s, ent, e) == -1)
		return -1;
	return move(s, ent, SPOOL_FAILED, e);
}

int
spool_fail(struct spool *s, struct spool_entry *ent, const char *error,
    struct err *e)
{
	return fail_entry(s, ent, error, 1, e);
}

void
spool_release(struct spool_entry *ent)
{
	if (ent->fd != -1)
		close(ent->fd);
	ent->fd = -1;
	envelope_release(&ent->env);
}

/* ---------------------------------------------------------- reading */

static int
idcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
valid_id(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < SPOOL_ID_MAX && name[0] != '.' &&
	    strspn(name, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") == n;
}

int
spool_list(struct spool *s, enum spool_area area,
    char (**ids)[SPOOL_ID_MAX], size_t *n, struct err *e)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;

	*ids = NULL;
	*n = 0;
	if ((d = opendir(s->area[area])) == NULL)
		return err_set(e, ERR_IO, "cannot read '%s': %s",
		    s->area[area], strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!valid_id(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ids = xreallocarray(*ids, cap, SPOOL_ID_MAX);
		}
		memcpy((*ids)[*n], de->d_name, strlen(de->d_name) + 1);
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(*ids, *n, SPOOL_ID_MAX, idcmp);
	return 0;
}

int
spool_peek(struct spool *s, enum spool_area area, const char *id,
    struct envelope *env, struct err *e)
{
	char *path = entry_path(s, area, id, "env");
	int r = read_env(path, env, e);

	free(path);
	return r;
}

/* After locking, the entry must still be where we opened it. */
static int
still_there(const char *path, int fd)
{
	struct stat a, b;

	if (stat(path, &a) == -1 || fstat(fd, &b) == -1)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * A damaged entry (e says how) goes to failed/ as it is, for a human to
 * look at, with the reason as its last error when its env can still be
 * written.  ent is released; e says where the entry went.  Always -1.
 */
static int
quarantine(struct spool *s, struct spool_entry *ent, struct err *e)
{
	char why[ERR_TEXT_MAX];
	struct err me;
	int r;

	snprintf(why, sizeof(why), "%s", e->text);
	if (ent->env.sender != NULL)
		r = fail_entry(s, ent, why, 0, &me);
	else
		r = move(s, ent, SPOOL_FAILED, &me);
	if (r == -1)
		err_set(e, ERR_DATA, "%s (and it cannot be moved aside: %s)",
		    why, me.text);
	else
		err_set(e, ERR_DATA, "%s; moved to %s", why,
		    s->area[SPOOL_FAILED]);
	spool_release(ent);
	return -1;
}

int
spool_lock(struct spool *s, enum spool_area area, const char *id,
    struct spool_entry *ent, struct err *e)
{
	char *path;
	struct stat st;
	int r;

	memset(ent, 0, sizeof(*ent));
	ent->fd = -1;
	envelope_init(&ent->env);
	if (!valid_id(id))
		return err_set(e, ERR_USAGE, "invalid queue id '%s'", id);
	snprintf(ent->id, sizeof(ent->id), "%s", id);
	ent->area = area;
	path = entry_path(s, area, id, "msg");
	ent->fd = open(path, O_RDWR | O_CLOEXEC);
	if (ent->fd == -1) {
		free(path);
		return 0;
	}
	if (flock(ent->fd, LOCK_EX | LOCK_NB) == -1 ||
	    !still_there(path, ent->fd)) {
		free(path);
		spool_release(ent);
		return 0;
	}
	free(path);
	path = entry_path(s, area, id, "env");
	r = read_env(path, &ent->env, e);
	free(path);
	if (r == -1) {
		if (e->kind == ERR_TEMP) {
			/* No env: an intake or a removal that never
			   finished (spool_recover's business). */
			spool_release(ent);
			return 0;
		}
		return quarantine(s, ent, e);
	}
	if (fstat(ent->fd, &st) == 0 && st.st_size != ent->env.size) {
		err_set(e, ERR_DATA, "queue entry %s is damaged: message "
		    "has %lld octets, envelope says %lld", id,
		    (long long)st.st_size, (long long)ent->env.size);
		return quarantine(s, ent, e);
	}
	/* A message already in queue/ or failed/ was made durable then. */
	ent->synced = area != SPOOL_TMP;
	return 1;
}

/*
 * Removes an entry without env that nobody holds: an intake that never
 * finished (in tmp/, once older than min_age: the caller never heard of
 * success) or a removal that did not (min_age 0).  An entry with env is
 * left alone.
 */
static void
remove_orphan(struct spool *s, enum spool_area a, const char *id,
    time_t min_age)
{
	char *env = entry_path(s, a, id, "env");
	char *msg = entry_path(s, a, id, "msg");
	char *dir = entry_path(s, a, id, NULL);
	struct stat st;
	int fd = -1;

	if (lstat(env, &st) == 0 || errno != ENOENT)
		goto out;
	if ((fd = open(msg, O_RDONLY | O_CLOEXEC)) != -1) {
		if (flock(fd, LOCK_EX | LOCK_NB) == -1 ||
		    fstat(fd, &st) == -1)
			goto out;
	} else if (errno != ENOENT || lstat(dir, &st) == -1)
		goto out;
	if (min_age > 0 && st.st_mtime + min_age >= time(NULL))
		goto out;
	remove_entry(s, a, id);
out:
	if (fd != -1)
		close(fd);
	free(env);
	free(msg);
	free(dir);
}

int
spool_recover(struct spool *s, struct err *e)
{
	char (*ids)[SPOOL_ID_MAX];
	struct spool_entry ent;
	struct err le;
	size_t n, i;
	int r, a, count = 0;

	if (spool_list(s, SPOOL_TMP, &ids, &n, e) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		r = spool_lock(s, SPOOL_TMP, ids[i], &ent, &le);
		if (r == 1) {
			/* Complete: due at once, and not counted as an
			   attempt (it may never have reached a server). */
			ent.env.next_attempt = 0;
			if (ent.env.last_error == NULL)
				envelope_set(&ent.env.last_error, "recovered "
				    "after an interrupted run");
			if (make_durable(s, &ent, &le) == 0 &&
			    move(s, &ent, SPOOL_QUEUE, &le) == 0)
				count++;
			spool_release(&ent);
		} else if (r == 0)
			remove_orphan(s, SPOOL_TMP, ids[i], STALE_INTAKE);
		/* r == -1: damaged, and spool_lock moved it to failed/. */
	}
	free(ids);
	for (a = SPOOL_QUEUE; a <= SPOOL_FAILED; a++) {
		if (spool_list(s, (enum spool_area)a, &ids, &n, e) == -1)
			return -1;
		for (i = 0; i < n; i++)
			remove_orphan(s, (enum spool_area)a, ids[i], 0);
		free(ids);
	}
	return count;
}
