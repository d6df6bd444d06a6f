/*
 * oauth_code owns the browser side of signing in with an authorization
 * code: the PKCE verifier and challenge, the state, the loopback listener
 * that receives the browser's redirect (one small HTTP request, answered
 * with a one-line page), the paste-the-address fallback, and starting
 * xdg-open.  Nothing is sent to the provider from here.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "http.h"
#include "oauth_code.h"
#include "oauth_provider.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/rand.h"
#include "util/sig.h"
#include "util/str.h"

#define CODE_WAIT	(10 * 60)	/* seconds for the whole sign-in */
#define REQUEST_MAX	8192

void
oauth_code_result_release(struct oauth_code_result *r)
{
	wipe_free(r->code);
	wipe_free(r->verifier);
	free(r->redirect_uri);
	memset(r, 0, sizeof(*r));
}

/* Decodes %XX and '+' in n bytes of s; NULL when malformed. */
static char *
decode(const char *s, size_t n)
{
	struct buf b;
	size_t i;
	int hi, lo;

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n ||
			    (hi = str_hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = str_hexval((unsigned char)s[i + 2])) < 0 ||
			    (hi == 0 && lo == 0))
				goto bad;
			buf_addc(&b, hi * 16 + lo);
			i += 2;
		} else
			buf_addc(&b, s[i] == '+' ? ' ' : s[i]);
	}
	return buf_detach(&b);
bad:
	buf_release(&b);
	return NULL;
}

char *
oauth_query_param(const char *query, const char *name)
{
	size_t nl = strlen(name), len;
	const char *p = query, *end = query + strcspn(query, "#"), *amp;

	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		len = (size_t)((amp != NULL ? amp : end) - p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return decode(p + nl + 1, len - nl - 1);
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return NULL;
}

/* RFC 7636 4.1, 4.2: a 64-character verifier and its S256 challenge. */
static int
pkce(char **verifier, char **challenge)
{
	unsigned char hash[32];
	char v[65], c[B64_LEN(32) + 1];
	size_t i, n;

	if (rand_alnum(v, 64) == -1 || tls_sha256(v, 64, hash) == -1)
		return -1;
	n = b64_encode(hash, sizeof(hash), c);
	for (i = 0; i < n; i++)
		c[i] = c[i] == '+' ? '-' : c[i] == '/' ? '_' : c[i];
	while (n > 0 && c[n - 1] == '=')
		c[--n] = '\0';
	*verifier = xstrdup(v);
	*challenge = xstrdup(c);
	explicit_bzero(v, sizeof(v));
	return 0;
}

/* A listening socket on 127.0.0.1:port (0: any); *port the one bound. */
static int
listen_loopback(int *port, struct err *e)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return err_set(e, ERR_IO, "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)*port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		err_set(e, ERR_CONFIG, "cannot listen on 127.0.0.1 port %d "
		    "for the sign-in redirect: %s", *port, strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The provider's authorization URL with every parameter. */
static char *
authorize_url(const struct oauth_cfg *cfg, const char *redirect,
    const char *state, const char *challenge)
{
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, cfg->authorize_url);
	buf_adds(&b, strchr(cfg->authorize_url, '?') ? "&" : "?");
	buf_adds(&b, "response_type=code&client_id=");
	http_form_escape(&b, cfg->client_id);
	buf_adds(&b, "&redirect_uri=");
	http_form_escape(&b, redirect);
	buf_adds(&b, "&scope=");
	http_form_escape(&b, cfg->scope);
	buf_printf(&b, "&state=%s&code_challenge=%s"
	    "&code_challenge_method=S256", state, challenge);
	/* Google gives a refresh token only when asked for offline use. */
	if (strcmp(cfg->provider, "google") == 0)
		buf_adds(&b, "&access_type=offline&prompt=consent");
	return buf_detach(&b);
}

/* xdg-open url, detached; its output goes nowhere. */
static void
open_browser(const char *url)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) != 0) {
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
		return;
	}
	/* The child forks again so that nobody waits for the browser. */
	if (fork() != 0)
		_exit(0);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execlp("xdg-open", "xdg-open", url, (char *)NULL);
	_exit(127);
}

/* Reads one request head from a browser; the request target. */
static char *
read_target(int fd)
{
	char req[REQUEST_MAX + 1], *sp, *sp2;
	size_t n = 0;
	ssize_t got;
	struct pollfd p;

	p.fd = fd;
	p.events = POLLIN;
	while (n < REQUEST_MAX) {
		if (poll(&p, 1, 3000) <= 0)
			return NULL;
		got = read(fd, req + n, REQUEST_MAX - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n"))
			break;
	}
	req[n] = '\0';
	if (strncmp(req, "GET ", 4) != 0 || (sp = strchr(req + 4, ' ')) ==
	    NULL)
		return NULL;
	*sp = '\0';
	sp2 = strchr(req + 4, '\n');
	if (sp2 != NULL)
		return NULL;
	return xstrdup(req + 4);
}

static void
answer_browser(int fd, int status, const char *text)
{
	char *resp;

	resp = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", status, status == 200 ? "OK" : "Not Found",
	    strlen(text), text);
	(void)!write(fd, resp, strlen(resp));
	free(resp);
}

/*
 * The redirect's query: code and state, or error.  0 with *code set, 1
 * for a request that is not the redirect (ignored), -1 with e.
 */
static int
take_query(const char *query, const char *state, char **code,
    struct err *e)
{
	char *got_state, *error;

	if ((error = oauth_query_param(query, "error")) != NULL) {
		int denied = strcmp(error, "access_denied") == 0;

		err_set(e, denied ? ERR_NOPERM : ERR_CONFIG, "the sign-in "
		    "%s (%.60s)", denied ? "was declined" : "failed", error);
		free(error);
		return -1;
	}
	if ((*code = oauth_query_param(query, "code")) == NULL)
		return 1;
	got_state = oauth_query_param(query, "state");
	if (got_state == NULL || strcmp(got_state, state) != 0) {
		free(got_state);
		wipe_free(*code);
		*code = NULL;
		return err_set(e, ERR_PROTOCOL, "the sign-in answer has the "
		    "wrong state (not the request posthorn made)");
	}
	free(got_state);
	return 0;
}

/* One connection to the listener. */
static int
from_browser(int lfd, const char *state, char **code, struct err *e)
{
	char *target, *q;
	int fd, rv;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return 1;
	target = read_target(fd);
	q = target != NULL ? strchr(target, '?') : NULL;
	rv = q != NULL ? take_query(q + 1, state, code, e) : 1;
	answer_browser(fd, rv == 1 ? 404 : 200, rv == 0 ? "posthorn: signed "
	    "in. You can close this window.\n" : rv == 1 ? "not found\n" :
	    "posthorn: the sign-in did not work; see the terminal.\n");
	close(fd);
	if (target != NULL)
		wipe_free(target);
	return rv;
}

/* One pasted line (the browser's final address). */
static int
from_paste(struct buf *in, const char *state, char **code, struct err *e)
{
	char *nl, *q;
	int rv;

	nl = memchr(in->data, '\n', in->len);
	if (nl == NULL)
		return 1;
	*nl = '\0';
	q = strchr(in->data, '?');
	rv = q != NULL ? take_query(q + 1, state, code, e) : 1;
	buf_consume(in, (size_t)(nl - in->data) + 1);
	return rv;
}

/* Waits for the code from the browser or standard input. */
static int
wait_code(int lfd, const char *state, char **code, struct err *e)
{
	struct pollfd p[2];
	struct buf in;
	time_t end = time(NULL) + CODE_WAIT;
	char chunk[1024];
	ssize_t got;
	int rv = 1, stdin_open = 1;

	buf_init_secret(&in, REQUEST_MAX);
	while (rv == 1) {
		if (sig_caught || time(NULL) >= end) {
			rv = err_set(e, ERR_TEMP, sig_caught ? "interrupted by "
			    "a signal" : "no sign-in within %d minutes",
			    CODE_WAIT / 60);
			break;
		}
		p[0].fd = lfd;
		p[0].events = POLLIN;
		p[1].fd = stdin_open ? 0 : -1;
		p[1].events = POLLIN;
		if (poll(p, 2, 1000) <= 0)
			continue;
		if (p[0].revents & POLLIN)
			rv = from_browser(lfd, state, code, e);
		if (rv == 1 && (p[1].revents & (POLLIN | POLLHUP))) {
			got = read(0, chunk, sizeof(chunk));
			if (got <= 0)
				stdin_open = 0;
			else if (buf_add(&in, chunk, (size_t)got) == -1)
				buf_reset(&in);
			else
				rv = from_paste(&in, state, code, e);
			explicit_bzero(chunk, sizeof(chunk));
		}
	}
	buf_wipe(&in);
	return rv;
}

int
oauth_code_obtain(const struct oauth_cfg *cfg, FILE *out,
    struct oauth_code_result *r, struct err *e)
{
	char state[33], *challenge = NULL, *url;
	const char *display = getenv("DISPLAY"), *way =
	    getenv("WAYLAND_DISPLAY");
	int lfd, port = cfg->redirect_port, rv;

	memset(r, 0, sizeof(*r));
	if (rand_alnum(state, 32) == -1 || pkce(&r->verifier, &challenge) ==
	    -1)
		return err_set(e, ERR_SOFTWARE, "no random numbers: %s",
		    strerror(errno));
	if ((lfd = listen_loopback(&port, e)) == -1) {
		free(challenge);
		return -1;
	}
	r->redirect_uri = xasprintf("http://127.0.0.1:%d/", port);
	url = authorize_url(cfg, r->redirect_uri, state, challenge);
	fprintf(out, "To sign in, open this address in a browser:\n%s\n",
	    url);
	if ((display != NULL && *display != '\0') || (way != NULL &&
	    *way != '\0')) {
		fprintf(out, "(opening it with xdg-open)\n");
		fflush(out);
		open_browser(url);
	}
	fprintf(out, "If the browser runs on another machine, paste here the "
	    "address it ends on (it starts with %s):\n", r->redirect_uri);
	fflush(out);
	rv = wait_code(lfd, state, &r->code, e);
	close(lfd);
	free(url);
	free(challenge);
	return rv;
}
