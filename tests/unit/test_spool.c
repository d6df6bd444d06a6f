/*
 * test_spool: the queue on disk — ids over their cap refused, not cut;
 * entries that must never be recovered (queue off, --dry-run); hold,
 * defer, fail, expiry of failed entries; where a user's queue is (the
 * shared spool by uid whatever HOME says, the XDG directory without it,
 * squatted names, older queues moved over).  Parts that need root (a
 * spool owned by root, chown) are skipped otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/fsio.h"
#include "t.h"

static char top[] = "/tmp/posthorn-test-spool-XXXXXX";

static void
rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);

	if (system(cmd) != 0)
		t_diag("could not remove %s", path);
	free(cmd);
}

/* A queued message in s: "hello" for bob, deferred once. */
static int
make_entry(struct spool *s, char *id, int recoverable, int defer)
{
	struct spool_entry ent;
	struct err e;

	if (spool_create(s, &ent, &e) == -1)
		return -1;
	if (fsio_write_all(ent.fd, "hello\r\n", 7) == -1)
		return -1;
	ent.env.sender = xstrdup("alice@example.org");
	ent.env.size = 7;
	envelope_add_rcpt(&ent.env, "bob@example.org");
	if (spool_intake_done(s, &ent, recoverable, &e) == -1)
		return -1;
	if (defer && spool_defer(s, &ent, "451 later", time(NULL), &e) == -1)
		return -1;
	memcpy(id, ent.id, SPOOL_ID_MAX);
	spool_release(&ent);
	return 0;
}

static size_t
count(struct spool *s, enum spool_area a)
{
	char (*ids)[SPOOL_ID_MAX];
	size_t n;
	struct err e;

	if (spool_list(s, a, &ids, &n, &e) == -1)
		return 9999;
	free(ids);
	return n;
}

static void
test_ids(void)
{
	char id[SPOOL_ID_MAX + 1];

	memset(id, 'A', sizeof(id));
	id[SPOOL_ID_MAX - 1] = '\0';
	t_ok(spool_valid_id(id), "an id of %d characters is one",
	    SPOOL_ID_MAX - 1);
	id[SPOOL_ID_MAX - 1] = 'A';
	id[SPOOL_ID_MAX] = '\0';
	t_ok(!spool_valid_id(id), "one character over the cap: refused, "
	    "not cut");
	t_ok(!spool_valid_id("../x") && !spool_valid_id(".x") &&
	    !spool_valid_id(""), "no path games");
}

static void
test_entries(void)
{
	struct spool s;
	struct spool_entry ent;
	struct envelope env;
	struct err e;
	char id[SPOOL_ID_MAX], id2[SPOOL_ID_MAX], *dir;

	dir = xasprintf("%s/q", top);
	t_ok(spool_open(&s, dir, &e) == 0, "open %s", e.text);

	/* Not recoverable: a killed run leaves nothing for later runs. */
	t_ok(make_entry(&s, id, 0, 0) == 0, "intake without an envelope");
	t_ok(spool_recover(&s, &e) == 0 && count(&s, SPOOL_QUEUE) == 0 &&
	    count(&s, SPOOL_TMP) == 1, "queue off / dry run: recovery does "
	    "not queue it");
	/* Recoverable: it is queued by the next run. */
	t_ok(make_entry(&s, id2, 1, 0) == 0, "intake with an envelope");
	t_ok(spool_recover(&s, &e) == 1 && count(&s, SPOOL_QUEUE) == 1,
	    "queue on: recovery queues it");

	/* Hold, release by hand, fail, expire. */
	t_ok(spool_lock(&s, SPOOL_QUEUE, id2, &ent, &e) == 1, "lock");
	t_ok(spool_hold(&s, &ent, HOLD_AUTO, "535 5.7.8 bad password", 1,
	    time(NULL), &e) == 0, "hold");
	spool_release(&ent);
	t_ok(spool_peek(&s, SPOOL_QUEUE, id2, &env, &e) == 0 &&
	    env.hold == HOLD_AUTO && env.attempts == 1 &&
	    strstr(env.last_error, "535") != NULL, "held with its reason");
	envelope_release(&env);
	t_ok(spool_lock(&s, SPOOL_QUEUE, id2, &ent, &e) == 1 &&
	    spool_fail(&s, &ent, "554 no", 1000, &e) == 0, "fail");
	spool_release(&ent);
	t_ok(spool_where(&s, id2) == SPOOL_FAILED, "now in failed/");
	t_ok(spool_peek(&s, SPOOL_FAILED, id2, &env, &e) == 0 &&
	    env.failed_at == 1000 && env.hold == HOLD_NONE,
	    "failed-at noted, hold cleared");
	envelope_release(&env);
	t_ok(spool_expire_failed(&s, 100, 1099, &e) == 0 &&
	    count(&s, SPOOL_FAILED) == 1, "failed_lifetime not yet over");
	t_ok(spool_expire_failed(&s, 100, 1100, &e) == 1 &&
	    count(&s, SPOOL_FAILED) == 0, "failed_lifetime over: removed");
	t_ok(spool_where(&s, "NOSUCHID") == -1, "spool_where of nothing");
	spool_close(&s);
	free(dir);
}

/* Where a user's queue is. */
static void
test_locate(void)
{
	struct spool_place pl;
	struct spool s, old;
	struct stat st;
	struct err e;
	char *base, *home, *uiddir, *xdg, id[SPOOL_ID_MAX];
	char (*ids)[SPOOL_ID_MAX];
	size_t n;

	base = xasprintf("%s/spool", top);
	home = xasprintf("%s/home", top);
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	unsetenv("XDG_STATE_HOME");
	xdg = xasprintf("%s/.local/state/posthorn/queue", home);

	/* A personal install: no shared spool, the XDG directory. */
	t_ok(spool_locate(base, &pl, &e) == 0 && strcmp(pl.dir, xdg) == 0,
	    "without the shared spool: the XDG queue");
	spool_place_release(&pl);
	/* Queue something there: it is an older queue later. */
	t_ok(spool_open(&old, xdg, &e) == 0 && make_entry(&old, id, 1, 1) ==
	    0, "a message queued in the XDG queue");
	spool_close(&old);

	if (geteuid() != 0) {
		t_ok(1, "# SKIP the shared spool needs root");
		goto out;
	}
	mkdir(base, 0755);
	chmod(base, 01733);
	uiddir = xasprintf("%s/%u", base, (unsigned)getuid());
	unsetenv("HOME");
	t_ok(spool_locate(base, &pl, &e) == 0 && strcmp(pl.dir, uiddir) == 0,
	    "with the shared spool and no HOME: SPOOLDIR/UID (%s)", e.text);
	t_ok(lstat(uiddir, &st) == 0 && (st.st_mode & 0777) == 0700 &&
	    st.st_uid == getuid(), "created 0700, the user's");
	spool_place_release(&pl);
	setenv("HOME", "/", 1);
	t_ok(spool_locate(base, &pl, &e) == 0 && strcmp(pl.dir, uiddir) == 0,
	    "HOME=/: the same queue");
	spool_place_release(&pl);
	setenv("HOME", home, 1);
	t_ok(spool_locate(base, &pl, &e) == 0 && strcmp(pl.dir, uiddir) == 0 &&
	    strv_has(&pl.old, xdg),
	    "a usable HOME: the same queue, the XDG one to move over");
	t_ok(spool_open(&s, pl.dir, &e) == 0 && spool_adopt(&s, xdg, &e) ==
	    1, "spool_adopt moves the message (%s)", e.text);
	t_ok(spool_list(&s, SPOOL_QUEUE, &ids, &n, &e) == 0 && n == 1 &&
	    strcmp(ids[0], id) == 0, "same id in the new queue");
	free(ids);
	t_ok(spool_open(&old, xdg, &e) == 0 && count(&old, SPOOL_QUEUE) == 0,
	    "and gone from the old");
	spool_close(&old);
	spool_close(&s);
	spool_place_release(&pl);

	/* A name another user took: root takes it back, with a note. */
	rm_rf(uiddir);
	mkdir(uiddir, 0700);
	if (chown(uiddir, 12345, 12345) == -1)
		t_diag("chown: %s", strerror(errno));
	t_ok(spool_locate(base, &pl, &e) == 0 && strcmp(pl.dir, uiddir) == 0 &&
	    pl.notes.n == 1 && strstr(pl.notes.v[0], "uid 12345") != NULL,
	    "root: a squatted name is moved aside, the squatter named");
	t_ok(lstat(uiddir, &st) == 0 && st.st_uid == getuid(),
	    "and root's queue made again");
	spool_place_release(&pl);
	/* A symbolic link in its place: not followed. */
	rm_rf(uiddir);
	if (symlink(home, uiddir) == -1)
		t_diag("symlink: %s", strerror(errno));
	t_ok(spool_locate(base, &pl, &e) == 0 && lstat(uiddir, &st) == 0 &&
	    S_ISDIR(st.st_mode), "a symbolic link is moved aside too");
	spool_place_release(&pl);
	/* Root's cleaning of every user's name. */
	{
		char *squatted = xasprintf("%s/4242", base);
		struct strv notes = { NULL, 0 };
		struct spool_user *u;
		size_t nu;

		mkdir(squatted, 0700);
		free(squatted);
		t_ok(spool_clean_squats(base, &notes, &e) == 1 &&
		    notes.n == 1 && strstr(notes.v[0], "4242") != NULL,
		    "spool_clean_squats: 4242 owned by root moved aside");
		strv_free(&notes);
		t_ok(spool_users(base, &u, &nu, &e) == 0 && nu == 1 &&
		    u[0].uid == getuid(), "spool_users: root's queue only");
		spool_users_free(u, nu);
	}
	/* An unsafe spool (others may rename in it) is not used. */
	chmod(base, 0777);
	t_ok(spool_locate(base, &pl, &e) == 0 && strcmp(pl.dir, xdg) == 0 &&
	    pl.notes.n == 1 && strstr(pl.notes.v[0], "sticky") != NULL,
	    "a shared spool without the sticky bit is not used, and said");
	spool_place_release(&pl);
	free(uiddir);
out:
	free(base);
	free(home);
	free(xdg);
}

int
main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	umask(077);
	test_ids();
	test_entries();
	test_locate();
	rm_rf(top);
	return t_done();
}
