/*
 * faultfs: an LD_PRELOAD shim that makes posthorn's file-system and
 * socket calls fail, or kills the process, at a chosen point, so that
 * tests/durability/run can check what every such point leaves behind
 * (SQLite's anomaly testing is the model).  It is built by the test
 * script itself (cc -shared -fPIC faultfs.c -ldl) and configured only
 * through the environment:
 *
 *	FAULTFS_ROOT=DIR	file operations count only under DIR (the
 *				test's directory); sockets count anywhere
 *	FAULTFS_OPS=a,b,...	the operations that count: mkdir, create
 *				(open with O_CREAT), write, fsync, rename,
 *				unlink (unlink and rmdir), send, connect;
 *				default all of them
 *	FAULTFS_TRACE=FILE	append "N op detail" for every counted call
 *	FAULTFS_FAIL_AT=N	the Nth counted call fails without effect,
 *	FAULTFS_ERRNO=NAME	with errno NAME (ENOSPC, EIO, EDQUOT, EROFS,
 *				EACCES; default EIO); with
 *	FAULTFS_STICKY=1	every counted call of the same operation
 *				after it fails too (a disk that stays full)
 *	FAULTFS_KILL_AT=N	SIGKILL before the Nth counted call, or
 *	FAULTFS_KILL_AFTER=1	just after it
 *	FAULTFS_KILL_SEND_BYTES=B  SIGKILL once B bytes in all have gone out
 *				through send() (the last send is cut short
 *				so that exactly B bytes went)
 *	FAULTFS_NOTIFY_FD=FD	write one byte to FD (a pipe the test
 *				reads) the first time that
 *	FAULTFS_NOTIFY_SEND_BYTES=B  poll() is called after B bytes were
 *				sent (the process now waits for the server;
 *	FAULTFS_NOTIFY_POLL=in|out  only a wait for input or for output),
 *	FAULTFS_NOTIFY_AFTER_DOT=1  poll() waits for input after a send that
 *				held the end of the data (CRLF.CRLF): the
 *				process waits for the reply to the message,
 *				or that
 *	FAULTFS_NOTIFY_READ0=K	read() on standard input is entered the
 *				Kth time, or poll() waits for input on it
 *				the Kth time (the process now waits for
 *				input; each way is counted by itself)
 *	FAULTFS_RAISE_AT_POLL=SIG  instead of notifying, the process sends
 *				itself signal number SIG at that moment, just
 *				before it calls poll(): the worst moment for
 *				a flag checked before the wait
 *	FAULTFS_SYSLOG=FILE	openlog/syslog/closelog append "ident
 *				option facility priority: message" lines to
 *				FILE instead of reaching /dev/log
 *
 * Counting is per process.  A call that does not count is never failed,
 * so logs, the configuration and standard error work; mkdir of a path
 * that exists is left to the kernel (EEXIST comes before ENOSPC).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

enum op {
	OP_MKDIR = 0, OP_CREATE, OP_WRITE, OP_FSYNC, OP_RENAME, OP_UNLINK,
	OP_SEND, OP_CONNECT, OP_N
};

static const char *const op_names[OP_N] = {
	"mkdir", "create", "write", "fsync", "rename", "unlink", "send",
	"connect"
};

static int		 inited;
static char		 root[PATH_MAX];
static size_t		 rootlen;
static int		 counted[OP_N];
static char		 trace[PATH_MAX];
static long		 fail_at, kill_at;
static int		 kill_after, sticky, fail_errno = EIO;
static int		 failed_op = -1;
static long		 n_calls;
static long long	 kill_send_bytes = -1, notify_send_bytes = -1;
static long long	 sent;
static int		 notify_fd = -1, notify_read0, read0_calls, notified;
static int		 poll0_calls;
static int		 notify_events, notify_dot, saw_dot, raise_sig;
static char		 syslog_file[PATH_MAX], syslog_ident[64] = "?";
static int		 syslog_option, syslog_facility = -1;

static long
envnum(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

static void
init(void)
{
	const char *v, *p;
	int i;

	if (inited)
		return;
	inited = 1;
	if ((v = getenv("FAULTFS_ROOT")) != NULL && *v != '\0' &&
	    realpath(v, root) != NULL)
		rootlen = strlen(root);
	v = getenv("FAULTFS_OPS");
	for (i = 0; i < OP_N; i++) {
		if (v == NULL || *v == '\0') {
			counted[i] = 1;
			continue;
		}
		for (p = v; (p = strstr(p, op_names[i])) != NULL; p++) {
			size_t n = strlen(op_names[i]);

			if ((p == v || p[-1] == ',') &&
			    (p[n] == ',' || p[n] == '\0')) {
				counted[i] = 1;
				break;
			}
		}
	}
	if ((v = getenv("FAULTFS_TRACE")) != NULL)
		snprintf(trace, sizeof(trace), "%s", v);
	fail_at = envnum("FAULTFS_FAIL_AT", 0);
	kill_at = envnum("FAULTFS_KILL_AT", 0);
	kill_after = (int)envnum("FAULTFS_KILL_AFTER", 0);
	sticky = (int)envnum("FAULTFS_STICKY", 0);
	kill_send_bytes = envnum("FAULTFS_KILL_SEND_BYTES", -1);
	notify_fd = (int)envnum("FAULTFS_NOTIFY_FD", -1);
	notify_send_bytes = envnum("FAULTFS_NOTIFY_SEND_BYTES", -1);
	notify_read0 = (int)envnum("FAULTFS_NOTIFY_READ0", 0);
	notify_dot = (int)envnum("FAULTFS_NOTIFY_AFTER_DOT", 0);
	raise_sig = (int)envnum("FAULTFS_RAISE_AT_POLL", 0);
	if ((v = getenv("FAULTFS_NOTIFY_POLL")) != NULL)
		notify_events = strcmp(v, "in") == 0 ? POLLIN :
		    strcmp(v, "out") == 0 ? POLLOUT : 0;
	if ((v = getenv("FAULTFS_SYSLOG")) != NULL)
		snprintf(syslog_file, sizeof(syslog_file), "%s", v);
	if ((v = getenv("FAULTFS_ERRNO")) != NULL) {
		if (strcmp(v, "ENOSPC") == 0)
			fail_errno = ENOSPC;
		else if (strcmp(v, "EDQUOT") == 0)
			fail_errno = EDQUOT;
		else if (strcmp(v, "EROFS") == 0)
			fail_errno = EROFS;
		else if (strcmp(v, "EACCES") == 0)
			fail_errno = EACCES;
		else
			fail_errno = EIO;
	}
}

static void *
real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		static const char msg[] = "faultfs: a symbol is missing\n";

		syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		syscall(SYS_kill, syscall(SYS_getpid), SIGABRT);
	}
	return f;
}

/* Absolute form of path (relative to the cwd), without resolving links. */
static void
absolute(const char *path, char *out, size_t n)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s/%s", cwd, path);
}

static int
under_root(const char *abs)
{
	return rootlen > 0 && strncmp(abs, root, rootlen) == 0 &&
	    (abs[rootlen] == '/' || abs[rootlen] == '\0');
}

static int
path_counts(const char *path, char *abs, size_t n)
{
	absolute(path, abs, n);
	return under_root(abs);
}

static int
fd_counts(int fd, char *abs, size_t n)
{
	char link[64];
	ssize_t r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	r = readlink(link, abs, n - 1);
	if (r <= 0)
		return 0;
	abs[r] = '\0';
	return under_root(abs);
}

static void
trace_line(long nth, enum op op, const char *detail)
{
	char line[PATH_MAX + 64];
	int fd, len;

	if (trace[0] == '\0')
		return;
	len = snprintf(line, sizeof(line), "%ld %s %s\n", nth, op_names[op],
	    detail);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	fd = (int)syscall(SYS_open, trace, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	syscall(SYS_write, fd, line, (size_t)len);
	syscall(SYS_close, fd);
}

static void
die(void)
{
	syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
}

/*
 * Decides the fate of one counted call: 0 go on, 1 fail it (errno set).
 * *kill_later is set when the process must die right after the call.
 */
static int
before(enum op op, const char *detail, int *kill_later)
{
	long nth;

	*kill_later = 0;
	if (!counted[op])
		return 0;
	nth = ++n_calls;
	trace_line(nth, op, detail);
	if (kill_at > 0 && nth == kill_at) {
		if (!kill_after)
			die();
		*kill_later = 1;
	}
	if ((fail_at > 0 && nth == fail_at) ||
	    (sticky && failed_op == (int)op)) {
		failed_op = (int)op;
		errno = fail_errno;
		return 1;
	}
	return 0;
}

#define GUARD(op, detail, failval) do {				\
	int kill_later_;					\
	if (before(op, detail, &kill_later_)) {			\
		if (kill_later_)				\
			die();					\
		return failval;					\
	}							\
	must_die = kill_later_;					\
} while (0)

#define AFTER() do {						\
	if (must_die) {						\
		int saved_ = errno;				\
		die();						\
		errno = saved_;					\
	}							\
} while (0)

/* ------------------------------------------------------ file system */

int
mkdir(const char *path, mode_t mode)
{
	static int (*f)(const char *, mode_t);
	char abs[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("mkdir");
	if (path_counts(path, abs, sizeof(abs)) && access(path, F_OK) == -1)
		GUARD(OP_MKDIR, abs, -1);
	r = f(path, mode);
	AFTER();
	return r;
}

static int
do_open(const char *name, int dirfd, const char *path, int flags,
    mode_t mode)
{
	static int (*fo)(const char *, int, ...);
	static int (*fo64)(const char *, int, ...);
	static int (*fat)(int, const char *, int, ...);
	static int (*fat64)(int, const char *, int, ...);
	char abs[PATH_MAX];
	int r, must_die = 0;

	init();
	if ((flags & O_CREAT) && (dirfd == AT_FDCWD || path[0] == '/') &&
	    path_counts(path, abs, sizeof(abs)))
		GUARD(OP_CREATE, abs, -1);
	if (strcmp(name, "open") == 0) {
		if (fo == NULL)
			fo = real("open");
		r = fo(path, flags, mode);
	} else if (strcmp(name, "open64") == 0) {
		if (fo64 == NULL)
			fo64 = real("open64");
		r = fo64(path, flags, mode);
	} else if (strcmp(name, "openat") == 0) {
		if (fat == NULL)
			fat = real("openat");
		r = fat(dirfd, path, flags, mode);
	} else {
		if (fat64 == NULL)
			fat64 = real("openat64");
		r = fat64(dirfd, path, flags, mode);
	}
	AFTER();
	return r;
}

static mode_t
open_mode(int flags, va_list ap)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		return (mode_t)va_arg(ap, int);
	return 0;
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = open_mode(flags, ap);
	va_end(ap);
	return do_open("open", AT_FDCWD, path, flags, m);
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = open_mode(flags, ap);
	va_end(ap);
	return do_open("open64", AT_FDCWD, path, flags, m);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = open_mode(flags, ap);
	va_end(ap);
	return do_open("openat", dirfd, path, flags, m);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = open_mode(flags, ap);
	va_end(ap);
	return do_open("openat64", dirfd, path, flags, m);
}

/* What counts as a file write: a descriptor open under the root. */
static int
write_counts(int fd, char *abs, size_t n)
{
	struct stat st;

	if (rootlen == 0 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	return fd_counts(fd, abs, n);
}

ssize_t
write(int fd, const void *p, size_t n)
{
	static ssize_t (*f)(int, const void *, size_t);
	char abs[PATH_MAX];
	ssize_t r;
	int must_die = 0;

	init();
	if (f == NULL)
		f = real("write");
	if (write_counts(fd, abs, sizeof(abs)))
		GUARD(OP_WRITE, abs, -1);
	r = f(fd, p, n);
	AFTER();
	return r;
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	static ssize_t (*f)(int, const void *, size_t, off_t);
	char abs[PATH_MAX];
	ssize_t r;
	int must_die = 0;

	init();
	if (f == NULL)
		f = real("pwrite");
	if (write_counts(fd, abs, sizeof(abs)))
		GUARD(OP_WRITE, abs, -1);
	r = f(fd, p, n, off);
	AFTER();
	return r;
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	static ssize_t (*f)(int, const void *, size_t, off_t);
	char abs[PATH_MAX];
	ssize_t r;
	int must_die = 0;

	init();
	if (f == NULL)
		f = real("pwrite64");
	if (write_counts(fd, abs, sizeof(abs)))
		GUARD(OP_WRITE, abs, -1);
	r = f(fd, p, n, off);
	AFTER();
	return r;
}

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	static ssize_t (*f)(int, const struct iovec *, int);
	char abs[PATH_MAX];
	ssize_t r;
	int must_die = 0;

	init();
	if (f == NULL)
		f = real("writev");
	if (write_counts(fd, abs, sizeof(abs)))
		GUARD(OP_WRITE, abs, -1);
	r = f(fd, iov, iovcnt);
	AFTER();
	return r;
}

int
fsync(int fd)
{
	static int (*f)(int);
	char abs[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("fsync");
	if (fd_counts(fd, abs, sizeof(abs)))
		GUARD(OP_FSYNC, abs, -1);
	r = f(fd);
	AFTER();
	return r;
}

int
fdatasync(int fd)
{
	static int (*f)(int);
	char abs[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("fdatasync");
	if (fd_counts(fd, abs, sizeof(abs)))
		GUARD(OP_FSYNC, abs, -1);
	r = f(fd);
	AFTER();
	return r;
}

int
rename(const char *from, const char *to)
{
	static int (*f)(const char *, const char *);
	char abs[PATH_MAX], abs2[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("rename");
	if (path_counts(from, abs, sizeof(abs)) ||
	    path_counts(to, abs2, sizeof(abs2)))
		GUARD(OP_RENAME, abs, -1);
	r = f(from, to);
	AFTER();
	return r;
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	static int (*f)(int, const char *, int, const char *);
	char abs[PATH_MAX], abs2[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("renameat");
	if ((fromfd == AT_FDCWD || from[0] == '/') &&
	    (path_counts(from, abs, sizeof(abs)) ||
	    path_counts(to, abs2, sizeof(abs2))))
		GUARD(OP_RENAME, abs, -1);
	r = f(fromfd, from, tofd, to);
	AFTER();
	return r;
}

int
unlink(const char *path)
{
	static int (*f)(const char *);
	char abs[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("unlink");
	if (path_counts(path, abs, sizeof(abs)))
		GUARD(OP_UNLINK, abs, -1);
	r = f(path);
	AFTER();
	return r;
}

int
rmdir(const char *path)
{
	static int (*f)(const char *);
	char abs[PATH_MAX];
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("rmdir");
	if (path_counts(path, abs, sizeof(abs)))
		GUARD(OP_UNLINK, abs, -1);
	r = f(path);
	AFTER();
	return r;
}

/* ---------------------------------------------------------- sockets */

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*f)(int, const struct sockaddr *, socklen_t);
	int r, must_die = 0;

	init();
	if (f == NULL)
		f = real("connect");
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6))
		GUARD(OP_CONNECT, "tcp", -1);
	r = f(fd, sa, len);
	AFTER();
	return r;
}

static ssize_t
do_send(int fd, const void *p, size_t n, int flags, int use_sendto,
    const struct sockaddr *to, socklen_t tolen)
{
	static ssize_t (*fs)(int, const void *, size_t, int);
	static ssize_t (*ft)(int, const void *, size_t, int,
	    const struct sockaddr *, socklen_t);
	char detail[64];
	ssize_t r;
	int must_die = 0, cut = 0;

	init();
	snprintf(detail, sizeof(detail), "%zu bytes after %lld", n, sent);
	GUARD(OP_SEND, detail, -1);
	if (kill_send_bytes >= 0 && sent + (long long)n >= kill_send_bytes) {
		n = (size_t)(kill_send_bytes - sent);
		cut = 1;
		if (n == 0)
			die();
	}
	if (use_sendto) {
		if (ft == NULL)
			ft = real("sendto");
		r = ft(fd, p, n, flags, to, tolen);
	} else {
		if (fs == NULL)
			fs = real("send");
		r = fs(fd, p, n, flags);
	}
	if (r > 0) {
		sent += r;
		if (memmem(p, (size_t)r, "\r\n.\r\n", 5) != NULL)
			saw_dot = 1;
	}
	if (cut && sent >= kill_send_bytes)
		die();
	AFTER();
	return r;
}

ssize_t
send(int fd, const void *p, size_t n, int flags)
{
	return do_send(fd, p, n, flags, 0, NULL, 0);
}

ssize_t
sendto(int fd, const void *p, size_t n, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	return do_send(fd, p, n, flags, 1, to, tolen);
}

/* ------------------------------------------------------ notification */

static void
notify(void)
{
	char c = '!';

	if (notified || (notify_fd < 0 && raise_sig == 0))
		return;
	notified = 1;
	if (raise_sig > 0)
		syscall(SYS_kill, syscall(SYS_getpid), raise_sig);
	else
		syscall(SYS_write, notify_fd, &c, 1);
}

int
poll(struct pollfd *fds, nfds_t n, int ms)
{
	static int (*f)(struct pollfd *, nfds_t, int);

	init();
	if (f == NULL)
		f = real("poll");
	/* Waits for the server; posthorn also polls standard input
	   (beside its signal pipe) while it reads the message. */
	if (notify_send_bytes >= 0 && sent >= notify_send_bytes && n > 0 &&
	    fds[0].fd != 0 &&
	    (notify_events == 0 || (fds[0].events & notify_events)))
		notify();
	if (notify_dot && saw_dot && n > 0 && fds[0].fd != 0 &&
	    (fds[0].events & POLLIN))
		notify();
	if (notify_read0 > 0 && n > 0 && fds[0].fd == 0 &&
	    (fds[0].events & POLLIN) && ++poll0_calls == notify_read0)
		notify();
	return f(fds, n, ms);
}

ssize_t
read(int fd, void *p, size_t n)
{
	static ssize_t (*f)(int, void *, size_t);

	init();
	if (f == NULL)
		f = real("read");
	if (fd == 0 && notify_read0 > 0 && ++read0_calls == notify_read0)
		notify();
	return f(fd, p, n);
}

/* ----------------------------------------------------------- syslog */

void
openlog(const char *ident, int option, int facility)
{
	static void (*f)(const char *, int, int);

	init();
	if (syslog_file[0] == '\0') {
		if (f == NULL)
			f = real("openlog");
		f(ident, option, facility);
		return;
	}
	snprintf(syslog_ident, sizeof(syslog_ident), "%s",
	    ident != NULL ? ident : "?");
	syslog_option = option;
	syslog_facility = facility;
}

void
closelog(void)
{
	static void (*f)(void);

	init();
	if (syslog_file[0] == '\0') {
		if (f == NULL)
			f = real("closelog");
		f();
	}
}

void
vsyslog(int prio, const char *fmt, va_list ap)
{
	static void (*f)(int, const char *, va_list);
	char line[8192];
	int fd, n, m;

	init();
	if (syslog_file[0] == '\0') {
		if (f == NULL)
			f = real("vsyslog");
		f(prio, fmt, ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s %d %d %d: ", syslog_ident,
	    syslog_option, syslog_facility < 0 ? (prio & LOG_FACMASK) :
	    syslog_facility, prio & LOG_PRIMASK);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += (size_t)m < sizeof(line) - (size_t)n - 1 ? m :
	    (int)(sizeof(line) - (size_t)n - 2);
	line[n++] = '\n';
	fd = (int)syscall(SYS_open, syslog_file, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	syscall(SYS_write, fd, line, (size_t)n);
	syscall(SYS_close, fd);
}

void
syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

void
__syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

void
__vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(prio, fmt, ap);
}
