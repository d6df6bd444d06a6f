/*
 * test_record: the copy of a sent message (--save-copy, `record`), as
 * posthorn(1) promises it: written only once no recipient is pending and
 * one took it; a Maildir gets tmp/ new/ cur/ and one file in new/ (none
 * left in tmp/); an mbox gets a From_ line, the notes, mboxrd quoting,
 * LF line ends and an empty line, appended under an fcntl lock that a
 * second writer waits for; every failure is one error naming the path,
 * with nothing half-written left behind.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "err.h"
#include "record.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/fsio.h"
#include "t.h"

static char top[] = "/tmp/posthorn-test-record-XXXXXX";

/* The message as the queue stores it: CRLF, lines that mboxrd quotes. */
static const char msg[] =
    "From: alice@example.org\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "From the start of a line\r\n"
    ">From quoted once\r\n"
    ">>From quoted twice\r\n"
    "not From here\r\n"
    "From\r\n"
    "Fromage\r\n"
    "last line without an end";

/* What an mbox gets after its From_ line and notes. */
static const char msg_mbox[] =
    "From: alice@example.org\n"
    "Subject: hi\n"
    "\n"
    ">From the start of a line\n"
    ">>From quoted once\n"
    ">>>From quoted twice\n"
    "not From here\n"
    "From\n"
    "Fromage\n"
    "last line without an end\n"
    "\n";

/* What a Maildir gets after the notes: LF ends, no quoting. */
static const char msg_maildir[] =
    "From: alice@example.org\n"
    "Subject: hi\n"
    "\n"
    "From the start of a line\n"
    ">From quoted once\n"
    ">>From quoted twice\n"
    "not From here\n"
    "From\n"
    "Fromage\n"
    "last line without an end\n";

static void
rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);

	if (system(cmd) != 0)
		t_diag("could not remove %s", path);
	free(cmd);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = xmalloc((size_t)n + 1);
	s[fread(s, 1, (size_t)n, f)] = '\0';
	fclose(f);
	return s;
}

/* Names in dir (not . and ..); -1 when it cannot be read. */
static int
count_dir(const char *dir, char **one)
{
	struct dirent *d;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (one != NULL && n == 0)
			*one = xasprintf("%s/%s", dir, d->d_name);
		n++;
	}
	closedir(dp);
	return n;
}

/* An entry sent to bob (and Bcc carol) with copy to path. */
static void
entry(struct spool_entry *ent, const char *path)
{
	char *file;

	memset(ent, 0, sizeof(*ent));
	envelope_init(&ent->env);
	strcpy(ent->id, "Q1234");
	file = xasprintf("%s/msg", top);
	ent->fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	free(file);
	if (ent->fd == -1 || fsio_write_all(ent->fd, msg, sizeof(msg) - 1) ==
	    -1)
		t_diag("cannot write the message: %s", strerror(errno));
	ent->env.sender = xstrdup("alice@example.org");
	envelope_add_rcpt(&ent->env, "bob@example.org")->state = RCPT_DONE;
	strv_add(&ent->env.record_bcc, "carol@example.org");
	strv_add(&ent->env.record_bcc, "dave@example.org");
	ent->env.record = path != NULL ? xstrdup(path) : NULL;
}

static void
entry_free(struct spool_entry *ent)
{
	if (ent->fd != -1)
		close(ent->fd);
	envelope_release(&ent->env);
}

/* The notes an entry gets, for a check of the whole copy. */
static int
notes_ok(const char *s, const char **rest)
{
	static const char bcc[] =
	    "X-Posthorn-Bcc: carol@example.org, dave@example.org\n"
	    "X-Posthorn-Queue-Id: Q1234\n"
	    "X-Posthorn-Sent: ";
	const char *nl;

	if (strncmp(s, bcc, sizeof(bcc) - 1) != 0)
		return 0;
	/* The date of when (1 Jan 2030 UTC, some zone). */
	if ((nl = strchr(s + sizeof(bcc) - 1, '\n')) == NULL ||
	    strstr(s + sizeof(bcc) - 1, "2030") == NULL)
		return 0;
	*rest = nl + 1;
	return 1;
}

#define WHEN	((time_t)1893456000 + 43200)	/* 1 Jan 2030, noon UTC */

static void
test_due(void)
{
	struct spool_entry ent;
	struct err e;
	char *path = xasprintf("%s/due.mbox", top);

	entry(&ent, path);
	envelope_add_rcpt(&ent.env, "erin@example.org");
	t_ok(record_sent(&ent, WHEN, &e) == 0 && access(path, F_OK) == -1,
	    "a recipient still pending: no copy yet");
	ent.env.rcpt[0].state = RCPT_FAILED;
	ent.env.rcpt[1].state = RCPT_FAILED;
	t_ok(record_sent(&ent, WHEN, &e) == 0 && access(path, F_OK) == -1,
	    "no recipient took it: no copy");
	ent.env.rcpt[1].state = RCPT_DONE;
	t_ok(record_sent(&ent, WHEN, &e) == 0 && access(path, F_OK) == 0,
	    "one took it, one failed for good: the copy is written");
	entry_free(&ent);
	entry(&ent, NULL);
	t_ok(record_sent(&ent, WHEN, &e) == 0, "no record path: nothing");
	entry_free(&ent);
	free(path);
}

static void
test_mbox(void)
{
	struct spool_entry ent;
	struct stat st;
	struct err e;
	char *path = xasprintf("%s/sent.mbox", top), *s;
	const char *want;
	const char *rest;

	entry(&ent, path);
	t_ok(record_sent(&ent, WHEN, &e) == 0, "mbox: written");
	t_ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "mbox: created 0600");
	s = slurp(path);
	t_ok(s != NULL && strncmp(s, "From alice@example.org ", 23) == 0 &&
	    strchr(s, '\n') != NULL && strstr(s, " 2030\n") ==
	    strchr(s, '\n') - 5, "mbox: the From_ line: sender and date");
	t_ok(s != NULL && notes_ok(strchr(s, '\n') + 1, &rest) &&
	    strcmp(rest, msg_mbox) == 0, "mbox: notes, LF ends, mboxrd "
	    "quoting, an empty line after");
	/* A second copy is appended, the first kept whole. */
	free(ent.env.sender);
	ent.env.sender = xstrdup("");
	strv_free(&ent.env.record_bcc);
	t_ok(record_sent(&ent, WHEN, &e) == 0, "mbox: a second copy");
	free(s);
	s = slurp(path);
	want = strstr(s != NULL ? s : "", "\n\nFrom MAILER-DAEMON ");
	t_ok(want != NULL && strstr(s, msg_mbox) + sizeof(msg_mbox) - 1 ==
	    want + 2, "mbox: the second copy starts right after the first, "
	    "From MAILER-DAEMON for <>");
	want = want != NULL ? strchr(want + 2, '\n') : NULL;
	t_ok(want != NULL && strncmp(want + 1, "X-Posthorn-Queue-Id: Q1234\n"
	    "X-Posthorn-Sent: ", 44) == 0 && strstr(want, msg_mbox) != NULL &&
	    strcmp(strstr(want, msg_mbox), msg_mbox) == 0,
	    "mbox: no Bcc note without Bcc recipients, the message whole");
	free(s);
	entry_free(&ent);
	free(path);
}

static void
test_maildir(void)
{
	static const char *const kinds[] = { "Mail/", "Dir" };
	struct spool_entry ent;
	struct stat st;
	struct err e;
	char *path, *sub, *one = NULL, *s;
	const char *rest;
	size_t k;

	for (k = 0; k < 2; k++) {
		path = xasprintf("%s/%s", top, kinds[k]);
		if (k == 1)
			mkdir(path, 0700);
		entry(&ent, path);
		t_ok(record_sent(&ent, WHEN, &e) == 0, "Maildir %s: written",
		    kinds[k]);
		sub = xasprintf("%s/cur", path);
		t_ok(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
		    (st.st_mode & 0777) == 0700, "Maildir %s: cur/ made 0700",
		    kinds[k]);
		free(sub);
		sub = xasprintf("%s/tmp", path);
		t_inteq(count_dir(sub, NULL), 0, "Maildir %s: nothing left "
		    "in tmp/", kinds[k]);
		free(sub);
		sub = xasprintf("%s/new", path);
		t_inteq(count_dir(sub, &one), 1, "Maildir %s: one file in "
		    "new/", kinds[k]);
		free(sub);
		s = one != NULL ? slurp(one) : NULL;
		t_ok(s != NULL && notes_ok(s, &rest) && strcmp(rest,
		    msg_maildir) == 0 && strstr(one, "Q1234") != NULL,
		    "Maildir %s: notes, the message with LF ends, unquoted",
		    kinds[k]);
		free(s);
		free(one);
		one = NULL;
		entry_free(&ent);
		free(path);
	}
}

/* Every failure: -1, the code, one line naming the path. */
static void
failed(int r, const struct err *e, int code, const char *path,
    const char *what)
{
	t_ok(r == -1 && e->kind == (enum err_kind)code && strstr(e->text, path) != NULL &&
	    strchr(e->text, '\n') == NULL, "%s: %s", what, e->text);
}

static void
test_failures(void)
{
	struct spool_entry ent;
	struct rlimit rl, old;
	struct err e;
	char *path, *sub;
	int fds[2], r, saved;

	/* A Maildir under a regular file: its directories cannot be made. */
	path = xasprintf("%s/plain", top);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	free(path);
	path = xasprintf("%s/plain/Mail/", top);
	entry(&ent, path);
	failed(record_sent(&ent, WHEN, &e), &e, ERR_CANTCREAT, path,
	    "Maildir whose directory cannot be made");
	t_ok(strstr(e.text, "cannot create the Maildir") != NULL,
	    "... says so");
	entry_free(&ent);
	free(path);

	/* tmp a regular file: the copy cannot be created. */
	path = xasprintf("%s/badtmp/", top);
	sub = xasprintf("%stmp", path);
	mkdir(path, 0700);
	close(open(sub, O_WRONLY | O_CREAT, 0600));
	entry(&ent, path);
	failed(record_sent(&ent, WHEN, &e), &e, ERR_CANTCREAT, path,
	    "Maildir whose tmp is a file");
	t_ok(strstr(e.text, "Not a directory") != NULL, "... with the reason");
	entry_free(&ent);
	free(sub);
	free(path);

	/* new/ on another file system: rename fails, tmp/ is cleaned. */
	path = xasprintf("%s/xdev/", top);
	sub = xasprintf("%snew", path);
	mkdir(path, 0700);
	{
		char shm[] = "/dev/shm/posthorn-test-record-XXXXXX";
		struct stat a, b;

		if (mkdtemp(shm) != NULL && symlink(shm, sub) == 0 &&
		    stat(shm, &a) == 0 && stat(top, &b) == 0 &&
		    a.st_dev != b.st_dev) {
			entry(&ent, path);
			failed(record_sent(&ent, WHEN, &e), &e, ERR_IO, path,
			    "Maildir whose new/ is elsewhere (EXDEV)");
			free(sub);
			sub = xasprintf("%stmp", path);
			t_inteq(count_dir(sub, NULL), 0, "... and nothing is "
			    "left in tmp/");
			t_inteq(count_dir(shm, NULL), 0, "... nor in new/");
			entry_free(&ent);
		} else
			t_diag("skipped: no other file system at /dev/shm");
		rm_rf(shm);
	}
	free(sub);
	free(path);

	/* The message cannot be read (a pipe): Maildir and mbox. */
	path = xasprintf("%s/pipe/", top);
	entry(&ent, path);
	close(ent.fd);
	if (pipe(fds) == 0) {
		ent.fd = fds[0];
		failed(record_sent(&ent, WHEN, &e), &e, ERR_IO, path,
		    "Maildir: the queued message cannot be read");
		sub = xasprintf("%stmp", path);
		t_inteq(count_dir(sub, NULL), 0, "... and nothing is left in "
		    "tmp/");
		free(sub);
		sub = xasprintf("%snew", path);
		t_inteq(count_dir(sub, NULL), 0, "... nor in new/");
		free(sub);
		free(ent.env.record);
		free(path);
		path = xasprintf("%s/pipe.mbox", top);
		ent.env.record = xstrdup(path);
		failed(record_sent(&ent, WHEN, &e), &e, ERR_IO, path,
		    "mbox: the queued message cannot be read");
		close(fds[1]);
	}
	entry_free(&ent);
	free(path);

	/* Open for writing only: it cannot be read at all. */
	path = xasprintf("%s/wronly.mbox", top);
	entry(&ent, path);
	close(ent.fd);
	sub = xasprintf("%s/msg", top);
	ent.fd = open(sub, O_WRONLY);
	free(sub);
	failed(record_sent(&ent, WHEN, &e), &e, ERR_IO, path,
	    "mbox: the queued message is not readable");
	entry_free(&ent);
	free(path);

	/* A read error in the middle of the copy (EISDIR). */
	path = xasprintf("%s/eisdir/", top);
	entry(&ent, path);
	close(ent.fd);
	ent.fd = open(top, O_RDONLY | O_DIRECTORY);
	failed(record_sent(&ent, WHEN, &e), &e, ERR_IO, path,
	    "Maildir: a read error during the copy");
	t_ok(strstr(e.text, strerror(EISDIR)) != NULL, "... with the reason");
	sub = xasprintf("%stmp", path);
	t_inteq(count_dir(sub, NULL), 0, "... nothing left in tmp/");
	free(sub);
	entry_free(&ent);
	free(path);

	/* An mbox in a directory that does not exist. */
	path = xasprintf("%s/none/sent.mbox", top);
	entry(&ent, path);
	failed(record_sent(&ent, WHEN, &e), &e, ERR_CANTCREAT, path,
	    "mbox that cannot be opened");
	entry_free(&ent);
	free(path);

	/* A full disk: the flush fails, the error says so. */
	if (access("/dev/full", W_OK) == 0) {
		entry(&ent, "/dev/full");
		failed(record_sent(&ent, WHEN, &e), &e, ERR_IO, "/dev/full",
		    "mbox on a full disk");
		t_ok(strstr(e.text, strerror(ENOSPC)) != NULL, "... ENOSPC");
		entry_free(&ent);
	}

	/* A file size limit: the Maildir copy cannot be written whole. */
	path = xasprintf("%s/fsize/", top);
	entry(&ent, path);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 16;
	setrlimit(RLIMIT_FSIZE, &rl);
	r = record_sent(&ent, WHEN, &e);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	failed(r, &e, ERR_IO, path, "Maildir copy over the file size limit");
	sub = xasprintf("%stmp", path);
	t_inteq(count_dir(sub, NULL), 0, "... nothing left in tmp/");
	free(sub);
	sub = xasprintf("%snew", path);
	t_inteq(count_dir(sub, NULL), 0, "... nor in new/");
	free(sub);
	entry_free(&ent);
	free(path);

	/* An mbox append cut short by the size limit: the mbox is left as
	   it was, not with half a message the next one would join. */
	path = xasprintf("%s/sent.mbox", top);
	entry(&ent, path);
	{
		char *before = slurp(path), *after;

		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &old);
		rl = old;
		rl.rlim_cur = (rlim_t)(before != NULL ? strlen(before) : 0) + 100;
		setrlimit(RLIMIT_FSIZE, &rl);
		r = record_sent(&ent, WHEN, &e);
		setrlimit(RLIMIT_FSIZE, &old);
		signal(SIGXFSZ, SIG_DFL);
		failed(r, &e, ERR_IO, path, "mbox append over the file size "
		    "limit");
		after = slurp(path);
		t_ok(before != NULL && after != NULL && strcmp(before, after) ==
		    0, "... the mbox is as it was (%zu bytes, %zu after)",
		    before != NULL ? strlen(before) : 0, after != NULL ?
		    strlen(after) : 0);
		free(before);
		free(after);
	}
	entry_free(&ent);
	free(path);

	/* No descriptor left: the Maildir file cannot be opened. */
	path = xasprintf("%s/nofd/", top);
	entry(&ent, path);
	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)ent.fd + 1;
	/* Every descriptor below the limit is taken. */
	{
		int fill[64], n = 0, fd;

		setrlimit(RLIMIT_NOFILE, &rl);
		while (n < 64 && (fd = dup(0)) != -1)
			fill[n++] = fd;
		r = record_sent(&ent, WHEN, &e);
		saved = errno;
		while (n > 0)
			close(fill[--n]);
		setrlimit(RLIMIT_NOFILE, &old);
		(void)saved;
	}
	failed(r, &e, ERR_CANTCREAT, path, "Maildir with no descriptor left");
	entry_free(&ent);
	free(path);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* Another process holds the mbox lock: the copy waits for it. */
static void
test_lock(void)
{
	struct sigaction sa;
	struct timespec t0, t1;
	struct spool_entry ent;
	struct flock lk;
	struct err e;
	char *path = xasprintf("%s/locked.mbox", top), *s, c;
	static const char first[] = "From other\nfirst\n\nstill first\n\n"
	    "From alice@example.org ";
	size_t before;
	int go[2], fd, r, st;
	pid_t pid;

	if (pipe(go) == -1)
		return;
	pid = fork();
	if (pid == 0) {
		/* Holds the lock, writes a whole message, lets go after
		   1.5 s (or when told to stay: until killed). */
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		memset(&lk, 0, sizeof(lk));
		lk.l_type = F_WRLCK;
		if (fd == -1 || fcntl(fd, F_SETLKW, &lk) == -1)
			_exit(1);
		(void)!write(fd, "From other\nfirst\n\n", 18);
		(void)!write(go[1], "x", 1);
		usleep(1500 * 1000);
		(void)!write(fd, "still first\n\n", 13);
		_exit(0);
	}
	close(go[1]);
	(void)!read(go[0], &c, 1);
	close(go[0]);
	entry(&ent, path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = record_sent(&ent, WHEN, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(pid, &st, 0);
	t_ok(r == 0 && t1.tv_sec - t0.tv_sec >= 1, "mbox locked by another "
	    "process: the copy waits for the lock (%ld s)",
	    (long)(t1.tv_sec - t0.tv_sec));
	s = slurp(path);
	t_ok(s != NULL && strncmp(s, first, sizeof(first) - 1) == 0, "... and is appended after "
	    "the other writer's message, not into it");

	/* A signal (without SA_RESTART, as sig_install) ends the wait. */
	before = s != NULL ? strlen(s) : 0;
	free(s);
	if (pipe(go) == -1)
		return;
	pid = fork();
	if (pid == 0) {
		fd = open(path, O_WRONLY | O_APPEND);
		memset(&lk, 0, sizeof(lk));
		lk.l_type = F_WRLCK;
		if (fd == -1 || fcntl(fd, F_SETLKW, &lk) == -1)
			_exit(1);
		(void)!write(go[1], "x", 1);
		pause();
		_exit(0);
	}
	close(go[1]);
	(void)!read(go[0], &c, 1);
	close(go[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	r = record_sent(&ent, WHEN, &e);
	alarm(0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	failed(r, &e, ERR_IO, path, "mbox locked, a signal ends the wait");
	t_ok(strstr(e.text, "cannot lock") != NULL, "... says it could not "
	    "lock");
	s = slurp(path);
	t_ok(s != NULL && strlen(s) == before, "... and wrote nothing (%zu "
	    "bytes before, %zu after)", before, s != NULL ? strlen(s) : 0);
	free(s);

	/* A holder that never lets go: the copy gives up after the bound. */
	if (pipe(go) == -1)
		return;
	pid = fork();
	if (pid == 0) {
		fd = open(path, O_WRONLY | O_APPEND);
		memset(&lk, 0, sizeof(lk));
		lk.l_type = F_WRLCK;
		if (fd == -1 || fcntl(fd, F_SETLKW, &lk) == -1)
			_exit(1);
		(void)!write(go[1], "x", 1);
		pause();
		_exit(0);
	}
	close(go[1]);
	(void)!read(go[0], &c, 1);
	close(go[0]);
	record_lock_ms = 700;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = record_sent(&ent, WHEN, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	record_lock_ms = 30000;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	failed(r, &e, ERR_IO, path, "mbox locked for good: the copy gives up");
	t_ok(strstr(e.text, "held it for") != NULL, "... saying another "
	    "process held the lock (%s)", e.text);
	t_ok((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000 >= 600 && t1.tv_sec - t0.tv_sec < 5, "... after the "
	    "bound, not at once nor for ever");
	s = slurp(path);
	t_ok(s != NULL && strlen(s) == before, "... and wrote nothing");
	free(s);
	entry_free(&ent);
	free(path);
}

static void
test_path(void)
{
	char cwd[4096], *p, *want;

	p = record_path("/abs/Mail/");
	t_streq(p, "/abs/Mail/", "record_path: absolute, kept as given");
	free(p);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	p = record_path("Mail/");
	want = xasprintf("%s/Mail/", cwd);
	t_streq(p, want, "record_path: relative, from the current directory, "
	    "trailing / kept");
	free(p);
	free(want);
}

int
main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_path();
	test_due();
	test_mbox();
	test_maildir();
	test_failures();
	test_lock();
	rm_rf(top);
	return t_done();
}
