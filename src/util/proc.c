/*
 * proc owns the commands posthorn runs: the fork, the process group, the
 * terminal hand-over, the wait on output, exit, deadline and signals in
 * one poll(2), and the killing of the whole group when the wait is given
 * up.  The exit is watched through a pidfd (Linux 5.3), or, without one,
 * by looking every 100 ms; either way the process is only reaped after its
 * group was killed, so its number cannot have been reused meanwhile.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/proc.h"
#include "util/sig.h"

#define PROC_GRACE_MS	2000	/* SIGTERM to SIGKILL */
#define PROC_TICK_MS	100	/* without a pidfd */

static long long
proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * After fork, for both kinds of child: the signals in dfl back to their
 * defaults, a process group of its own, and the terminal tty (unless -1)
 * given to that group (a background group may take it only with SIGTTOU
 * blocked).  Only async-signal-safe calls.
 */
static void
child_own_group(const int *dfl, size_t n, int tty)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < n; i++)
		sigaction(dfl[i], &sa, NULL);
	setpgid(0, 0);
	if (tty != -1) {
		sigemptyset(&set);
		sigaddset(&set, SIGTTOU);
		sigprocmask(SIG_BLOCK, &set, NULL);
		tcsetpgrp(tty, getpid());
	}
}

/* Nothing of posthorn's (the connection, the queue) is inherited:
   every descriptor above 2 closed.  Async-signal-safe. */
static void
close_inherited(void)
{
	int fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == -1)
#endif
		for (fd = 3; fd < 1024; fd++)
			close(fd);
}

/* After fork: becomes the command.  Only async-signal-safe calls. */
static void
proc_child(const char *cmd, int out, int devnull, int tty)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGTTOU,
	    SIGTTIN, SIGCHLD };
	sigset_t set;

	child_own_group(dfl, sizeof(dfl) / sizeof(dfl[0]), tty);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	if (dup2(devnull, 0) == -1 || dup2(out, 1) == -1)
		_exit(127);
	close_inherited();
	/* Run setgid (privsep: a passwordeval of the system file), the shell
	   keeps the group with -p; the kernel keeps the child undumpable
	   while its groups differ. */
	if (getegid() != getgid())
		execl("/bin/sh", "sh", "-p", "-c", cmd, (char *)NULL);
	else
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* 1 when the process has ended (it is not reaped). */
static int
proc_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid == pid;
}

/* Waits up to ms for the process to end; 1 when it did. */
static int
proc_wait_end(pid_t pid, int pidfd, int ms)
{
	long long end = proc_now_ms() + ms;
	struct pollfd p;
	long long left;

	while (!proc_ended(pid)) {
		if ((left = end - proc_now_ms()) <= 0)
			return 0;
		if (pidfd != -1) {
			p.fd = pidfd;
			p.events = POLLIN;
			(void)poll(&p, 1, (int)left);
		} else
			(void)poll(NULL, 0, left < PROC_TICK_MS ? (int)left :
			    PROC_TICK_MS);
	}
	return 1;
}

/* Gives the terminal back to posthorn's group. */
static void
proc_take_tty(int tty)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTTOU);
	sigprocmask(SIG_BLOCK, &set, &old);
	tcsetpgrp(tty, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
proc_run(const char *cmd, int timeout, struct buf *out, int *status)
{
	char chunk[4096];
	struct pollfd p[3];
	long long deadline, left;
	int fds[2], devnull, tty, pidfd, st = 0, why = 0, eof = 0, ended = 0;
	int np, ip, is, ipid, wait_ms;
	sigset_t set, old;
	ssize_t n;
	pid_t pid;

	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		why = errno;
		close(devnull);
		errno = why;
		return -1;
	}
	/* The terminal is ours to lend only when we are its foreground. */
	tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty != -1 && tcgetpgrp(tty) != getpgrp()) {
		close(tty);
		tty = -1;
	}
	if ((pid = fork()) == -1) {
		why = errno;
		close(fds[0]);
		close(fds[1]);
		close(devnull);
		if (tty != -1)
			close(tty);
		errno = why;
		return -1;
	}
	if (pid == 0)
		proc_child(cmd, fds[1], devnull, tty);
	/* Both sides set the group, so neither depends on who runs first. */
	(void)setpgid(pid, pid);
	if (tty != -1) {
		sigemptyset(&set);
		sigaddset(&set, SIGTTOU);
		sigprocmask(SIG_BLOCK, &set, &old);
		tcsetpgrp(tty, pid);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	close(fds[1]);
	close(devnull);
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	pidfd = -1;
#endif
	deadline = timeout > 0 ? proc_now_ms() + (long long)timeout * 1000 :
	    -1;
	while (!(eof && ended)) {
		if (sig_caught) {
			why = EINTR;
			break;
		}
		wait_ms = -1;
		if (deadline != -1) {
			if ((left = deadline - proc_now_ms()) <= 0) {
				why = ETIMEDOUT;
				break;
			}
			wait_ms = left > 60000 ? 60000 : (int)left;
		}
		if (!ended && pidfd == -1 &&
		    (wait_ms == -1 || wait_ms > PROC_TICK_MS))
			wait_ms = PROC_TICK_MS;
		np = 0;
		ip = is = ipid = -1;
		if (!eof) {
			p[np].fd = fds[0];
			p[np].events = POLLIN;
			ip = np++;
		}
		if (!ended && pidfd != -1) {
			p[np].fd = pidfd;
			p[np].events = POLLIN;
			ipid = np++;
		}
		if (sig_fd != -1) {
			p[np].fd = sig_fd;
			p[np].events = POLLIN;
			is = np++;
		}
		if (poll(p, (nfds_t)np, wait_ms) == -1) {
			if (errno == EINTR)
				continue;
			why = errno;
			break;
		}
		if (ip != -1 && p[ip].revents != 0) {
			n = read(fds[0], chunk, sizeof(chunk));
			if (n > 0 && buf_add(out, chunk, (size_t)n) == -1) {
				why = EFBIG;
				break;
			}
			if (n == 0 || (n == -1 && errno != EINTR &&
			    errno != EAGAIN))
				eof = 1;
		}
		/* A byte without a signal of ours came from the child
		   before it dropped posthorn's handlers: not a signal. */
		if (is != -1 && p[is].revents != 0 && !sig_caught)
			(void)!read(sig_fd, chunk, 1);
		if (!ended && (ipid == -1 || p[ipid].revents != 0) &&
		    proc_ended(pid)) {
			ended = 1;
			/* What it left running goes with it. */
			kill(-pid, SIGKILL);
		}
	}
	wipe(chunk, sizeof(chunk));
	if (why != 0) {
		/* TERM lets it tidy up; KILL takes what ignored TERM. */
		kill(-pid, SIGTERM);
		(void)proc_wait_end(pid, pidfd, PROC_GRACE_MS);
		kill(-pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (pidfd != -1)
		close(pidfd);
	close(fds[0]);
	if (tty != -1) {
		proc_take_tty(tty);
		close(tty);
	}
	if (why != 0) {
		errno = why;
		return -1;
	}
	*status = st;
	/* Ctrl-C went to the command, which had the terminal. */
	if (tty != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGINT)
		raise(SIGINT);
	return 0;
}

/* After fork: becomes cmd "$1" on the terminal.  Async-signal-safe. */
static void
proc_child_attached(const char *cmd, const char *arg, int tty, int devnull)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGTTOU,
	    SIGTTIN, SIGCHLD, SIGQUIT, SIGTSTP };
	sigset_t set;

	child_own_group(dfl, sizeof(dfl) / sizeof(dfl[0]), tty);
	if (tty != -1) {
		if (dup2(tty, 0) == -1 || dup2(tty, 1) == -1 ||
		    dup2(tty, 2) == -1)
			_exit(127);
	} else if (dup2(devnull, 0) == -1 || dup2(2, 1) == -1)
		_exit(127);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	close_inherited();
	/* "$1": the file name is never parsed by the shell. */
	execl("/bin/sh", "sh", "-c", cmd, "sh", arg, (char *)NULL);
	_exit(127);
}

int
proc_run_attached(const char *cmd, const char *arg, int *status)
{
	char *line;
	sigset_t set, old;
	int tty, devnull, st = 0, why = 0;
	pid_t pid;

	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty != -1 && tcgetpgrp(tty) != getpgrp()) {
		close(tty);
		tty = -1;
	}
	line = xasprintf("%s \"$1\"", cmd);
	if ((pid = fork()) == -1) {
		why = errno;
		free(line);
		close(devnull);
		if (tty != -1)
			close(tty);
		errno = why;
		return -1;
	}
	if (pid == 0)
		proc_child_attached(line, arg, tty, devnull);
	free(line);
	close(devnull);
	(void)setpgid(pid, pid);
	if (tty != -1) {
		sigemptyset(&set);
		sigaddset(&set, SIGTTOU);
		sigprocmask(SIG_BLOCK, &set, &old);
		tcsetpgrp(tty, pid);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	for (;;) {
		/* Before each wait, not only after an EINTR: a signal caught
		   during the fork or between two waits interrupts nothing. */
		if (sig_caught && sig_caught != SIGINT) {
			why = EINTR;
			kill(-pid, SIGTERM);
			(void)proc_wait_end(pid, -1, PROC_GRACE_MS);
			kill(-pid, SIGKILL);
			while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
				;
			break;
		}
		if (waitpid(pid, &st, 0) == pid)
			break;
		if (errno != EINTR) {
			why = errno;
			break;
		}
	}
	if (tty != -1) {
		proc_take_tty(tty);
		close(tty);
	}
	if (why != 0) {
		errno = why;
		return -1;
	}
	*status = st;
	return 0;
}
