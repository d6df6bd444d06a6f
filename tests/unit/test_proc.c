/*
 * test_proc: util/proc as sig.h and proc.h promise it, beyond the basics
 * test_util checks: a command that cannot be started leaves no descriptor
 * behind; on a terminal (a pty here, posthorn the session's foreground)
 * the command's group gets the terminal and posthorn takes it back, and a
 * Ctrl-C that killed the command is raised again in posthorn; in the
 * background the terminal is left alone; a SIGTERM during an attached
 * command (the editor) kills its group, a SIGINT does not.
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
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/proc.h"
#include "util/sig.h"
#include "t.h"

static int
count_fds(void)
{
	struct dirent *d;
	DIR *dp = opendir("/proc/self/fd");
	int n = 0;

	if (dp == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dp);
	return n - 1;	/* the directory's own */
}

/* No descriptor for the pipe: -1 with EMFILE, nothing leaked, no run. */
static void
test_no_fd(void)
{
	struct rlimit rl, old;
	struct buf b;
	int before, after, r, r2, saved, saved2, st, fd, fill[64], n = 0;

	buf_init(&b, 0);
	before = count_fds();
	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = 32;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (n < 64 && (fd = dup(0)) != -1)
		fill[n++] = fd;
	/* One left: /dev/null opens, the pipe cannot. */
	close(fill[--n]);
	errno = 0;
	r = proc_run("echo ran", 10, &b, &st);
	saved = errno;
	/* None left: not even /dev/null for the attached command. */
	fd = dup(0);
	errno = 0;
	r2 = proc_run_attached("echo", "ran", &st);
	saved2 = errno;
	close(fd);
	while (n > 0)
		close(fill[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	after = count_fds();
	t_ok(r == -1 && saved == EMFILE && b.len == 0, "proc_run without a "
	    "descriptor for the pipe: -1, EMFILE, nothing run");
	t_ok(r2 == -1 && saved2 == EMFILE, "proc_run_attached without one: "
	    "-1, EMFILE");
	t_inteq(after, before, "... and no descriptor leaked");
	buf_release(&b);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* SIGTERM while the editor runs kills its group; SIGINT is its own. */
static void
test_attached_signals(void)
{
	struct timespec t0, t1;
	char pidfile[64];
	int r, st = -1, saved;

	/* Where the command says which process it started. */
	snprintf(pidfile, sizeof(pidfile), "/tmp/posthorn-test-proc.%ld",
	    (long)getpid());
	sig_install();
	sig_caught = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The sleep lets posthorn reach its wait; the command's child (a
	   sleep in its group) must go with it. */
	r = proc_run_attached("sleep 30 & echo $! >\"$1\"; sleep 1; "
	    "kill -TERM $PPID; wait; :", pidfile, &st);
	saved = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		FILE *f = fopen(pidfile, "r");
		char path[64], state = '?', buf[256];
		long pid = 0;
		int i;

		if (f != NULL) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		unlink(pidfile);
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		/* Gone, or a zombie waiting for init: not running. */
		for (i = 0; i < 50; i++) {
			state = 'X';
			if ((f = fopen(path, "r")) != NULL) {
				if (fgets(buf, sizeof(buf), f) != NULL &&
				    strrchr(buf, ')') != NULL)
					state = strrchr(buf, ')')[2];
				fclose(f);
			}
			if (state == 'X' || state == 'Z')
				break;
			usleep(100 * 1000);
		}
		t_ok(pid > 0 && (state == 'X' || state == 'Z'), "... and what "
		    "it started in its group is killed too (%ld: %c)", pid,
		    state);
	}
	t_ok(r == -1 && saved == EINTR && sig_caught == SIGTERM,
	    "proc_run_attached: SIGTERM to posthorn ends it (-1, EINTR)");
	t_ok(t1.tv_sec - t0.tv_sec < 10, "... at once, the command killed "
	    "(%ld s)", (long)(t1.tv_sec - t0.tv_sec));
	/* A SIGTERM caught just before the wait began (as during the fork):
	   the wait must not start, nor last the editor's whole session. */
	sig_caught = SIGTERM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = proc_run_attached("exec sleep 30;", "file", &st);
	saved = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_ok(r == -1 && saved == EINTR && t1.tv_sec - t0.tv_sec < 10,
	    "proc_run_attached: a SIGTERM caught before the wait ends it too "
	    "(%ld s)", (long)(t1.tv_sec - t0.tv_sec));
	sig_caught = 0;
	r = proc_run_attached("kill -INT $PPID; sleep 1; exit 5", "file",
	    &st);
	t_ok(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 5 &&
	    sig_caught == SIGINT, "proc_run_attached: a SIGINT does not end "
	    "the wait: the command's own status");
	sig_caught = 0;
	/* A signal posthorn does not catch (EINTR, then the wait again). */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
		r = proc_run_attached("sleep 2; exit 4", "file", &st);
		alarm(0);
		t_ok(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 4,
		    "proc_run_attached: another signal does not end the wait");
	}
}

/* Results from the pty side: one line per check, "1 text" or "0 text". */
static FILE *report;

static void
say(int ok, const char *text)
{
	fprintf(report, "%d %s\n", ok, text);
	fflush(report);
}

/* In a session whose foreground is us, on the pty. */
static void
on_terminal(int tty)
{
	struct buf b;
	long pgid = 0, tpgid = 0;
	int r, st = -1, fd;
	pid_t pid;

	buf_init(&b, 0);
	r = proc_run("set -- $(cat /proc/$$/stat); echo $5 $8", 10, &b, &st);
	sscanf(buf_str(&b), "%ld %ld", &pgid, &tpgid);
	say(r == 0 && pgid > 0 && pgid == tpgid && pgid != (long)getpgrp(),
	    "on a terminal: the command's own group has the terminal");
	say(tcgetpgrp(tty) == getpgrp(), "... and posthorn takes it back");
	buf_reset(&b);
	sig_install();
	sig_caught = 0;
	r = proc_run("kill -INT $$", 10, &b, &st);
	say(r == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGINT &&
	    sig_caught == SIGINT, "a Ctrl-C that killed the command is "
	    "raised in posthorn");
	sig_caught = 0;
	say(tcgetpgrp(tty) == getpgrp(), "... the terminal is posthorn's "
	    "again");
	/* The editor: the terminal as its standard input, output, error
	   and foreground, the file name one word. */
	r = proc_run_attached("set -- \"$1\" $(cat /proc/$$/stat); "
	    "test -t 0 && test -t 1 && test -t 2 && test \"$1\" = 'a b;c' "
	    "&& test $6 = $9 && exit 7; exit 1;", "a b;c", &st);
	say(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7, "attached on a "
	    "terminal: the command has it (0, 1, 2, the foreground), the "
	    "file name is one word");
	say(tcgetpgrp(tty) == getpgrp(), "... and posthorn takes it back");
	/* posthorn in the background of the same terminal. */
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		buf_reset(&b);
		r = proc_run("set -- $(cat /proc/$$/stat); echo $5 $8", 10,
		    &b, &st);
		pgid = tpgid = 0;
		sscanf(buf_str(&b), "%ld %ld", &pgid, &tpgid);
		say(r == 0 && WIFEXITED(st) && pgid > 0 && tpgid ==
		    (long)getsid(0), "in the background: the command runs, "
		    "the terminal stays with the foreground");
		r = proc_run_attached("exit 3;", "x", &st);
		say(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3 &&
		    tcgetpgrp(tty) == getsid(0), "in the background: an "
		    "attached command runs, the terminal left alone");
		/* exit, not _exit: the coverage counters are written then. */
		exit(0);
	}
	waitpid(pid, &st, 0);
	fd = st == 0;
	say(fd, "the background part ended");
	buf_release(&b);
}

static void
test_terminal(void)
{
	char line[512], *name;
	int master, res[2], tty, st;
	FILE *in;
	pid_t pid;

	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) == -1 ||
	    grantpt(master) == -1 || unlockpt(master) == -1 ||
	    (name = ptsname(master)) == NULL || pipe(res) == -1) {
		t_diag("skipped: no pty");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(res[0]);
		report = fdopen(res[1], "w");
		if (setsid() == -1 || (tty = open(name, O_RDWR)) == -1) {
			say(0, "a session on the pty");
			_exit(1);
		}
		on_terminal(tty);
		fclose(report);
		exit(0);
	}
	close(res[1]);
	in = fdopen(res[0], "r");
	while (fgets(line, sizeof(line), in) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		t_ok(line[0] == '1', "%s", line + 2);
	}
	fclose(in);
	waitpid(pid, &st, 0);
	t_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the pty session ended "
	    "normally");
	close(master);
}

int
main(void)
{
	test_no_fd();
	test_terminal();
	test_attached_signals();
	return t_done();
}
