/*
 * privsep: see privsep.h.  setresgid(2) with the saved set-group-ID is
 * what lets the group be put away and taken back once; the final drop
 * sets all three to the real group and checks that it stuck.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "err.h"
#include "privsep.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/secmem.h"

extern char **environ;

static int	 held;		/* the saved group is the privileged one */
static int	 used;		/* the group was raised this run */
static gid_t	 group;		/* the privileged group */
static char	**user_env;	/* the caller's environment while raised */

/*
 * Environment names removed before anything runs (a name ending in "_" is
 * a prefix): what could make a library load code, change name lookups or
 * write TLS secrets.  glibc drops most of them for a setgid process
 * already, and GnuTLS reads its own with secure_getenv; this list does
 * not depend on either.  (A passwordeval command gets none of the
 * caller's environment: privsep_raise.)
 */
static const char *const unsafe[] = {
	"SSLKEYLOGFILE", "GNUTLS_", "LD_", "GCONV_PATH", "NLSPATH",
	"LOCPATH", "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN", "MALLOC_",
	"GLIBC_TUNABLES", "TMPDIR",
};

static char *minimal_env[] = {
	(char *)"PATH=/usr/bin:/bin", (char *)"HOME=/", NULL
};

static void
die(const char *what)
{
	fprintf(stderr, "posthorn: cannot %s; refusing to run setgid\n",
	    what);
	_exit(70);
}

static int
unsafe_name(const char *entry)
{
	size_t i, n;

	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		n = strlen(unsafe[i]);
		if (strncmp(entry, unsafe[i], n) == 0 && (unsafe[i][n - 1] ==
		    '_' || entry[n] == '='))
			return 1;
	}
	return 0;
}

/* Removes the unsafe names in place (environ keeps the rest). */
static void
sanitise_env(void)
{
	char **r, **w;

	if (environ == NULL)
		return;
	for (r = w = environ; *r != NULL; r++)
		if (!unsafe_name(*r))
			*w++ = *r;
	*w = NULL;
}

void
privsep_start(void)
{
	gid_t rgid = getgid(), egid = getegid();
	uid_t ruid = getuid();

	if (geteuid() != ruid) {
		/* Not the supported install: no user privilege at all. */
		if (setresuid(ruid, ruid, ruid) == -1 || geteuid() != ruid)
			die("drop the set-user-ID");
	}
	if (egid == rgid)
		return;
	/* Before anything else: no ptrace, no /proc/PID/mem, no core. */
	if (secmem_protect() == -1)
		die("make the process non-dumpable");
	sanitise_env();
	group = egid;
	if (setresgid(rgid, rgid, egid) == -1 || getegid() != rgid)
		die("put the group away");
	held = 1;
}

int
privsep_held(void)
{
	return held;
}

void
privsep_raise(void)
{
	if (!held)
		return;
	if (setresgid(getgid(), group, group) == -1 || getegid() != group)
		die("take the group back");
	used = 1;
	user_env = environ;
	environ = minimal_env;
}

void
privsep_drop(void)
{
	gid_t rgid = getgid(), r, e, s;

	if (!held)
		return;
	if (setresgid(rgid, rgid, rgid) == -1 ||
	    getresgid(&r, &e, &s) == -1 || r != rgid || e != rgid ||
	    s != rgid)
		die("drop the group");
	/* The group can never come back (root may take any group anyway). */
	if (geteuid() != 0 && setegid(group) == 0)
		die("drop the group for good");
	held = 0;
	if (user_env != NULL) {
		environ = user_env;
		user_env = NULL;
	}
}

int
privsep_raised_group(gid_t gid)
{
	return held && used && user_env != NULL && gid == group &&
	    getegid() == group;
}

int
privsep_used(void)
{
	return used;
}

/* The most a certificate or key file may hold. */
#define PRIVSEP_PEM_MAX	(1024 * 1024)

/*
 * Reads a client certificate or key file (the rules of conf_check_file,
 * PRIVSEP_PEM_MAX) into *out, NUL-terminated, *len its length.
 */
static int
read_pem(const char *path, const char *what, char **out, size_t *len,
    struct err *e)
{
	struct stat st;
	struct buf b;

	if (conf_read_file(path, what, PRIVSEP_PEM_MAX, 1, ERR_CONFIG, &b,
	    &st, e) == -1)
		return -1;
	*len = b.len;
	/* conf_read_file leaves room for it. */
	if (buf_add(&b, "", 1) == -1) {
		buf_release(&b);
		return err_set(e, ERR_SOFTWARE, "%s '%s': no room for its "
		    "end", what, path);
	}
	*out = buf_detach(&b);
	return 0;
}

void
privsep_preload(struct conf *c)
{
	struct account *a;
	struct err e;
	char *pw;
	size_t i;

	for (i = 0; i < c->naccounts; i++) {
		a = c->accounts[i];
		if (a->tls_cert_file != NULL && a->tls_key_file != NULL &&
		    a->tls_key_pem == NULL) {
			if (read_pem(a->tls_cert_file, "TLS client "
			    "certificate", &a->tls_cert_pem,
			    &a->tls_cert_pem_len, &e) == -1 ||
			    read_pem(a->tls_key_file, "TLS client key",
			    &a->tls_key_pem, &a->tls_key_pem_len, &e) == -1)
				goto fail;
		}
		if (!a->auth)
			continue;
		pw = NULL;
		if (a->password_in_file) {
			if (conf_password(a, &pw, &e) == -1)
				goto fail;
			a->password_in_file = 0;
		} else if (a->password == NULL && a->passwordeval != NULL) {
			if (auth_eval(a, &pw, &e) == -1)
				goto fail;
		}
		if (pw != NULL) {
			if (a->password != NULL)
				wipe_free(a->password);
			a->password = pw;
			free(a->passwordeval);
			a->passwordeval = NULL;
		}
		continue;
fail:
		/* This account is not used, the others are, as when a
		   user's passwordeval fails for one account only. */
		err_prefix(&e, "account '%s' of %s: ", a->name,
		    c->path != NULL ? c->path : "the system configuration");
		free(a->secret_error);
		a->secret_error = xstrdup(e.text);
		privsep_forget_secret(a);
		err_clear(&e);
	}
	secmem_scrub_stack();
}

void
privsep_forget_secret(struct account *a)
{
	if (!used)
		return;
	if (a->password != NULL)
		wipe_free(a->password);
	a->password = NULL;
	a->password_in_file = 0;
	free(a->passwordeval);
	a->passwordeval = NULL;
	free(a->tls_cert_pem);
	a->tls_cert_pem = NULL;
	a->tls_cert_pem_len = 0;
	if (a->tls_key_pem != NULL) {
		wipe(a->tls_key_pem, a->tls_key_pem_len);
		free(a->tls_key_pem);
	}
	a->tls_key_pem = NULL;
	a->tls_key_pem_len = 0;
}
