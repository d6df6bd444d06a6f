/*
 * test_secmem: the process protections for secrets (util/secmem) and the
 * random bytes behind ids and nonces (util/rand), including what each
 * does when the kernel refuses it.  A refusal is made real in a child
 * process with a seccomp filter that fails one system call with a given
 * errno (the child reports by its exit status); where seccomp is not
 * available those checks are skipped, not passed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "util/rand.h"
#include "util/secmem.h"
#include "t.h"

#if defined(__x86_64__)
#define T_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define T_ARCH	AUDIT_ARCH_AARCH64
#endif

/*
 * Makes the system calls nr1 and nr2 (-1: none) fail with err in this
 * process, for good; when fd >= 0, only calls whose first argument is fd.
 * 0, or -1 when seccomp is not available here.
 */
static int
t_refuse(long nr1, long nr2, int fd, int err)
{
#ifdef T_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr1, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr2, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fd,
		    2, fd < 0 ? 2 : 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
#else
	(void)nr1; (void)nr2; (void)fd; (void)err;
	return -1;
#endif
}

/* Exit statuses of the children: 0 as expected, 2 no seccomp here. */
#define T_NOSECCOMP	2

/* Runs fn in a child; its exit status, or -1 when it did not exit. */
static int
t_child(int (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		exit(fn());	/* exit, not _exit: coverage data is written */
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
t_child_ok(int (*fn)(void), const char *what)
{
	int r = t_child(fn);

	if (r == T_NOSECCOMP) {
		printf("ok %d - # SKIP no seccomp here: %s\n", ++t_count, what);
		return;
	}
	t_inteq(r, 0, "%s", what);
}

static int
t_core_limit_zero(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
	    rl.rlim_max == 0;
}

/* prctl refused: -1 with its errno, and the core limit is still 0. */
static int
child_prctl_refused(void)
{
	int r;

	if (t_refuse(SYS_prctl, -1, -1, EPERM) == -1)
		return T_NOSECCOMP;
	r = secmem_protect();
	if (r != -1 || errno != EPERM)
		return 10;
	if (!t_core_limit_zero())
		return 11;
	if (!secmem_protected())
		return 12;
	return 0;
}

/* setrlimit refused: -1 with its errno, and still not dumpable. */
static int
child_rlimit_refused(void)
{
	int r;

	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		return 13;
	if (t_refuse(SYS_setrlimit, SYS_prlimit64, -1, EACCES) == -1)
		return T_NOSECCOMP;
	r = secmem_protect();
	if (r != -1 || errno != EACCES)
		return 10;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 11;
	return 0;
}

static void
test_secmem(void)
{
	t_child_ok(child_prctl_refused, "secmem_protect: prctl refused -> -1 "
	    "EPERM, core limit still 0");
	t_child_ok(child_rlimit_refused, "secmem_protect: setrlimit refused "
	    "-> -1 EACCES, still not dumpable");

	t_inteq(secmem_protected(), 0, "secmem_protected: 0 before");
	t_inteq(secmem_protect(), 0, "secmem_protect: 0");
	t_inteq(secmem_protected(), 1, "secmem_protected: 1 after");
	t_inteq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0,
	    "secmem_protect: the process is not dumpable");
	t_ok(t_core_limit_zero(), "secmem_protect: core size limit 0");
	t_inteq(secmem_protect(), 0, "secmem_protect: a second call is 0");
}

/* 64 bytes from rand_bytes that are not all one value, twice, differing. */
static int
t_rand_works(void)
{
	unsigned char a[64], b[64];
	size_t i;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	if (rand_bytes(a, sizeof(a)) != 0 || rand_bytes(b, sizeof(b)) != 0)
		return 0;
	for (i = 1; i < sizeof(a); i++)
		if (a[i] != a[0])
			break;
	return i < sizeof(a) && memcmp(a, b, sizeof(a)) != 0;
}

/* No getrandom (an old kernel, a sandbox): /dev/urandom serves. */
static int
child_no_getrandom(void)
{
	char id[17];

#ifndef SYS_getrandom
	return T_NOSECCOMP;
#else
	if (t_refuse(SYS_getrandom, -1, -1, ENOSYS) == -1)
		return T_NOSECCOMP;
	if (!t_rand_works())
		return 10;
	if (rand_alnum(id, 16) != 0 || strlen(id) != 16 ||
	    strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") != 16)
		return 11;
	return 0;
#endif
}

/* No getrandom and no descriptor left for /dev/urandom: -1, EMFILE. */
static int
child_no_source(void)
{
	struct rlimit rl, none;
	unsigned char c[8];
	char id[9];
	int r, r2, err;

#ifndef SYS_getrandom
	return T_NOSECCOMP;
#else
	if (t_refuse(SYS_getrandom, -1, -1, ENOSYS) == -1)
		return T_NOSECCOMP;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 12;
	none = rl;
	none.rlim_cur = 0;
	if (setrlimit(RLIMIT_NOFILE, &none) == -1)
		return 13;
	r = rand_bytes(c, sizeof(c));
	err = errno;
	r2 = rand_alnum(id, 8);
	setrlimit(RLIMIT_NOFILE, &rl);
	if (r != -1 || err != EMFILE)
		return 10;
	if (r2 != -1)
		return 11;
	return 0;
#endif
}

/* No getrandom and /dev/urandom's read fails: -1 with read's errno. */
static int
child_read_fails(void)
{
	unsigned char c[8];
	int fd, r, err;

#ifndef SYS_getrandom
	return T_NOSECCOMP;
#else
	/* The descriptor rand_bytes will get: the lowest free one. */
	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		return 12;
	close(fd);
	if (t_refuse(SYS_getrandom, -1, -1, ENOSYS) == -1 ||
	    t_refuse(SYS_read, -1, fd, EIO) == -1)
		return T_NOSECCOMP;
	r = rand_bytes(c, sizeof(c));
	err = errno;
	/* Keep fd taken, so that nothing later reads through the filter. */
	if (open("/dev/null", O_RDONLY) != fd)
		return 13;
	if (fcntl(fd, F_GETFD) == -1)
		return 14;
	if (r != -1 || err != EIO)
		return 10;
	return 0;
#endif
}

static void
test_rand(void)
{
	t_ok(t_rand_works(), "rand_bytes: random, two draws differ");
	t_child_ok(child_no_getrandom, "rand_bytes: without getrandom, "
	    "/dev/urandom serves (rand_alnum too)");
	t_child_ok(child_no_source, "rand_bytes: without getrandom and with "
	    "no descriptor free -> -1 EMFILE; rand_alnum -1");
	t_child_ok(child_read_fails, "rand_bytes: /dev/urandom read fails "
	    "-> -1 EIO, no partial success");
}

int
main(void)
{
	test_rand();
	test_secmem();
	return t_done();
}
