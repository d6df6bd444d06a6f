/*
 * oauth_store owns the token file: where it is, its format (a JSON object
 * with version, access_token, refresh_token, expires_at, obtained_at,
 * scope and sign_in), its permissions, its lock, and the crash-safe replacement.
 * A crash between the provider's answer and the rename leaves the old
 * file with the old refresh token; providers that keep accepting it
 * (Microsoft does, within its lifetime) lose nothing, and with one that
 * does not the next send is held until `posthorn --login`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "err.h"
#include "oauth_store.h"
#include "route.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/rand.h"

#define STORE_MAX	(256 * 1024)

void
oauth_tokens_release(struct oauth_tokens *t)
{
	wipe_free(t->access);
	wipe_free(t->refresh);
	free(t->scope);
	free(t->sign_in);
	memset(t, 0, sizeof(*t));
}

/* jansson's free, wiping: tokens live in its strings for a while. */
static void
wiping_free(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

void
oauth_json_secure(void)
{
	static int done;

	if (!done) {
		json_set_alloc_funcs(malloc, wiping_free);
		done = 1;
	}
}

static int
name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 ||
		    (i == 0 && s[i] == '.'))
			return 0;
	return i > 0 && i < 200;
}

int
oauth_store_path(const struct account *a, char **path, struct err *e)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	const char *name = a->name != NULL ? a->name : "default";

	*path = NULL;
	if (a->oauth2_token_file != NULL) {
		*path = xstrdup(a->oauth2_token_file);
		return 0;
	}
	if (!name_ok(name))
		return err_set(e, ERR_CONFIG, "account '%s': its name cannot "
		    "be a token file name; set oauth2_token_file", name);
	if (xdg != NULL && xdg[0] == '/')
		*path = xasprintf("%s/posthorn/oauth2/%s.json", xdg, name);
	else if (home != NULL && home[0] == '/' && strcmp(home, "/") != 0)
		*path = xasprintf("%s/.local/state/posthorn/oauth2/%s.json",
		    home, name);
	else
		return err_set(e, ERR_CONFIG, "account '%s': no home "
		    "directory for the OAuth2 tokens; set oauth2_token_file",
		    name);
	return 0;
}

/* The directory of path, created 0700 when missing. */
static int
make_dir(const char *path, struct err *e)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rv = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (fsio_mkdirs(dir, 0700) == -1)
			rv = err_set(e, ERR_IO, "cannot create '%s': %s", dir,
			    strerror(errno));
	}
	free(dir);
	return rv;
}

int
oauth_store_lock(const char *path, int *fd, struct err *e)
{
	char *lock;
	int saved;

	*fd = -1;
	if (make_dir(path, e) == -1)
		return -1;
	lock = xasprintf("%s.lock", path);
	*fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd == -1 || flock(*fd, LOCK_EX) == -1) {
		saved = errno;
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		err_set(e, ERR_IO, "cannot lock '%s': %s", lock,
		    strerror(saved));
		free(lock);
		return -1;
	}
	free(lock);
	return 0;
}

static char *
json_strdup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? xstrdup(s) : NULL;
}

/* Fills t from the file's JSON. */
static int
from_json(const char *path, const char *text, size_t n,
    struct oauth_tokens *t, struct err *e)
{
	json_error_t je;
	json_t *o;

	o = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL || !json_is_object(o) ||
	    json_integer_value(json_object_get(o, "version")) != 1) {
		json_decref(o);
		return err_set(e, ERR_CONFIG, "'%s' is not a posthorn token "
		    "file (run posthorn --login)", path);
	}
	t->access = json_strdup(o, "access_token");
	t->refresh = json_strdup(o, "refresh_token");
	t->scope = json_strdup(o, "scope");
	t->sign_in = json_strdup(o, "sign_in");
	t->expires = (time_t)json_integer_value(json_object_get(o,
	    "expires_at"));
	t->obtained = (time_t)json_integer_value(json_object_get(o,
	    "obtained_at"));
	json_decref(o);
	return 0;
}

int
oauth_store_load(const char *path, struct oauth_tokens *t, struct err *e)
{
	struct buf b;
	struct stat st;
	int rv;

	memset(t, 0, sizeof(*t));
	oauth_json_secure();
	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, ERR_IO, "cannot read '%s': %s", path,
		    strerror(errno));
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid())
		return err_set(e, ERR_CONFIG, "refusing token file '%s': it "
		    "must be a regular file of yours, mode 0600", path);
	buf_init_secret(&b, STORE_MAX);
	if (fsio_read_file(path, &b) == -1) {
		buf_wipe(&b);
		return err_set(e, ERR_IO, "cannot read '%s': %s", path,
		    strerror(errno));
	}
	rv = from_json(path, b.data != NULL ? b.data : "", b.len, t, e);
	buf_wipe(&b);
	return rv;
}

static json_t *
to_json(const struct oauth_tokens *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "version", json_integer(1));
	if (t->access != NULL)
		json_object_set_new(o, "access_token",
		    json_string(t->access));
	if (t->refresh != NULL)
		json_object_set_new(o, "refresh_token",
		    json_string(t->refresh));
	if (t->scope != NULL)
		json_object_set_new(o, "scope", json_string(t->scope));
	if (t->sign_in != NULL)
		json_object_set_new(o, "sign_in", json_string(t->sign_in));
	json_object_set_new(o, "expires_at", json_integer(t->expires));
	json_object_set_new(o, "obtained_at", json_integer(t->obtained));
	return o;
}

/* Writes n bytes to a new file tmp, 0600, and fsyncs it. */
static int
write_tmp(const char *tmp, const char *p, size_t n, struct err *e)
{
	int fd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return err_set(e, ERR_IO, "cannot create '%s': %s", tmp,
		    strerror(errno));
	if (fsio_write_all(fd, p, n) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return err_set(e, ERR_IO, "cannot write '%s': %s", tmp,
		    strerror(saved));
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(tmp);
		return err_set(e, ERR_IO, "cannot write '%s': %s", tmp,
		    strerror(saved));
	}
	return 0;
}

int
oauth_store_save(const char *path, const struct oauth_tokens *t,
    struct err *e)
{
	json_t *o;
	char *text, *tmp, *dir, *slash;
	int rv = -1;

	if (make_dir(path, e) == -1)
		return -1;
	oauth_json_secure();
	o = to_json(t);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return err_set(e, ERR_SOFTWARE, "cannot encode the tokens");
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	unlink(tmp);
	if (write_tmp(tmp, text, strlen(text), e) == 0) {
		if (rename(tmp, path) == -1) {
			err_set(e, ERR_IO, "cannot rename '%s' to '%s': %s",
			    tmp, path, strerror(errno));
			unlink(tmp);
		} else
			rv = 0;
	}
	if (rv == 0) {
		dir = xstrdup(path);
		slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		if (fsio_fsync_dir(slash != NULL ? (slash == dir ? "/" : dir) :
		    ".") == -1)
			rv = err_set(e, ERR_IO, "cannot sync the directory of "
			    "'%s': %s", path, strerror(errno));
		free(dir);
	}
	wipe_free(text);
	free(tmp);
	return rv;
}

int
oauth_store_remove(const char *path, struct err *e)
{
	/* The lock file stays: a process may be waiting on it. */
	if (unlink(path) == -1 && errno != ENOENT)
		return err_set(e, ERR_IO, "cannot remove '%s': %s", path,
		    strerror(errno));
	return 0;
}

void
oauth_store_new_sign_in(struct oauth_tokens *t)
{
	char id[17];

	free(t->sign_in);
	t->sign_in = NULL;
	/* Without random numbers the file has no id: a holder then
	   compares the refresh token's digest. */
	if (rand_alnum(id, 16) == 0)
		t->sign_in = xstrdup(id);
}

char *
oauth_store_grant(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	struct oauth_tokens t;
	struct err e;
	const char *secret;
	uint8_t h[32];
	char d[65], *s;
	size_t i;

	if (oauth_store_load(path, &t, &e) == -1)
		return xstrdup("unreadable");
	secret = t.refresh != NULL ? t.refresh : t.access;
	if (t.sign_in != NULL)
		s = xasprintf("sign-in %s", t.sign_in);
	else if (secret != NULL) {
		route_sha256(secret, strlen(secret), h);
		for (i = 0; i < 32; i++) {
			d[2 * i] = hex[h[i] >> 4];
			d[2 * i + 1] = hex[h[i] & 15];
		}
		d[64] = '\0';
		s = xasprintf("%s %s", t.refresh != NULL ? "refresh" :
		    "access", d);
		explicit_bzero(h, sizeof(h));
	} else
		s = xstrdup("signed out");
	oauth_tokens_release(&t);
	return s;
}
