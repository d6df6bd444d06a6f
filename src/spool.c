/*
 * spool owns the queue on disk: where it lives, how an entry is written,
 * locked, moved and listed, and what a crash at any instant leaves.
 *
 * Where.  One queue per user, chosen by uid.  An account's queue_dir is
 * used as it is.  Otherwise, when the shared spool SPOOLDIR exists (the
 * package and `make install` create it), the queue is SPOOLDIR/UID,
 * whatever HOME says, so that cron, at, sudo, systemd units and login
 * shells of one user all use one queue; the XDG state directory
 * (${XDG_STATE_HOME:-~/.local/state}/posthorn/queue) is the queue only
 * without SPOOLDIR (a personal install).  Entries found in the XDG
 * directories (of $XDG_STATE_HOME, $HOME and the passwd home) while
 * SPOOLDIR is in use are moved over (spool_adopt) by every run.
 *
 * The shared spool and its threats.  SPOOLDIR belongs to root, mode 1733:
 * users may create names in it but not list it, and the sticky bit keeps
 * them from renaming or removing what is not theirs.  SPOOLDIR/UID is
 * opened with openat(O_NOFOLLOW | O_DIRECTORY) and accepted only when
 * fstat says it belongs to UID and no group or other bit is set; entries
 * are 0700 directories of 0600 files.  So another local user cannot read
 * or list a queue, nor plant a symbolic link that posthorn follows, nor
 * move a queue away.  What another user can do in a directory it may
 * write is take the name SPOOLDIR/UID first (a squat).  posthorn then
 * says so on every run, naming the squatter's uid so that an administrator
 * can remove it, and does not fail: root renames the squatted name out of
 * the way (root's `posthorn -q` and `mailq --all` do so for every user);
 * any other user queues in a directory of its own under
 * SPOOLDIR/.fallback (root's, mode 1777: listable, so that later runs of
 * the same user find it again; the name carries random characters, so it
 * cannot be taken in advance), and moves its entries home once the name
 * is free.  Without a safe .fallback the squat costs that user its queue
 * (exit 73 with the note): delivery needs a queue.  A user who can fill
 * the disk can always delay mail; quotas are the answer to that.
 *
 * Next step (the system account, setgid posthorn): SPOOLDIR becomes
 * root:posthorn 1770 (or 3770), writable only through the setgid binary,
 * which creates SPOOLDIR/UID as the calling user (the real uid owns what
 * it creates; the queue stays 0700, so the group gives no access to it).
 * Then nobody can squat, and .fallback is no longer needed.
 *
 * Layout.  QUEUE_DIR/{tmp,queue,failed}/ID/ with two files in each entry
 * directory: "msg", the message as it goes on the wire before
 * dot-stuffing (CRLF line ends), and "env", its envelope (the format is
 * described at the top of envelope.c).  Every directory is mode 0700 and
 * every file 0600.  IDs are 8 hex digits of the creation second, 5 of the
 * microsecond and 4 random characters, so they sort by age.  An entry
 * moves between areas by renaming its directory, which is atomic: an
 * entry is always wholly in one area.  env is always replaced by writing
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
 * removed, or it was never to be kept — queue off, --dry-run: removed
 * after an hour), or a queue/ or failed/ entry in its old or new state,
 * or one without env in the middle of its removal (spool_recover finishes
 * that).  An entry whose env cannot be parsed or whose msg has not the
 * size env says is moved to failed/ as it is found.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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

#define STALE_INTAKE	3600
#define FALLBACK	".fallback"

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

/* The XDG queue of today's environment, or NULL without a usable HOME. */
static char *
xdg_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (!home_usable(home))
		return NULL;
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/posthorn/queue", xdg);
	return xasprintf("%s/.local/state/posthorn/queue", home);
}

/*
 * The shared spool is usable when it is a directory of root's that
 * others cannot rename things in: not writable by group or others, or
 * sticky.  Returns an fd on it (O_PATH: users may not read it), -1 when
 * it does not exist (ENOENT) or is unsafe (then *why says how).
 */
static int
open_base(const char *base, const char **why)
{
	struct stat st;
	int fd;

	*why = NULL;
	if ((fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		*why = strerror(errno);
	else if (st.st_uid != 0)
		*why = "it does not belong to root";
	else if ((st.st_mode & 022) != 0 && !(st.st_mode & S_ISVTX))
		*why = "others may write it and it is not sticky";
	if (*why != NULL) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A directory stream on dirfd (which may be O_PATH); NULL on error. */
static DIR *
dir_stream(int dirfd)
{
	DIR *d;
	int fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/*
 * name in dirfd as a queue of uid: 0 when it is a real directory of uid's
 * and closed to others, 1 when someone else holds the name (*owner says
 * who; a symbolic link or a file counts as someone else's even when it is
 * uid's), 2 when it is uid's but open to others, -1 on error (errno;
 * ENOENT when it does not exist).  create: mkdir it first (0700).
 */
static int
check_at(int dirfd, const char *name, uid_t uid, int create, uid_t *owner)
{
	struct stat st;
	int fd, saved;

	if (create && mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		if ((saved == ELOOP || saved == ENOTDIR) &&
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			*owner = st.st_uid;
			return 1;
		}
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	*owner = st.st_uid;
	if (st.st_uid != uid)
		return 1;
	return (st.st_mode & 077) != 0 ? 2 : 0;
}

/* What a squatted name is, for the note. */
static const char *
kind_at(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return "something";
	if (S_ISLNK(st.st_mode))
		return "a symbolic link";
	return S_ISDIR(st.st_mode) ? "a directory" : "a file";
}

static char *
squat_name(const char *name, uid_t owner)
{
	return xasprintf(".squatted-%s-uid%u-%lld", name, (unsigned)owner,
	    (long long)time(NULL));
}

/* Root moves a squatted name out of the way; 0 or -1 (errno). */
static int
move_squat(int basefd, const char *base, const char *name, uid_t owner,
    struct strv *notes)
{
	const char *kind = kind_at(basefd, name);
	char *to = squat_name(name, owner);
	int r = renameat(basefd, name, basefd, to);

	if (r == 0)
		strv_take(notes, xasprintf("%s/%s was not the queue of uid %s "
		    "but %s of uid %u: moved aside as %s/%s for an "
		    "administrator to look at and remove", base, name, name,
		    kind, (unsigned)owner, base, to));
	free(to);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names "UID.xxxx" in .fallback that are uid's queues, sorted. */
static void
fallback_dirs(int fbfd, uid_t uid, struct strv *out)
{
	char prefix[32];
	struct dirent *de;
	uid_t owner;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "%u.", (unsigned)uid);
	if ((d = dir_stream(fbfd)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strlen(de->d_name) >= 64)
			continue;
		if (check_at(fbfd, de->d_name, uid, 0, &owner) == 0)
			strv_add(out, de->d_name);
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

/* A safe .fallback: root's, sticky, a real directory.  fd or -1. */
static int
open_fallback(int basefd)
{
	struct stat st;
	int fd;

	fd = openat(basefd, FALLBACK, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_uid != 0 ||
	    !(st.st_mode & S_ISVTX)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The user's directory in .fallback: the first existing one, or a new
 * one with a random name.  NULL (with *why) when there is none to have.
 */
static char *
fallback_queue(int basefd, const char *base, uid_t uid, const char **why)
{
	struct strv names = { NULL, 0 };
	char rnd[13], name[64], *path = NULL;
	uid_t owner;
	int fbfd, tries;

	if ((fbfd = open_fallback(basefd)) == -1) {
		*why = "there is no safe " FALLBACK " directory beside it";
		return NULL;
	}
	fallback_dirs(fbfd, uid, &names);
	if (names.n > 0) {
		path = xasprintf("%s/%s/%s", base, FALLBACK, names.v[0]);
		goto out;
	}
	for (tries = 0; tries < 10; tries++) {
		if (rand_alnum(rnd, 12) == -1)
			break;
		rnd[12] = '\0';
		snprintf(name, sizeof(name), "%u.%s", (unsigned)uid, rnd);
		if (mkdirat(fbfd, name, 0700) == -1)
			continue;
		if (check_at(fbfd, name, uid, 0, &owner) == 0) {
			path = xasprintf("%s/%s/%s", base, FALLBACK, name);
			goto out;
		}
	}
	*why = "no directory could be made in " FALLBACK;
out:
	strv_free(&names);
	close(fbfd);
	return path;
}

/* Adds dir to pl->old unless it is pl->dir or there already. */
static void
add_old(struct spool_place *pl, char *dir)
{
	struct stat st;

	if (dir == NULL)
		return;
	if ((pl->dir == NULL || strcmp(dir, pl->dir) != 0) &&
	    !strv_has(&pl->old, dir) && lstat(dir, &st) == 0 &&
	    S_ISDIR(st.st_mode) && st.st_uid == getuid())
		strv_add(&pl->old, dir);
	free(dir);
}

int
spool_locate(const char *base, struct spool_place *pl, struct err *e)
{
	const struct passwd *pw;
	const char *why = NULL, *fbwhy = NULL;
	char name[32];
	uid_t uid = getuid(), owner = 0;
	int basefd, r = -1, tries, fbfd;

	memset(pl, 0, sizeof(*pl));
	basefd = open_base(base, &why);
	if (basefd == -1) {
		pl->dir = xdg_dir();
		if (pl->dir != NULL) {
			if (why != NULL)
				strv_take(&pl->notes, xasprintf("the shared "
				    "spool %s is not used: %s", base, why));
			return 0;
		}
		if (why != NULL)
			return err_set(e, ERR_CANTCREAT, "no queue directory: "
			    "the shared spool %s is not safe (%s) and HOME is "
			    "not usable; set queue_dir", base, why);
		return err_set(e, ERR_CANTCREAT, "no queue directory: %s does "
		    "not exist and HOME is not usable (make install creates "
		    "it; or set queue_dir)", base);
	}
	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	for (tries = 0; tries < 3; tries++) {
		r = check_at(basefd, name, uid, 1, &owner);
		if (r != 1 || uid != 0)
			break;
		/* Root's own name taken: root takes it back. */
		if (move_squat(basefd, base, name, owner, &pl->notes) == -1)
			break;
	}
	if (r == -1) {
		err_set(e, ERR_CANTCREAT, "queue directory '%s/%s': %s", base,
		    name, strerror(errno));
		goto fail;
	}
	if (r == 2) {
		err_set(e, ERR_CANTCREAT, "queue directory '%s/%s' is open to "
		    "other users (chmod 700 it)", base, name);
		goto fail;
	}
	if (r == 0)
		pl->dir = xasprintf("%s/%s", base, name);
	else {
		const char *kind = kind_at(basefd, name);

		pl->dir = fallback_queue(basefd, base, uid, &fbwhy);
		if (pl->dir == NULL) {
			err_set(e, ERR_CANTCREAT, "queue directory '%s/%s' is "
			    "%s of uid %u, not a directory of yours (uid %u), "
			    "and %s; ask an administrator to remove it (root's "
			    "posthorn -q does)", base, name, kind,
			    (unsigned)owner, (unsigned)uid, fbwhy);
			goto fail;
		}
		strv_take(&pl->notes, xasprintf("queue directory '%s/%s' is "
		    "%s of uid %u, not a directory of yours: using %s until "
		    "an administrator removes it (root's posthorn -q does)",
		    base, name, kind, (unsigned)owner, pl->dir));
	}
	/* The same user's other queues, to move over. */
	if (r == 0 && (fbfd = open_fallback(basefd)) != -1) {
		struct strv fb = { NULL, 0 };
		size_t i;

		fallback_dirs(fbfd, uid, &fb);
		for (i = 0; i < fb.n; i++)
			add_old(pl, xasprintf("%s/%s/%s", base, FALLBACK,
			    fb.v[i]));
		strv_free(&fb);
		close(fbfd);
	}
	add_old(pl, xdg_dir());
	if ((pw = getpwuid(uid)) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		add_old(pl, xasprintf("%s/.local/state/posthorn/queue",
		    pw->pw_dir));
	close(basefd);
	return 0;
fail:
	close(basefd);
	spool_place_release(pl);
	return -1;
}

void
spool_place_release(struct spool_place *pl)
{
	free(pl->dir);
	strv_free(&pl->old);
	strv_free(&pl->notes);
	memset(pl, 0, sizeof(*pl));
}

/* A decimal uid name ("1000"); 1 and *uid, or 0. */
static int
uid_name(const char *name, uid_t *uid)
{
	char *end;
	unsigned long n;

	if (name[0] < '0' || name[0] > '9' || strlen(name) > 10)
		return 0;
	errno = 0;
	n = strtoul(name, &end, 10);
	if (*end != '\0' || errno != 0 || n != (uid_t)n)
		return 0;
	*uid = (uid_t)n;
	return 1;
}

int
spool_clean_squats(const char *base, struct strv *notes, struct err *e)
{
	struct dirent *de;
	const char *why;
	uid_t uid, owner;
	int basefd, r, count = 0;
	DIR *d;

	if ((basefd = open_base(base, &why)) == -1) {
		if (why == NULL)
			return 0;
		return err_set(e, ERR_CANTCREAT, "shared spool %s: %s", base,
		    why);
	}
	if ((d = dir_stream(basefd)) == NULL) {
		err_set(e, ERR_IO, "cannot read '%s': %s", base,
		    strerror(errno));
		close(basefd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!uid_name(de->d_name, &uid))
			continue;
		r = check_at(basefd, de->d_name, uid, 0, &owner);
		if (r == 1 && move_squat(basefd, base, de->d_name, owner,
		    notes) == 0)
			count++;
	}
	closedir(d);
	close(basefd);
	return count;
}

static void
add_user(struct spool_user **users, size_t *n, uid_t uid, char *dir)
{
	*users = xreallocarray(*users, *n + 1, sizeof(**users));
	(*users)[*n].uid = uid;
	(*users)[*n].dir = dir;
	(*n)++;
}

static int
cmp_user(const void *a, const void *b)
{
	const struct spool_user *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->dir, y->dir);
}

/* The queues of dirfd (base, or .fallback when fallback) into users. */
static void
users_in(int dirfd, const char *base, int fallback,
    struct spool_user **users, size_t *n)
{
	struct dirent *de;
	char num[16];
	uid_t uid, owner;
	DIR *d;

	if ((d = dir_stream(dirfd)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *dot = strchr(de->d_name, '.');
		size_t len = dot != NULL ? (size_t)(dot - de->d_name) :
		    strlen(de->d_name);

		if ((dot != NULL) != fallback || len >= sizeof(num))
			continue;
		memcpy(num, de->d_name, len);
		num[len] = '\0';
		if (!uid_name(num, &uid) ||
		    check_at(dirfd, de->d_name, uid, 0, &owner) != 0)
			continue;
		add_user(users, n, uid, fallback ? xasprintf("%s/%s/%s", base,
		    FALLBACK, de->d_name) : xasprintf("%s/%s", base,
		    de->d_name));
	}
	closedir(d);
}

int
spool_users(const char *base, struct spool_user **users, size_t *n,
    struct err *e)
{
	const char *why;
	int basefd, fbfd;

	*users = NULL;
	*n = 0;
	if ((basefd = open_base(base, &why)) == -1) {
		if (why == NULL)
			return 0;
		return err_set(e, ERR_CANTCREAT, "shared spool %s: %s", base,
		    why);
	}
	users_in(basefd, base, 0, users, n);
	if ((fbfd = open_fallback(basefd)) != -1) {
		users_in(fbfd, base, 1, users, n);
		close(fbfd);
	}
	close(basefd);
	if (*n > 1)
		qsort(*users, *n, sizeof(**users), cmp_user);
	return 0;
}

void
spool_users_free(struct spool_user *users, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(users[i].dir);
	free(users);
}

/* ----------------------------------------------------------- opening */

/* The directory must be owner's, a real directory, and closed to others. */
static int
check_dir(const char *dir, uid_t owner, struct err *e)
{
	struct stat st;

	if (lstat(dir, &st) == -1)
		return err_set(e, ERR_CANTCREAT, "queue directory '%s': %s",
		    dir, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err_set(e, ERR_CANTCREAT,
		    "queue directory '%s' is a symbolic link", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_CANTCREAT,
		    "queue directory '%s' is not a directory", dir);
	if (st.st_uid != owner)
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

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return err_set(e, ERR_CANTCREAT,
		    "cannot create queue directory '%s': %s", dir,
		    strerror(errno));
	parent = xstrdup(dir);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		fsio_mkdirs(parent, 0700);
	}
	free(parent);
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return err_set(e, ERR_CANTCREAT,
	    "cannot create queue directory '%s': %s", dir, strerror(errno));
}

static int
open_at(struct spool *s, const char *dir, uid_t owner, int create,
    int readonly, struct err *e)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir);
	s->readonly = readonly;
	if ((create && make_dir(s->dir, e) == -1) ||
	    check_dir(s->dir, owner, e) == -1)
		goto fail;
	for (i = 0; i < 3; i++) {
		s->area[i] = xasprintf("%s/%s", s->dir, area_names[i]);
		if ((create && make_dir(s->area[i], e) == -1) ||
		    check_dir(s->area[i], owner, e) == -1)
			goto fail;
	}
	return 0;
fail:
	spool_close(s);
	return -1;
}

int
spool_open(struct spool *s, const char *dir, struct err *e)
{
	return open_at(s, dir, getuid(), 1, 0, e);
}

int
spool_open_ro(struct spool *s, const char *dir, uid_t owner, struct err *e)
{
	return open_at(s, dir, owner, 0, 1, e);
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

/* ------------------------------------------------------- env files */

static int
read_env(const char *path, struct envelope *env, struct err *e)
{
	struct buf b;
	struct err pe;
	int r;

	envelope_init(env);
	buf_init(&b, 0);
	if (fsio_read_file(path, &b) == -1) {
		r = errno;
		buf_release(&b);
		return err_set(e, r == ENOENT ? ERR_TEMP : ERR_IO,
		    "cannot read '%s': %s", path, strerror(r));
	}
	r = envelope_parse(env, b.data != NULL ? b.data : "", b.len, &pe);
	buf_release(&b);
	if (r == -1)
		return err_set(e, ERR_DATA, "damaged envelope file '%s': %s",
		    path, pe.text);
	return 0;
}

/* Writes env.new and renames it over env (when rename); fsync when durable. */
static int
write_env_as(const struct spool *s, const struct spool_entry *ent,
    int durable, int rename_it, struct err *e)
{
	char *tmp = entry_path(s, ent->area, ent->id, "env.new");
	char *dst = entry_path(s, ent->area, ent->id, "env");
	FILE *f = NULL;
	int fd, rv = -1, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd != -1)
			close(fd);
		err_set(e, ERR_CANTCREAT, "cannot write '%s': %s", tmp,
		    strerror(saved));
		goto out;
	}
	if (envelope_write(&ent->env, f) == -1 || fflush(f) == EOF ||
	    (durable && fsync(fileno(f)) == -1)) {
		saved = errno;
		fclose(f);
		err_set(e, ERR_CANTCREAT, "cannot write '%s': %s", tmp,
		    strerror(saved));
		goto out;
	}
	if (fclose(f) == EOF) {
		err_set(e, ERR_CANTCREAT, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (rename_it && rename(tmp, dst) == -1) {
		err_set(e, ERR_CANTCREAT, "cannot rename '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (rv == -1)
		unlink(tmp);
	free(tmp);
	free(dst);
	return rv;
}

static int
write_env(const struct spool *s, const struct spool_entry *ent,
    int durable, struct err *e)
{
	return write_env_as(s, ent, durable, 1, e);
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

/* A fresh entry directory in tmp/ with its id; 0 or -1. */
static int
new_tmp(struct spool *s, struct spool_entry *ent, struct err *e)
{
	struct timeval tv;
	char rnd[5], *dir;
	int tries;

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
			return 0;
		}
		free(dir);
		if (errno != EEXIST)
			return err_set(e, ERR_CANTCREAT,
			    "cannot create a queue entry in '%s': %s",
			    s->area[SPOOL_TMP], strerror(errno));
	}
	return err_set(e, ERR_CANTCREAT, "cannot pick a queue id");
}

int
spool_create(struct spool *s, struct spool_entry *ent, struct err *e)
{
	char *path;

	memset(ent, 0, sizeof(*ent));
	ent->fd = -1;
	ent->area = SPOOL_TMP;
	envelope_init(&ent->env);
	if (new_tmp(s, ent, e) == -1)
		return -1;
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
spool_intake_done(struct spool *s, struct spool_entry *ent, int recoverable,
    struct err *e)
{
	if (!recoverable)
		return 0;
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
	envelope_cap(&ent->env);
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
spool_backoff(int first, int attempts, time_t now)
{
	time_t wait = first > 0 ? first : 60;
	time_t most = wait > 3600 ? wait : 3600;

	while (attempts-- > 1 && wait < most)
		wait *= 2;
	return now + (wait > most ? most : wait);
}

int
spool_defer(struct spool *s, struct spool_entry *ent, const char *error,
    time_t now, struct err *e)
{
	ent->env.attempts++;
	ent->env.next_attempt = spool_backoff(s->backoff, ent->env.attempts, now);
	ent->env.hold = HOLD_NONE;
	envelope_set_capped(&ent->env.last_error, error, ENVELOPE_ERROR_MAX);
	if (make_durable(s, ent, e) == -1)
		return -1;
	if (ent->area != SPOOL_QUEUE)
		return move(s, ent, SPOOL_QUEUE, e);
	return 0;
}

int
spool_hold(struct spool *s, struct spool_entry *ent, enum env_hold hold,
    const char *error, int attempt, time_t now, struct err *e)
{
	if (attempt) {
		ent->env.attempts++;
		ent->env.next_attempt = spool_backoff(s->backoff, ent->env.attempts, now);
	}
	ent->env.hold = hold;
	if (error != NULL)
		envelope_set_capped(&ent->env.last_error, error,
		    ENVELOPE_ERROR_MAX);
	if (make_durable(s, ent, e) == -1)
		return -1;
	if (ent->area != SPOOL_QUEUE)
		return move(s, ent, SPOOL_QUEUE, e);
	return 0;
}

/* Into failed/ with its last error; attempt: an attempt led there. */
static int
fail_entry(struct spool *s, struct spool_entry *ent, const char *error,
    int attempt, time_t now, struct err *e)
{
	if (attempt)
		ent->env.attempts++;
	ent->env.failed_at = now;
	ent->env.hold = HOLD_NONE;
	envelope_set_capped(&ent->env.last_error, error, ENVELOPE_ERROR_MAX);
	if (make_durable(s, ent, e) == -1)
		return -1;
	return move(s, ent, SPOOL_FAILED, e);
}

int
spool_fail(struct spool *s, struct spool_entry *ent, const char *error,
    time_t now, struct err *e)
{
	return fail_entry(s, ent, error, 1, now, e);
}

int
spool_save(struct spool *s, struct spool_entry *ent, struct err *e)
{
	return make_durable(s, ent, e);
}

int
spool_move(struct spool *s, struct spool_entry *ent, enum spool_area to,
    struct err *e)
{
	if (ent->area == to)
		return 0;
	if (make_durable(s, ent, e) == -1)
		return -1;
	return move(s, ent, to, e);
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

int
spool_valid_id(const char *name)
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
		if (!spool_valid_id(de->d_name))
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
	char *path;
	int r;

	if (!spool_valid_id(id))
		return err_set(e, ERR_USAGE, "invalid queue id '%s'", id);
	path = entry_path(s, area, id, "env");
	r = read_env(path, env, e);
	free(path);
	return r;
}

int
spool_where(struct spool *s, const char *id)
{
	struct stat st;
	char *p;
	int a;

	if (!spool_valid_id(id))
		return -1;
	for (a = SPOOL_QUEUE; a <= SPOOL_FAILED; a++) {
		p = entry_path(s, (enum spool_area)a, id, "env");
		if (lstat(p, &st) == 0) {
			free(p);
			return a;
		}
		free(p);
	}
	return -1;
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
		r = fail_entry(s, ent, why, 0, time(NULL), &me);
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
	if (!spool_valid_id(id))
		return err_set(e, ERR_USAGE, "invalid queue id '%s'", id);
	snprintf(ent->id, sizeof(ent->id), "%s", id);
	ent->area = area;
	path = entry_path(s, area, id, "msg");
	ent->fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
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
		if (s->readonly) {
			spool_release(ent);
			return -1;
		}
		return quarantine(s, ent, e);
	}
	if (fstat(ent->fd, &st) == 0 && st.st_size != ent->env.size) {
		err_set(e, ERR_DATA, "queue entry %s is damaged: message "
		    "has %lld octets, envelope says %lld", id,
		    (long long)st.st_size, (long long)ent->env.size);
		if (s->readonly) {
			spool_release(ent);
			return -1;
		}
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
	if ((fd = open(msg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
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

int
spool_expire_failed(struct spool *s, int max_age, time_t now, struct err *e)
{
	char (*ids)[SPOOL_ID_MAX];
	struct spool_entry ent;
	struct stat st;
	struct err le;
	time_t when;
	size_t n, i;
	char *p;
	int count = 0;

	if (max_age <= 0)
		return 0;
	if (spool_list(s, SPOOL_FAILED, &ids, &n, e) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (spool_lock(s, SPOOL_FAILED, ids[i], &ent, &le) != 1)
			continue;
		when = ent.env.failed_at;
		if (when == 0) {
			p = entry_path(s, SPOOL_FAILED, ids[i], "env");
			when = lstat(p, &st) == 0 ? st.st_mtime : now;
			free(p);
		}
		if (when + max_age <= now && spool_done(s, &ent) == 0)
			count++;
		spool_release(&ent);
	}
	free(ids);
	return count;
}

/* ------------------------------------------------------------ adopt */

/* Copies the file from into a new file to (0600), fsync'd; 0 or -1. */
static int
copy_file(int from, const char *to, struct err *e)
{
	char buf[65536];
	ssize_t n;
	off_t off = 0;
	int fd;

	fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "cannot create '%s': %s", to,
		    strerror(errno));
	while ((n = pread(from, buf, sizeof(buf), off)) > 0) {
		if (fsio_write_all(fd, buf, (size_t)n) == -1)
			goto fail;
		off += n;
	}
	if (n == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	err_set(e, ERR_CANTCREAT, "cannot copy to '%s': %s", to,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * One entry of from (locked as ent) into the same area of to: the copy is
 * built in to's tmp/ with its envelope under env.new (so that to's
 * recovery never takes it for a message), renamed into place, its env
 * renamed in; then the old one goes.  0 or -1.
 */
static int
adopt_one(struct spool *to, struct spool *from, struct spool_entry *ent,
    struct err *e)
{
	struct spool_entry cp;
	struct stat st;
	char *p, *q;
	int fd, r;

	p = entry_path(to, ent->area, ent->id, NULL);
	r = lstat(p, &st);
	free(p);
	if (r == 0)	/* moved before, the old copy not yet removed */
		return spool_done(from, ent);
	memset(&cp, 0, sizeof(cp));
	cp.fd = -1;
	cp.area = SPOOL_TMP;
	memcpy(cp.id, ent->id, sizeof(cp.id));
	p = entry_path(to, SPOOL_TMP, cp.id, NULL);
	if (mkdir(p, 0700) == -1) {
		if (errno != EEXIST) {
			err_set(e, ERR_CANTCREAT, "cannot create '%s': %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		/* A copy a killed run left: start again. */
		remove_entry(to, SPOOL_TMP, cp.id);
		if (mkdir(p, 0700) == -1) {
			err_set(e, ERR_CANTCREAT, "cannot create '%s': %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
	}
	free(p);
	p = entry_path(to, SPOOL_TMP, cp.id, "msg");
	r = copy_file(ent->fd, p, e);
	if (r == 0 && (fd = open(p, O_RDONLY | O_CLOEXEC)) != -1)
		cp.fd = fd;
	free(p);
	if (r == -1 || cp.fd == -1) {
		if (r == 0)
			err_set(e, ERR_CANTCREAT, "cannot reopen a copy: %s",
			    strerror(errno));
		remove_entry(to, SPOOL_TMP, cp.id);
		if (cp.fd != -1)
			close(cp.fd);
		return -1;
	}
	lock_wait(cp.fd);
	cp.env = ent->env;
	envelope_cap(&cp.env);
	r = write_env_as(to, &cp, 1, 0, e);
	memset(&cp.env, 0, sizeof(cp.env));
	p = entry_path(to, SPOOL_TMP, cp.id, NULL);
	if (r == 0 && fsio_fsync_dir(p) == -1)
		r = err_set(e, ERR_CANTCREAT, "cannot save '%s': %s", p,
		    strerror(errno));
	free(p);
	if (r == 0) {
		p = entry_path(to, SPOOL_TMP, cp.id, NULL);
		q = entry_path(to, ent->area, cp.id, NULL);
		if (rename(p, q) == -1)
			r = err_set(e, ERR_CANTCREAT, "cannot move '%s': %s",
			    p, strerror(errno));
		free(p);
		free(q);
	}
	if (r == 0) {
		p = entry_path(to, ent->area, cp.id, "env.new");
		q = entry_path(to, ent->area, cp.id, "env");
		if (rename(p, q) == -1 || fsio_fsync_dir(to->area[ent->area])
		    == -1 || fsio_fsync_dir(to->area[SPOOL_TMP]) == -1)
			r = err_set(e, ERR_CANTCREAT, "cannot save '%s': %s",
			    q, strerror(errno));
		free(p);
		free(q);
	}
	close(cp.fd);
	if (r == -1) {
		remove_entry(to, SPOOL_TMP, cp.id);
		return -1;
	}
	return spool_done(from, ent);
}

int
spool_adopt(struct spool *s, const char *olddir, struct err *e)
{
	struct spool from;
	struct spool_entry ent;
	char (*ids)[SPOOL_ID_MAX];
	struct err le;
	size_t n, i;
	int a, r, count = 0, rv = 0;

	if (open_at(&from, olddir, getuid(), 0, 0, e) == -1) {
		struct stat st;

		/* Emptied and removed by another run meanwhile: done. */
		if (lstat(olddir, &st) == -1 && errno == ENOENT)
			return 0;
		return -1;
	}
	spool_recover(&from, &le);
	for (a = SPOOL_QUEUE; a <= SPOOL_FAILED; a++) {
		if (spool_list(&from, (enum spool_area)a, &ids, &n, e) == -1) {
			rv = -1;
			continue;
		}
		for (i = 0; i < n; i++) {
			r = spool_lock(&from, (enum spool_area)a, ids[i], &ent,
			    &le);
			if (r != 1)
				continue;
			if (adopt_one(s, &from, &ent, &le) == 0)
				count++;
			else if (rv == 0) {
				*e = le;
				rv = -1;
			}
			spool_release(&ent);
		}
		free(ids);
	}
	if (rv == 0) {
		/* Emptied: the old queue goes too (rmdir fails on anything
		   left, a message that was busy or came meanwhile). */
		for (a = SPOOL_TMP; a <= SPOOL_FAILED; a++)
			rmdir(from.area[a]);
		rmdir(from.dir);
	}
	spool_close(&from);
	return rv == -1 ? -1 : count;
}
