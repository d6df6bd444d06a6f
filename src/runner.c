/*
 * runner owns the automatic retry: the detached process that works a
 * queue at its backoff, and how a posthorn that queued a message makes
 * sure one exists (runner.h).
 *
 * One at most per queue: the runner holds flock(LOCK_EX) on
 * DIR/runner.lock for its whole life (its pid is written there for
 * people and tests) and a second one gives up at once.  Waking: the
 * runner keeps DIR/runner.fifo open for reading (O_RDWR, so it never sees
 * an end of file); a posthorn that queued something opens it for writing
 * without blocking and writes a byte, which fails with ENXIO exactly when
 * no runner reads it: then it starts one.  A runner about to exit first
 * closes the FIFO, then looks at the queue once more while it still holds
 * the lock: an entry queued before the close is seen by that last look,
 * one queued after it finds no reader and starts a runner, which waits
 * for the lock to be free... or, if the old one is still there, gives up
 * because the old one's last look saw the entry.  Either way some runner
 * sees every entry.
 *
 * Detaching: fork, setsid (a session and process group of its own, so
 * cron killing its process group, or a terminal hanging up, does not
 * reach it), fork again (not a session leader: it can never acquire a
 * controlling terminal), standard streams on /dev/null, every other
 * descriptor closed (an entry's flock must not outlive its owner), then
 * exec /proc/self/exe: the same binary, with nothing of the caller's
 * state but its environment.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "util/alloc.h"
#include "util/sig.h"

/* The longest single sleep: a changed clock is noticed within it. */
#define RUNNER_MAX_SLEEP	3600

static char *
path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* ---------------------------------------------------------- caller */

/* Starts a runner; the caller's process only waits for the first fork. */
static int
spawn(const char *dir, const char *conf)
{
	char *opt, *argv[5];
	pid_t pid, pid2;
	sigset_t none;
	long fd, maxfd;
	int st, null;

	opt = xasprintf("--be-queue-runner=%s", dir);
	argv[0] = (char *)"posthorn";
	argv[1] = opt;
	argv[2] = conf != NULL ? (char *)"-C" : NULL;
	argv[3] = (char *)conf;
	argv[4] = NULL;
	if ((pid = fork()) == -1) {
		free(opt);
		return -1;
	}
	if (pid == 0) {
		if (setsid() == -1)
			_exit(1);
		if ((pid2 = fork()) != 0)
			_exit(pid2 == -1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if ((conf == NULL || conf[0] == '/') && chdir("/") == -1)
			_exit(1);
		if ((null = open("/dev/null", O_RDWR)) == -1)
			_exit(1);
		if (dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
		    dup2(null, 2) == -1)
			_exit(1);
		maxfd = sysconf(_SC_OPEN_MAX);
		if (maxfd < 0 || maxfd > 65536)
			maxfd = 65536;
		for (fd = 3; fd < maxfd; fd++)
			close((int)fd);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free(opt);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return 0;
}

void
runner_ensure(const char *dir, const char *conf, int verbose)
{
	struct stat sb;
	char *fifo, *real;
	int fd;

	if ((real = realpath(dir, NULL)) == NULL)
		return;
	fifo = path_in(real, RUNNER_FIFO);
	fd = open(fifo, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	free(fifo);
	if (fd != -1) {
		if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
			if (write(fd, "q", 1) == -1) {
				/* EAGAIN: woken already. */
			}
			close(fd);
			free(real);
			return;
		}
		close(fd);
	}
	if (spawn(real, conf) == -1 && verbose)
		fprintf(stderr, "posthorn: cannot start a queue runner: %s; "
		    "posthorn -q retries the queue\n", strerror(errno));
	else if (verbose)
		fprintf(stderr, "posthorn: a queue runner retries %s\n", real);
	free(real);
}

/* ---------------------------------------------------------- runner */

/* The FIFO, made when missing, open for reading; -1 when none. */
static int
open_fifo(const char *dir)
{
	struct stat sb;
	char *path = path_in(dir, RUNNER_FIFO);
	int fd;

	if (mkfifo(path, 0600) == -1 && errno != EEXIST) {
		free(path);
		return -1;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISFIFO(sb.st_mode) ||
	    sb.st_uid != geteuid()) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
drain(int fd)
{
	char buf[256];

	while (fd != -1 && read(fd, buf, sizeof(buf)) > 0)
		;
}

int
runner_serve(const char *dir, runner_run_fn run, void *arg, int lifetime)
{
	struct pollfd pf[2];
	char *lock, pid[32];
	time_t deadline, next, now, wait;
	int lfd, fifo, n;

	lock = path_in(dir, RUNNER_LOCK);
	lfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(lock);
	if (lfd == -1)
		return 73;
	if (flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		/* Another runner works this queue. */
		close(lfd);
		return 0;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) == 0 && pwrite(lfd, pid, (size_t)n, 0) == -1) {
		/* Only for people: the lock is what counts. */
	}

	deadline = time(NULL) + (lifetime > 0 ? lifetime : 86400);
	fifo = open_fifo(dir);
	while (!sig_caught) {
		drain(fifo);
		next = run(arg);
		if (next == 0) {
			/* Nobody may wake us from now on; one more look
			   catches what came before (see the top). */
			if (fifo != -1)
				close(fifo);
			fifo = -1;
			next = run(arg);
			if (next == 0)
				break;
			fifo = open_fifo(dir);
		}
		if (next == -1 || sig_caught)
			break;
		now = time(NULL);
		if (now >= deadline)
			break;
		if (next > deadline)
			next = deadline;
		wait = next - now;
		if (wait < 1)
			wait = 1;
		if (wait > RUNNER_MAX_SLEEP)
			wait = RUNNER_MAX_SLEEP;
		pf[0].fd = fifo;
		pf[0].events = POLLIN;
		pf[1].fd = sig_fd;
		pf[1].events = POLLIN;
		/* A little past the second the entry is due. */
		(void)poll(pf, 2, (int)wait * 1000 + 200);
	}
	if (fifo != -1)
		close(fifo);
	if (ftruncate(lfd, 0) == -1) {
		/* The pid stays; the free lock says it is gone. */
	}
	close(lfd);
	return 0;
}
