/*
 * test_oauth: the HTTP response parser (framings, caps, malformed
 * responses, any split of the bytes), URL splitting and form escaping,
 * the token endpoint's answers (tokens, error codes and what they mean),
 * device authorization answers, redirect query parameters, and the token
 * store (mode, round trip, refusal of a readable file).  One row, one
 * check.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "http.h"
#include "oauth.h"
#include "oauth_code.h"
#include "oauth_provider.h"
#include "oauth_store.h"
#include "util/buf.h"
#include "t.h"

/* Parses in pushes of step bytes: "STATUS|BODY", or "-1 KIND". */
static void
parse(const char *in, size_t step, size_t max, char *out, size_t outsz)
{
	struct http_resp r;
	struct err e;
	size_t i, n = strlen(in), k;
	int rv = 0;

	http_resp_init(&r, max);
	err_clear(&e);
	for (i = 0; i < n && rv == 0; i += k) {
		k = n - i < step ? n - i : step;
		rv = http_resp_push(&r, in + i, k, &e);
	}
	if (rv == 0)
		rv = http_resp_eof(&r, &e);
	if (rv == 1)
		snprintf(out, outsz, "%d|%s|%s", r.status, r.ctype,
		    buf_str(&r.body));
	else
		snprintf(out, outsz, "-1 %s", err_exitname(err_exitcode(&e)));
	http_resp_release(&r);
}

static void
test_http_parser(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: Application/JSON; "
		  "charset=utf-8\r\nContent-Length: 2\r\n\r\n{}",
		  "200|application/json|{}" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing",
		  "200||{}" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX: y\r\n\r\n",
		  "200||abcde" },
		{ "HTTP/1.0 400 Bad\nContent-Type: text/plain\n\nuntil eof",
		  "400|text/plain|until eof" },
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No\r\n\r\n",
		  "204||" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
		  "-1 EX_TEMPFAIL" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
		  "-1 EX_PROTOCOL" },		/* over the cap of 64 */
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "41\r\n", "-1 EX_PROTOCOL" },	/* chunk over the cap */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		  "Content-Length: 2\r\n\r\nx", "-1 EX_PROTOCOL" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		  "-1 EX_PROTOCOL" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "-1 EX_PROTOCOL" },
		{ "SMTP/1.1 200 OK\r\n\r\n", "-1 EX_PROTOCOL" },
		{ "HTTP/1.1 200 OK\r\n folded\r\n\r\n", "-1 EX_PROTOCOL" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "zz\r\n", "-1 EX_PROTOCOL" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "1\r\nab\r\n", "-1 EX_PROTOCOL" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		  "-1 EX_PROTOCOL" },
	};
	char got[256], one[256];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse(rows[i].in, 4096, 64, got, sizeof(got));
		parse(rows[i].in, 1, 64, one, sizeof(one));
		t_ok(strcmp(got, rows[i].want) == 0 && strcmp(one, got) == 0,
		    "http row %zu: %s (byte by byte: %s)", i, got, one);
	}
}

static void
test_url(void)
{
	static const struct {
		const char *url, *want;
	} rows[] = {
		{ "https://login.example/t/oauth2/token",
		  "login.example 443 /t/oauth2/token" },
		{ "https://127.0.0.1:8443", "127.0.0.1 8443 /" },
		{ "https://[::1]:99/x?y=1#f", "::1 99 /x?y=1" },
		{ "HTTPS://a.example?q", "a.example 443 /?q" },
		{ "http://a.example/", "-1" },
		{ "https://user@a.example/", "-1" },
		{ "https://a.example:0/", "-1" },
		{ "https://a.example:70000/", "-1" },
		{ "https:///x", "-1" },
		{ "https://a.example/\x01", "-1" },
	};
	struct err e;
	char *host, *path, got[256];
	int port;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (http_url_parse(rows[i].url, &host, &port, &path, &e) == 0) {
			snprintf(got, sizeof(got), "%s %d %s", host, port,
			    path);
			free(host);
			free(path);
		} else
			snprintf(got, sizeof(got), "-1");
		t_streq(got, rows[i].want, "url %zu", i);
	}
}

static void
test_form(void)
{
	struct buf b;

	buf_init(&b, 0);
	http_form_escape(&b, "a b&c=d/é~_.-");
	t_streq(buf_str(&b), "a+b%26c%3Dd%2F%C3%A9~_.-", "form escaping");
	buf_release(&b);
}

static void
test_token(void)
{
	static const struct {
		int status;
		const char *body, *want;
	} rows[] = {
		{ 200, "{\"access_token\":\"at1\",\"token_type\":\"Bearer\","
		  "\"expires_in\":3600,\"refresh_token\":\"rt1\","
		  "\"scope\":\"s1 s2\"}", "at1 rt1 4600 s1 s2" },
		{ 200, "{\"access_token\":\"at1\",\"expires_in\":\"60\"}",
		  "at1 - 1060 -" },
		{ 200, "{\"access_token\":\"at1\"}", "at1 - 4600 -" },
		{ 200, "{\"access_token\":\"a b\"}", "-1 EX_TEMPFAIL" },
		{ 200, "{\"access_token\":\"at\",\"token_type\":\"mac\"}",
		  "-1 EX_TEMPFAIL" },
		{ 200, "{\"token_type\":\"Bearer\"}", "-1 EX_TEMPFAIL" },
		{ 200, "[1]", "-1 EX_TEMPFAIL" },
		{ 200, "{\"access_token\":\"a\",\"access_token\":\"b\"}",
		  "-1 EX_TEMPFAIL" },
		{ 500, "<html>", "-1 EX_TEMPFAIL" },
		{ 400, "{\"error\":\"invalid_grant\"}",
		  "-1 EX_NOPERM invalid_grant" },
		{ 400, "{\"error\":\"authorization_pending\"}",
		  "-1 EX_TEMPFAIL authorization_pending" },
		{ 400, "{\"error\":\"slow_down\"}",
		  "-1 EX_TEMPFAIL slow_down" },
		{ 400, "{\"error\":\"access_denied\"}",
		  "-1 EX_NOPERM access_denied" },
		{ 401, "{\"error\":\"invalid_client\"}",
		  "-1 EX_CONFIG invalid_client" },
		{ 503, "{\"error\":\"whatever\"}",
		  "-1 EX_TEMPFAIL whatever" },
		{ 400, "{\"error\":\"bad code\\u0001\"}", "-1 EX_TEMPFAIL " },
	};
	struct oauth_tokens t;
	struct err e;
	char code[OAUTH_ERRCODE_MAX], got[256];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err_clear(&e);
		if (oauth_token_parse(rows[i].status, rows[i].body,
		    strlen(rows[i].body), 1000, &t, code, &e) == 0) {
			snprintf(got, sizeof(got), "%s %s %lld %s", t.access,
			    t.refresh ? t.refresh : "-", (long long)t.expires,
			    t.scope ? t.scope : "-");
			oauth_tokens_release(&t);
		} else if (code[0] != '\0')
			snprintf(got, sizeof(got), "-1 %s %s",
			    err_exitname(err_exitcode(&e)), code);
		else
			snprintf(got, sizeof(got), "-1 %s%s",
			    err_exitname(err_exitcode(&e)),
			    strstr(rows[i].body, "error") ? " " : "");
		t_streq(got, rows[i].want, "token answer %zu", i);
	}
}

static void
test_device(void)
{
	struct oauth_device d;
	struct err e;
	const char *ok = "{\"device_code\":\"dc\",\"user_code\":\"AB-CD\","
	    "\"verification_url\":\"https://x/d\",\"interval\":7}";
	const char *ctl = "{\"device_code\":\"dc\",\"user_code\":\"A\\u001bB\","
	    "\"verification_uri\":\"https://x/d\"}";

	t_ok(oauth_device_parse(200, ok, strlen(ok), &d, &e) == 0 &&
	    strcmp(d.user_code, "AB-CD") == 0 && d.interval == 7 &&
	    strcmp(d.verification_uri, "https://x/d") == 0,
	    "device answer with Google's verification_url");
	oauth_device_release(&d);
	t_ok(oauth_device_parse(200, ctl, strlen(ctl), &d, &e) == -1 &&
	    e.kind == ERR_PROTOCOL, "a user code with an escape is refused");
	t_ok(oauth_device_parse(400, "{\"error\":\"invalid_client\"}", 26,
	    &d, &e) == -1 && e.kind == ERR_CONFIG, "device 400 is config");
}

static void
test_query(void)
{
	char *v;

	v = oauth_query_param("state=x&code=a%2Fb+c#code=no", "code");
	t_streq(v, "a/b c", "query code");
	free(v);
	v = oauth_query_param("xcode=1&code=2", "code");
	t_streq(v, "2", "query name match is exact");
	free(v);
	v = oauth_query_param("code=a%0", "code");
	t_ok(v == NULL, "truncated escape refused");
	v = oauth_query_param("code=a%00b", "code");
	t_ok(v == NULL, "NUL escape refused");
	v = oauth_query_param("state=1", "code");
	t_ok(v == NULL, "absent parameter");
}

static void
test_store(void)
{
	struct oauth_tokens t, back;
	struct err e;
	struct stat st;
	char dir[] = "/tmp/test_oauth.XXXXXX", *path;
	char *g1 = NULL, *g2 = NULL, *g3 = NULL, *id = NULL;
	int fd;

	if (mkdtemp(dir) == NULL) {
		t_ok(0, "mkdtemp");
		return;
	}
	path = malloc(strlen(dir) + 32);
	sprintf(path, "%s/sub/acct.json", dir);
	memset(&t, 0, sizeof(t));
	t.access = strdup("at");
	t.refresh = strdup("rt");
	t.scope = strdup("s");
	t.expires = 12345;
	t.obtained = 100;
	t_ok(oauth_store_lock(path, &fd, &e) == 0, "lock (creates dir)");
	t_ok(oauth_store_save(path, &t, &e) == 0, "save");
	close(fd);
	t_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "token file 0600");
	sprintf(path, "%s/sub", dir);
	t_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "token directory 0700");
	sprintf(path, "%s/sub/acct.json", dir);
	t_ok(oauth_store_load(path, &back, &e) == 0 &&
	    strcmp(back.access, "at") == 0 && strcmp(back.refresh, "rt") ==
	    0 && back.expires == 12345, "round trip");
	oauth_tokens_release(&back);
	chmod(path, 0644);
	t_ok((g1 = oauth_store_grant(path)) != NULL &&
	    strcmp(g1, "unreadable") == 0, "grant: a refused file");
	free(g1);
	chmod(path, 0600);

	/* The sign-in a connection holder compares (persist.c). */
	g1 = oauth_store_grant(path);
	t_ok(strncmp(g1, "refresh ", 8) == 0 && strlen(g1) == 8 + 64 &&
	    strstr(g1, "rt") == NULL, "grant: without sign_in, the refresh "
	    "token's digest, not the token");
	oauth_store_new_sign_in(&t);
	t_ok(t.sign_in != NULL && strlen(t.sign_in) == 16,
	    "a sign-in id of 16 characters");
	id = strdup(t.sign_in);
	oauth_store_new_sign_in(&t);
	t_ok(strcmp(id, t.sign_in) != 0, "each sign-in id is new");
	t_ok(oauth_store_save(path, &t, &e) == 0 &&
	    oauth_store_load(path, &back, &e) == 0 && back.sign_in != NULL &&
	    strcmp(back.sign_in, t.sign_in) == 0, "sign_in round trip");
	oauth_tokens_release(&back);
	g2 = oauth_store_grant(path);
	t_ok(strncmp(g2, "sign-in ", 8) == 0 && strcmp(g2 + 8, t.sign_in) ==
	    0 && strcmp(g1, g2) != 0, "grant: the sign-in id");
	/* A refresh: new access and refresh tokens, the same sign-in. */
	free(t.access);
	free(t.refresh);
	t.access = strdup("at2");
	t.refresh = strdup("rt2");
	t_ok(oauth_store_save(path, &t, &e) == 0 &&
	    (g3 = oauth_store_grant(path)) != NULL && strcmp(g2, g3) == 0,
	    "grant: a refresh keeps it");
	free(g3);
	free(t.sign_in);
	t.sign_in = id;
	id = NULL;
	t_ok(oauth_store_save(path, &t, &e) == 0 &&
	    (g3 = oauth_store_grant(path)) != NULL && strcmp(g2, g3) != 0,
	    "grant: a new sign-in changes it");
	free(g3);
	free(g1);
	free(g2);
	t_ok(oauth_store_remove(path, &e) == 0 &&
	    (g1 = oauth_store_grant(path)) != NULL &&
	    strcmp(g1, "signed out") == 0, "grant: signed out");
	free(g1);
	t_ok(oauth_store_save(path, &t, &e) == 0, "saved again");
	chmod(path, 0644);
	t_ok(oauth_store_load(path, &back, &e) == -1 && e.kind == ERR_CONFIG,
	    "a file others can read is refused");
	t_ok(oauth_store_remove(path, &e) == 0 &&
	    oauth_store_load(path, &back, &e) == 0 && back.access == NULL,
	    "removed: no tokens");
	oauth_tokens_release(&t);
	sprintf(path, "rm -rf '%s'", dir);
	(void)!system(path);
	free(path);
}

/* e names a failure of kind k, says want, names no token. */
static int
store_err(const struct err *e, enum err_kind k, const char *want)
{
	return e->kind == k && strstr(e->text, want) != NULL &&
	    strstr(e->text, "SECRET") == NULL && strchr(e->text, '\n') == NULL;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd != -1) {
		(void)!write(fd, text, strlen(text));
		fchmod(fd, mode);
		close(fd);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The token store's refusals: each an error of its own, naming the file
   and never a token; a refused load leaves no tokens behind. */
static void
test_store_errors(void)
{
	static const char *damaged[] = {
		"{\"version\":1,\"access_token\":\"SECRETAT",	/* cut */
		"not json SECRETAT",
		"[\"SECRETAT\"]",
		"{\"version\":2,\"access_token\":\"SECRETAT\"}",
		"{\"access_token\":\"SECRETAT\"}",
		"{\"version\":1,\"access_token\":\"SECRETAT\","
		    "\"access_token\":\"SECRETAT2\"}",		/* twice */
		"",
	};
	struct oauth_tokens t, back;
	struct account a;
	struct err e;
	struct stat st;
	char dir[] = "/tmp/test_oauth.XXXXXX", path[256], other[512];
	char *p = NULL;
	double t0;
	size_t i;
	pid_t pid = -1;
	int fd, pfd[2], st2 = -1;

	if (mkdtemp(dir) == NULL) {
		t_ok(0, "mkdtemp");
		return;
	}
	memset(&t, 0, sizeof(t));
	t.access = strdup("SECRETAT");
	t.refresh = strdup("SECRETRT");

	snprintf(path, sizeof(path), "%s/acct.json", dir);
	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		write_file(path, damaged[i], 0600);
		memset(&e, 0, sizeof(e));
		t_ok(oauth_store_load(path, &back, &e) == -1 &&
		    store_err(&e, ERR_CONFIG, "is not a posthorn token file") &&
		    strstr(e.text, path) != NULL && back.access == NULL &&
		    back.refresh == NULL, "store: damaged file %zu refused, "
		    "named, no token in '%s'", i, e.text);
	}

	/* Not a regular file of ours with mode 0600. */
	snprintf(other, sizeof(other), "%s/real.json", dir);
	t_ok(oauth_store_save(other, &t, &e) == 0, "store: saved a real one");
	unlink(path);
	t_ok(symlink(other, path) == 0 && oauth_store_load(path, &back, &e) ==
	    -1 && store_err(&e, ERR_CONFIG, "refusing token file") &&
	    back.access == NULL, "store: a symbolic link is refused");
	unlink(path);
	t_ok(mkdir(path, 0700) == 0 && oauth_store_load(path, &back, &e) ==
	    -1 && store_err(&e, ERR_CONFIG, "must be a regular file of yours"),
	    "store: a directory is refused");
	t_ok(chmod(other, 0640) == 0 && oauth_store_load(other, &back, &e) ==
	    -1 && store_err(&e, ERR_CONFIG, "mode 0600") &&
	    back.access == NULL, "store: mode 0640 is refused");
	chmod(other, 0600);

	/* A path through a regular file: nothing can be read or created. */
	snprintf(path, sizeof(path), "%s/real.json/acct.json", dir);
	t_ok(oauth_store_load(path, &back, &e) == -1 &&
	    store_err(&e, ERR_IO, "cannot read") && strstr(e.text,
	    "Not a directory") != NULL, "store: load through a file: "
	    "'%s'", e.text);
	snprintf(path, sizeof(path), "%s/real.json/sub/acct.json", dir);
	t_ok(oauth_store_save(path, &t, &e) == -1 &&
	    store_err(&e, ERR_IO, "cannot create") && strstr(e.text,
	    "real.json/sub'") != NULL, "store: save under a file: '%s'",
	    e.text);
	fd = 7;
	t_ok(oauth_store_lock(path, &fd, &e) == -1 && fd == -1 &&
	    store_err(&e, ERR_IO, "cannot create"), "store: lock under a "
	    "file");

	/* The lock file must not be a symbolic link. */
	snprintf(path, sizeof(path), "%s/l.json", dir);
	snprintf(other, sizeof(other), "%s/l.json.lock", dir);
	t_ok(symlink("/dev/null", other) == 0 &&
	    oauth_store_lock(path, &fd, &e) == -1 && fd == -1 &&
	    store_err(&e, ERR_IO, "cannot lock") && strstr(e.text, other) !=
	    NULL, "store: a linked lock file is refused: '%s'", e.text);
	unlink(other);

	/* Another process holds the lock: this one waits for it. */
	if (pipe(pfd) == 0 && (pid = fork()) == 0) {
		int cfd;

		if (oauth_store_lock(path, &cfd, &e) == -1)
			_exit(1);
		(void)!write(pfd[1], "x", 1);
		usleep(400 * 1000);
		_exit(0);
	} else if (pid > 0) {
		char c;

		close(pfd[1]);
		(void)!read(pfd[0], &c, 1);
		t0 = now_s();
		i = oauth_store_lock(path, &fd, &e) == 0;
		t0 = now_s() - t0;
		t_ok(i && t0 > 0.2, "store: the lock waits for its holder "
		    "(%.2f s)", t0);
		close(fd);
		waitpid(pid, &st2, 0);
		t_ok(WIFEXITED(st2) && WEXITSTATUS(st2) == 0,
		    "store: the other process held the lock");
		close(pfd[0]);
	}

	/* The file's place is taken by a directory: the save fails, and
	   leaves no temporary file. */
	snprintf(path, sizeof(path), "%s/d.json", dir);
	snprintf(other, sizeof(other), "%s/d.json/x", dir);
	mkdir(path, 0700);
	mkdir(other, 0700);
	t_ok(oauth_store_save(path, &t, &e) == -1 &&
	    store_err(&e, ERR_IO, "cannot rename") && strstr(e.text, path) !=
	    NULL, "store: save onto a directory: '%s'", e.text);
	snprintf(other, sizeof(other), "%s.tmp.%ld", path, (long)getpid());
	t_ok(lstat(other, &st) == -1, "store: no temporary file left");
	t_ok(oauth_store_remove(path, &e) == -1 &&
	    store_err(&e, ERR_IO, "cannot remove"), "store: remove a "
	    "directory: '%s'", e.text);
	/* Its temporary name is taken. */
	snprintf(path, sizeof(path), "%s/t.json", dir);
	snprintf(other, sizeof(other), "%s.tmp.%ld", path, (long)getpid());
	mkdir(other, 0700);
	t_ok(oauth_store_save(path, &t, &e) == -1 &&
	    store_err(&e, ERR_IO, "cannot create") && strstr(e.text, other) !=
	    NULL && lstat(path, &st) == -1, "store: temporary name taken: "
	    "'%s'", e.text);

	/* Where the file is. */
	memset(&a, 0, sizeof(a));
	a.name = "work";
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	t_ok(oauth_store_path(&a, &p, &e) == 0 && p != NULL && strcmp(p,
	    "/home/u/.local/state/posthorn/oauth2/work.json") == 0,
	    "store path: under HOME");
	free(p);
	setenv("XDG_STATE_HOME", "/x/state", 1);
	t_ok(oauth_store_path(&a, &p, &e) == 0 && p != NULL && strcmp(p,
	    "/x/state/posthorn/oauth2/work.json") == 0,
	    "store path: under XDG_STATE_HOME");
	free(p);
	setenv("XDG_STATE_HOME", "relative", 1);
	setenv("HOME", "/", 1);
	t_ok(oauth_store_path(&a, &p, &e) == -1 && p == NULL &&
	    store_err(&e, ERR_CONFIG, "no home directory") &&
	    strstr(e.text, "oauth2_token_file") != NULL,
	    "store path: no home: '%s'", e.text);
	a.name = "../x";
	t_ok(oauth_store_path(&a, &p, &e) == -1 && p == NULL &&
	    store_err(&e, ERR_CONFIG, "cannot be a token file name"),
	    "store path: a name with a slash: '%s'", e.text);
	a.oauth2_token_file = "/t/f.json";
	t_ok(oauth_store_path(&a, &p, &e) == 0 && p != NULL &&
	    strcmp(p, "/t/f.json") == 0, "store path: oauth2_token_file wins");
	free(p);

	oauth_tokens_release(&t);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	(void)!system(path);
}

/* Resolves the one account of a configuration: "flow mech scope token
   device authorize" or "-1 KIND". */
static void
resolve(const char *text, const char *offered, char *out, size_t outsz)
{
	struct conf c;
	struct oauth_cfg cfg;
	struct err e;
	struct account *a;

	if (conf_parse(&c, text, strlen(text), "t", &e) == -1) {
		snprintf(out, outsz, "parse: %s", e.text);
		return;
	}
	a = c.accounts[0];
	if (oauth_cfg_resolve(a, &cfg, &e) == 0)
		snprintf(out, outsz, "%s %s %s %s %s %s",
		    oauth_flow_name(cfg.flow), oauth_provider_mech(a, offered),
		    cfg.scope, cfg.token_url, cfg.device_url ? cfg.device_url :
		    "-", cfg.authorize_url ? cfg.authorize_url : "-");
	else
		snprintf(out, outsz, "-1 %s", err_exitname(err_exitcode(&e)));
	oauth_cfg_release(&cfg);
	conf_free(&c);
}

static void
test_provider(void)
{
	static const struct {
		const char *conf, *offered, *want;
	} rows[] = {
		{ "account a\nauth oauth2\noauth2_provider microsoft\n"
		  "oauth2_client_id x\noauth2_tenant example.org\n",
		  "XOAUTH2 OAUTHBEARER",
		  "device XOAUTH2 https://outlook.office365.com/SMTP.Send "
		  "offline_access https://login.microsoftonline.com/example.org/"
		  "oauth2/v2.0/token https://login.microsoftonline.com/"
		  "example.org/oauth2/v2.0/devicecode https://login."
		  "microsoftonline.com/example.org/oauth2/v2.0/authorize" },
		{ "account a\nauth oauth2\noauth2_provider microsoft\n"
		  "oauth2_client_id x\noauth2_flow client_credentials\n"
		  "oauth2_client_secret s\n", "",
		  "client_credentials XOAUTH2 https://outlook.office365.com/"
		  ".default https://login.microsoftonline.com/common/oauth2/"
		  "v2.0/token https://login.microsoftonline.com/common/oauth2/"
		  "v2.0/devicecode https://login.microsoftonline.com/common/"
		  "oauth2/v2.0/authorize" },
		{ "account a\nauth oauth2\noauth2_provider google\n"
		  "oauth2_client_id x\n", "OAUTHBEARER XOAUTH2",
		  "code XOAUTH2 https://mail.google.com/ https://oauth2."
		  "googleapis.com/token - https://accounts.google.com/o/oauth2/"
		  "v2/auth" },
		{ "account a\nauth oauth2\noauth2_client_id x\n"
		  "oauth2_token_url https://t/\noauth2_authorize_url "
		  "https://a/\noauth2_scope s\n", "XOAUTH2 OAUTHBEARER",
		  "code OAUTHBEARER s https://t/ - https://a/" },
		{ "account a\nauth oauth2\noauth2_client_id x\n"
		  "oauth2_token_url https://t/\noauth2_authorize_url "
		  "https://a/\noauth2_scope s\n", "PLAIN XOAUTH2",
		  "code XOAUTH2 s https://t/ - https://a/" },
		{ "account a\nauth oauthbearer\noauth2_provider google\n"
		  "oauth2_client_id x\n", "XOAUTH2 OAUTHBEARER",
		  "code OAUTHBEARER https://mail.google.com/ https://oauth2."
		  "googleapis.com/token - https://accounts.google.com/o/oauth2/"
		  "v2/auth" },
		{ "account a\nauth oauth2\noauth2_provider microsoft\n",
		  "", "-1 EX_CONFIG" },			/* no client id */
		{ "account a\nauth oauth2\noauth2_provider google\n"
		  "oauth2_client_id x\noauth2_flow device\n", "",
		  "-1 EX_CONFIG" },			/* no device URL */
		{ "account a\nauth oauth2\noauth2_client_id x\n"
		  "oauth2_token_url https://t/\noauth2_flow "
		  "client_credentials\noauth2_scope s\n", "",
		  "-1 EX_CONFIG" },			/* no secret */
		{ "account a\nauth oauth2\noauth2_provider microsoft\n"
		  "oauth2_client_id x\noauth2_tenant a/b\n", "",
		  "-1 EX_CONFIG" },			/* bad tenant */
		{ "account a\noauth2_token_url http://t/\n", "",
		  "parse: t:2: invalid value 'http://t/' for key "
		  "'oauth2_token_url': not an https URL" },
		{ "account a\noauth2_provider yahoo\n", "",
		  "parse: t:2: invalid value 'yahoo' for key "
		  "'oauth2_provider': not microsoft, google or generic" },
	};
	char got[ERR_TEXT_MAX + 64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		resolve(rows[i].conf, rows[i].offered, got, sizeof(got));
		t_streq(got, rows[i].want, "provider row %zu", i);
	}
}

int
main(void)
{
	test_http_parser();
	test_url();
	test_form();
	test_token();
	test_device();
	test_query();
	test_store();
	test_store_errors();
	test_provider();
	return t_done();
}
