/*
 * persist owns the connection holder: the runtime directory (one socket,
 * one lock, one info file and max_connections slot files per key), the
 * client's offer of a spooled entry, and the holder's loop.
 *
 * The exchange on the socket, client first (one connection per message):
 *
 *   C: "posthorn-persist 2 KEY ID VERBOSE JSON QUEUED ENVLEN\n", the
 *      entry's message file passed with SCM_RIGHTS on its first byte,
 *      then ENVLEN octets of envelope text (envelope_write); QUEUED 1
 *      for a queue entry of a queue run (-q, the runner), settled by the
 *      holder as a queue run settles it, 0 for a new message in tmp/
 *   S: "OK PID\n", or "NO reason\n" and the end
 *   C: "GO\n"  (the client is committed: from now on only the holder
 *      sends it; a client that timed out waiting for OK never says GO,
 *      and the holder then sends nothing)
 *   S: "DONE CODE OUTLEN ERRLEN\n" and that many octets of standard
 *      output and standard error, what a direct send would have printed
 *
 * The passed descriptor shares the client's open file description, so
 * the entry's flock stays held while either process has it: a holder
 * killed in the middle leaves the entry locked by the client, which then
 * queues it (deliver_lost) for -q; nothing is sent twice by posthorn.
 * The holder checks the peer's uid (SO_PEERCRED), the key, that the
 * configuration file is unchanged and the account's OAuth2 sign-in the
 * same (oauth_store_grant: a refreshed access token is the same sign-in)
 * (it ends otherwise) and that its session is alive (a 421 or a closed
 * connection ends it) before OK.  A queue run (-q, the runner) offers
 * its entries the same way (persist_try), one exchange per entry.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "conf.h"
#include "deliver.h"
#include "envelope.h"
#include "err.h"
#include "oauth_provider.h"
#include "oauth_store.h"
#include "persist.h"
#include "route.h"
#include "smtp.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/sig.h"

#define PERSIST_MAGIC		"posthorn-persist 2"
#define PERSIST_LINE_MAX	512
/* Silence after which the holder sends NOOP: under the 5 minutes RFC
   5321 4.5.3.2.7 gives a server before it may drop an idle client. */
#define PERSIST_NOOP_IDLE	240
/* An idle holder looks at its configuration and token files this often. */
#define PERSIST_CHECK_SECONDS	30
/* A client waits this long for a holder's OK before going on. */
#define PERSIST_OK_SECONDS	10
/* How long a holder waits for GO, and a client between tries (ms). */
#define PERSIST_GO_SECONDS	5
#define PERSIST_RETRY_MS	20

/* ------------------------------------------------------- directory */

static int
private_dir(const char *path, int create)
{
	struct stat st;

	if (create && mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077) != 0)
		return -1;
	return 0;
}

static int
path_in(const struct persist *p, const char *suffix, char *out, size_t n)
{
	int r = snprintf(out, n, "%s/%s%s", p->dir, p->key, suffix);

	return r < 0 || (size_t)r >= n ? -1 : 0;
}

static int
find_dir(const char *spool_dir, char *out, size_t n)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	int r;

	if (x != NULL && x[0] == '/' && private_dir(x, 0) == 0) {
		r = snprintf(out, n, "%s/posthorn", x);
		if (r > 0 && (size_t)r < n && private_dir(out, 1) == 0)
			return 0;
	}
	if (spool_dir == NULL)
		return -1;
	r = snprintf(out, n, "%s/persist", spool_dir);
	if (r > 0 && (size_t)r < n && private_dir(out, 1) == 0)
		return 0;
	return -1;
}

int
persist_init(struct persist *p, const struct account *a,
    const char *conf_path, const char *spool_dir, int seconds)
{
	char digest[ROUTE_DIGEST_LEN], sock[sizeof(p->dir) + 64];
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];
	char *text;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->slot_fd = -1;
	p->lock_fd = -1;
	p->a = a;
	p->conf_path = conf_path;
	p->seconds = seconds;
	if (find_dir(spool_dir, p->dir, sizeof(p->dir)) == -1)
		return -1;
	route_digest(a, digest);
	text = xasprintf("%s\n%s\n%s\n%u\n", digest,
	    conf_path != NULL ? conf_path : "", spool_dir != NULL ?
	    spool_dir : "", (unsigned)getuid());
	route_sha256(text, strlen(text), h);
	free(text);
	for (i = 0; i < (PERSIST_KEY_LEN - 1) / 2; i++) {
		p->key[2 * i] = hex[h[i] >> 4];
		p->key[2 * i + 1] = hex[h[i] & 15];
	}
	p->key[PERSIST_KEY_LEN - 1] = '\0';
	/* The socket's path must fit a sockaddr_un. */
	if (path_in(p, ".sock", sock, sizeof(struct sockaddr_un) -
	    offsetof(struct sockaddr_un, sun_path)) == -1)
		return -1;
	return 0;
}

void
persist_release(struct persist *p)
{
	if (p->slot_fd != -1)
		close(p->slot_fd);
	if (p->lock_fd != -1)
		close(p->lock_fd);
	p->slot_fd = -1;
	p->lock_fd = -1;
}

/* Takes a free max_connections slot (kept in p->slot_fd): 1, or 0. */
static int
take_slot(struct persist *p)
{
	char path[PATH_MAX], suffix[32];
	int i, fd, max = p->a->max_connections > 0 ?
	    p->a->max_connections : 2;

	for (i = 0; i < max; i++) {
		snprintf(suffix, sizeof(suffix), ".slot%d", i);
		if (path_in(p, suffix, path, sizeof(path)) == -1)
			return 0;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd == -1)
			return 0;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			p->slot_fd = fd;
			return 1;
		}
		close(fd);
	}
	return 0;
}

/* ---------------------------------------------------------- wire */

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, c, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, c, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One line (without its newline) into line; -1 at the end or on error. */
static int
read_line(int fd, char *line, size_t n)
{
	size_t i = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (i + 1 >= n)
			return -1;
		line[i++] = c;
	}
	line[i] = '\0';
	return 0;
}

static void
timeouts(int fd, int seconds)
{
	struct timeval tv;

	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
sock_addr(const struct persist *p, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return path_in(p, ".sock", sa->sun_path, sizeof(sa->sun_path));
}

_Static_assert(sizeof(((struct persist_request *)0)->id) >= SPOOL_ID_MAX,
    "persist_request.id holds a queue id");

/* A decimal number without sign or leading zero, at most max: its
   length, or 0. */
static size_t
number(const char *p, size_t len, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (i > 0 && v == 0)
			return 0;	/* a leading zero */
		v = v * 10 + (unsigned long long)(p[i] - '0');
		if (v > max)
			return 0;
	}
	*out = v;
	return i;
}

/* The next field of line up to a space or the end: its length. */
static size_t
field(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && p[i] != ' '; i++)
		;
	return i;
}

int
persist_parse_request(const char *line, size_t len,
    struct persist_request *r)
{
	static const char magic[] = PERSIST_MAGIC " ";
	unsigned long long v;
	size_t n, i;

	memset(r, 0, sizeof(*r));
	/* Text only: a NUL would cut the id short of what was checked. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e)
			return -1;
	if (len < sizeof(magic) - 1 ||
	    memcmp(line, magic, sizeof(magic) - 1) != 0)
		return -1;
	line += sizeof(magic) - 1;
	len -= sizeof(magic) - 1;
	n = field(line, len);
	if (n != PERSIST_KEY_LEN - 1 || n == len)
		return -1;
	for (i = 0; i < n; i++)
		if (!((line[i] >= '0' && line[i] <= '9') ||
		    (line[i] >= 'a' && line[i] <= 'f')))
			return -1;
	memcpy(r->key, line, n);
	line += n + 1;
	len -= n + 1;
	n = field(line, len);
	if (n == 0 || n >= sizeof(r->id) || n == len)
		return -1;
	memcpy(r->id, line, n);
	r->id[n] = '\0';
	if (!spool_valid_id(r->id))
		return -1;
	line += n + 1;
	len -= n + 1;
	if ((n = number(line, len, 9, &v)) == 0 || n == len || line[n] != ' ')
		return -1;
	r->verbose = (int)v;
	line += n + 1;
	len -= n + 1;
	if ((n = number(line, len, 1, &v)) == 0 || n == len || line[n] != ' ')
		return -1;
	r->json = (int)v;
	line += n + 1;
	len -= n + 1;
	if ((n = number(line, len, 1, &v)) == 0 || n == len || line[n] != ' ')
		return -1;
	r->queued = (int)v;
	line += n + 1;
	len -= n + 1;
	if ((n = number(line, len, PERSIST_ENV_MAX, &v)) == 0 || n != len)
		return -1;
	r->envlen = (size_t)v;
	return 0;
}

int
persist_format_request(const struct persist_request *r, char *out, size_t n)
{
	int w = snprintf(out, n, "%s %s %s %d %d %d %zu\n", PERSIST_MAGIC,
	    r->key, r->id, r->verbose, r->json, r->queued, r->envlen);

	return w < 0 || (size_t)w >= n ? -1 : w;
}

int
persist_parse_done(const char *line, size_t len, int *code, size_t *outlen,
    size_t *errlen)
{
	unsigned long long v[3], max[3] = { 255, PERSIST_ENV_MAX,
	    PERSIST_ENV_MAX };
	size_t n, i;

	if (len < 5 || memcmp(line, "DONE ", 5) != 0)
		return -1;
	line += 5;
	len -= 5;
	for (i = 0; i < 3; i++) {
		if ((n = number(line, len, max[i], &v[i])) == 0)
			return -1;
		if (i < 2 && (n == len || line[n] != ' '))
			return -1;
		if (i == 2 && n != len)
			return -1;
		line += n + (i < 2);
		len -= n + (i < 2);
	}
	*code = (int)v[0];
	*outlen = (size_t)v[1];
	*errlen = (size_t)v[2];
	return 0;
}

/* ------------------------------------------------------- the client */

enum handover { H_REFUSED, H_DONE, H_LOST };

static enum handover
handover(struct persist *p, int fd, const struct spool_entry *ent,
    int verbose, int json, int *code)
{
	char line[PERSIST_LINE_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	struct persist_request rq;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	char *text = NULL, *b;
	size_t tlen = 0, outlen, errlen;
	FILE *mem;
	int n;

	if ((mem = open_memstream(&text, &tlen)) == NULL)
		return H_REFUSED;
	if (envelope_write(&ent->env, mem) == -1) {
		fclose(mem);
		free(text);
		return H_REFUSED;
	}
	fclose(mem);
	memset(&rq, 0, sizeof(rq));
	memcpy(rq.key, p->key, sizeof(rq.key));
	snprintf(rq.id, sizeof(rq.id), "%s", ent->id);
	rq.verbose = verbose > 9 ? 9 : verbose;
	rq.json = json != 0;
	rq.queued = ent->area == SPOOL_QUEUE;
	rq.envlen = tlen;
	if (tlen > PERSIST_ENV_MAX ||
	    (n = persist_format_request(&rq, line, sizeof(line))) == -1) {
		free(text);
		return H_REFUSED;
	}
	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = line;
	iov.iov_len = (size_t)n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &ent->fd, sizeof(int));
	timeouts(fd, PERSIST_OK_SECONDS);
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != n ||
	    write_all(fd, text, tlen) == -1) {
		free(text);
		return H_REFUSED;
	}
	free(text);
	if (read_line(fd, line, sizeof(line)) == -1 ||
	    strncmp(line, "OK ", 3) != 0)
		return H_REFUSED;
	if (write_all(fd, "GO\n", 3) == -1)
		return H_REFUSED;
	/* Committed: wait as long as the holder's session may take. */
	timeouts(fd, 0);
	if (read_line(fd, line, sizeof(line)) == -1 ||
	    persist_parse_done(line, strlen(line), code, &outlen,
	    &errlen) == -1)
		return H_LOST;
	b = xmalloc(outlen + errlen + 1);
	if (read_all(fd, b, outlen + errlen) == -1) {
		free(b);
		return H_LOST;
	}
	fflush(stdout);
	fwrite(b, 1, outlen, stdout);
	fflush(stdout);
	fwrite(b + outlen, 1, errlen, stderr);
	free(b);
	return H_DONE;
}

enum persist_result
persist_offer(struct persist *p, const struct spool_entry *ent, int verbose,
    int json, int *code)
{
	struct sockaddr_un sa;
	struct timespec ts;
	time_t until;
	int fd, wait = p->a->timeout > 0 ? p->a->timeout : 60;
	enum handover h;

	if (sock_addr(p, &sa) == -1)
		return PERSIST_DIRECT;
	until = time(NULL) + wait;
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd != -1 && connect(fd, (struct sockaddr *)&sa,
		    sizeof(sa)) == 0) {
			h = handover(p, fd, ent, verbose, json, code);
			close(fd);
			if (h == H_DONE)
				return PERSIST_DONE;
			if (h == H_LOST)
				return PERSIST_LOST;
		} else if (fd != -1)
			close(fd);
		if (take_slot(p))
			return PERSIST_DIRECT;
		if (time(NULL) >= until || sig_caught)
			return PERSIST_BUSY;
		ts.tv_sec = 0;
		ts.tv_nsec = PERSIST_RETRY_MS * 1000000L;
		nanosleep(&ts, NULL);
	}
}

enum persist_result
persist_try(struct persist *p, const struct spool_entry *ent, int verbose,
    int json, int *code)
{
	struct sockaddr_un sa;
	enum handover h = H_REFUSED;
	int fd;

	if (sock_addr(p, &sa) == -1 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return PERSIST_DIRECT;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		h = handover(p, fd, ent, verbose, json, code);
	close(fd);
	return h == H_DONE ? PERSIST_DONE : h == H_LOST ? PERSIST_LOST :
	    PERSIST_DIRECT;
}

/* ------------------------------------------------------- the holder */

#ifdef POSTHORN_COVERAGE
void __gcov_dump(void);
#endif

/* The holder is a fork of a sender: it ends with _exit, never running
   the sender's exit handlers twice.  A coverage build writes its counts
   first, or the holder's work would never be measured. */
static void __attribute__((noreturn))
holder_exit(void)
{
#ifdef POSTHORN_COVERAGE
	__gcov_dump();
#endif
	_exit(0);
}

struct holder {
	struct persist		*p;
	struct smtp		*s;
	struct deliver_ctx	*d;
	const struct account	*a;
	struct stat		 conf_st;
	int			 have_conf;
	char			*token_path;	/* the OAuth2 store; NULL none */
	char			*grant;		/* its sign-in when it began */
	int			 devnull;
	int			 end;		/* stop after this client */
	int			 retired;	/* socket and lock given up */
};

/*
 * The holder is ending: its socket and description go, and its lock, so
 * that the sender it turns away can become the next holder at once (the
 * old session's QUIT follows).  After this the paths may be another
 * holder's: nothing of them is touched again.
 */
static void
retire(struct holder *h)
{
	struct sockaddr_un sa;
	char info[PATH_MAX];

	if (h->retired)
		return;
	h->retired = 1;
	h->end = 1;
	if (sock_addr(h->p, &sa) == 0)
		(void)unlink(sa.sun_path);
	if (path_in(h->p, ".info", info, sizeof(info)) == 0)
		(void)unlink(info);
	if (h->p->lock_fd != -1)
		close(h->p->lock_fd);
	h->p->lock_fd = -1;
}

static int
conf_changed(const struct holder *h)
{
	struct stat st;

	if (!h->have_conf)
		return 0;
	return stat(h->p->conf_path, &st) == -1 ||
	    st.st_dev != h->conf_st.st_dev || st.st_ino != h->conf_st.st_ino ||
	    st.st_size != h->conf_st.st_size ||
	    st.st_mtim.tv_sec != h->conf_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != h->conf_st.st_mtim.tv_nsec;
}

/* The account was signed in again, or out, since the holder began (a
   refresh of the access token is not that: oauth_store_grant). */
static int
grant_changed(const struct holder *h)
{
	char *now;
	int changed;

	if (h->token_path == NULL)
		return 0;
	now = oauth_store_grant(h->token_path);
	changed = strcmp(now, h->grant) != 0;
	free(now);
	return changed;
}

/* Why the holder must end, whoever asks; NULL while it may go on. */
static const char *
must_end(const struct holder *h)
{
	if (conf_changed(h))
		return "the configuration changed";
	if (grant_changed(h))
		return "the OAuth2 sign-in changed";
	return NULL;
}

/* The session is usable: nothing unasked-for from the server (a 421, a
   close), else a NOOP must say so. */
static int
alive(struct holder *h)
{
	struct pollfd pf;
	struct err e;

	if (!h->s->open || h->s->conn.fd == -1)
		return 0;
	pf.fd = h->s->conn.fd;
	pf.events = POLLIN;
	if (poll(&pf, 1, 0) == 0)
		return 1;
	return smtp_noop(h->s, &e) == 0;
}

/* Receives the header line and the descriptor sent with its first byte. */
static int
recv_header(int c, char *line, size_t n, int *fdp)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t r;

	*fdp = -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = line;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	r = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
	if (r != 1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fdp, CMSG_DATA(cm), sizeof(int));
	if (*fdp == -1 || line[0] == '\n')
		return -1;
	return read_line(c, line + 1, n - 1);
}

/* "NO why\n": the client sends on its own. */
static void
answer(int c, const char *why)
{
	char line[PERSIST_LINE_MAX];
	int n = snprintf(line, sizeof(line), "NO %s\n", why);

	if (n > 0 && (size_t)n < sizeof(line))
		(void)write_all(c, line, (size_t)n);
}

/* Sends the captured file f's n octets to c. */
static int
send_file(int c, FILE *f, size_t n)
{
	char b[8192];
	size_t r;

	rewind(f);
	while (n > 0 && (r = fread(b, 1, n < sizeof(b) ? n : sizeof(b),
	    f)) > 0) {
		if (write_all(c, b, r) == -1)
			return -1;
		n -= r;
	}
	return 0;
}

static void
serve(struct holder *h, int c)
{
	char line[PERSIST_LINE_MAX], *text = NULL;
	struct persist_request rq;
	struct spool_entry ent;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct err e;
	FILE *fo = NULL, *fe = NULL;
	const char *why;
	long outlen, errlen;
	int fd = -1, code;

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
	    cr.uid != getuid())
		return;
	timeouts(c, PERSIST_GO_SECONDS);
	if (recv_header(c, line, sizeof(line), &fd) == -1)
		goto out;
	if (persist_parse_request(line, strlen(line), &rq) == -1) {
		answer(c, "malformed request");
		goto out;
	}
	text = xmalloc(rq.envlen + 1);
	if (read_all(c, text, rq.envlen) == -1)
		goto out;
	if (strcmp(rq.key, h->p->key) != 0) {
		answer(c, "another route");
		goto out;
	}
	if ((why = must_end(h)) != NULL) {
		retire(h);
		answer(c, why);
		goto out;
	}
	if (!alive(h)) {
		retire(h);
		answer(c, "the session ended");
		goto out;
	}
	memset(&ent, 0, sizeof(ent));
	if (envelope_parse(&ent.env, text, rq.envlen, &e) == -1) {
		answer(c, "malformed envelope");
		goto out;
	}
	snprintf(line, sizeof(line), "OK %ld\n", (long)getpid());
	if (write_all(c, line, strlen(line)) == -1 ||
	    read_line(c, line, sizeof(line)) == -1 ||
	    strcmp(line, "GO") != 0) {
		envelope_release(&ent.env);
		goto out;
	}
	memcpy(ent.id, rq.id, strlen(rq.id) + 1);
	ent.area = rq.queued ? SPOOL_QUEUE : SPOOL_TMP;
	ent.fd = fd;
	fd = -1;
	fo = tmpfile();
	fe = tmpfile();
	if (fo == NULL || fe == NULL) {
		/* Nothing sent: the client queues it (a lost holder). */
		spool_release(&ent);
		h->end = 1;
		goto out;
	}
	fflush(stdout);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	h->d->verbose = rq.verbose;
	h->d->json = rq.json;
	h->d->now = time(NULL);
	h->s->verbose = rq.verbose;
	if (rq.verbose)
		fprintf(stderr, "posthorn: %s%ssending through the connection "
		    "held by process %ld (persist)\n", rq.queued ? ent.id : "",
		    rq.queued ? ": " : "", (long)getpid());
	/* A queue run's entry goes alone: the run sends the rest. */
	code = rq.queued ? deliver_held_queued(h->d, &ent, h->a, h->s) :
	    deliver_held(h->d, &ent, h->a, h->s);
	spool_release(&ent);
	fflush(stdout);
	fflush(stderr);
	dup2(h->devnull, 1);
	dup2(h->devnull, 2);
	outlen = ftell(fo);
	errlen = ftell(fe);
	if (outlen < 0 || errlen < 0)
		outlen = errlen = 0;
	snprintf(line, sizeof(line), "DONE %d %ld %ld\n", code, outlen,
	    errlen);
	timeouts(c, PERSIST_GO_SECONDS);
	if (write_all(c, line, strlen(line)) == 0 &&
	    send_file(c, fo, (size_t)outlen) == 0)
		(void)send_file(c, fe, (size_t)errlen);
	if (!h->s->open)
		h->end = 1;
out:
	if (fo != NULL)
		fclose(fo);
	if (fe != NULL)
		fclose(fe);
	if (fd != -1)
		close(fd);
	free(text);
}

static void
write_info(const struct holder *h, const char *path)
{
	char tmp[PATH_MAX], *desc;
	FILE *f;
	int r;

	r = snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (r < 0 || (size_t)r >= sizeof(tmp) ||
	    (f = fopen(tmp, "w")) == NULL)
		return;
	desc = route_describe(h->a);
	fprintf(f, "pid %ld\naccount %s\nroute %s\nidle %d\nconfig %s\n",
	    (long)getpid(), h->a->name != NULL ? h->a->name : "(command line)",
	    desc, h->p->seconds, h->p->conf_path != NULL ? h->p->conf_path :
	    "(none)");
	free(desc);
	if (fclose(f) == 0)
		(void)rename(tmp, path);
}

static void
holder_loop(struct holder *h, int lfd)
{
	struct pollfd pf[2];
	time_t now, idle_since, last_cmd;
	int c, wait, n;
	struct err e;

	idle_since = last_cmd = time(NULL);
	while (!h->end && !sig_caught) {
		now = time(NULL);
		if (now - idle_since >= h->p->seconds)
			break;
		wait = (int)(idle_since + h->p->seconds - now);
		if (last_cmd + PERSIST_NOOP_IDLE - now < wait)
			wait = (int)(last_cmd + PERSIST_NOOP_IDLE - now);
		/* A changed file ends an idle holder too, soon. */
		if ((h->have_conf || h->token_path != NULL) &&
		    wait > PERSIST_CHECK_SECONDS)
			wait = PERSIST_CHECK_SECONDS;
		if (wait < 0)
			wait = 0;
		pf[0].fd = lfd;
		pf[0].events = POLLIN;
		pf[1].fd = h->s->conn.fd;
		pf[1].events = POLLIN;
		n = poll(pf, 2, wait * 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		now = time(NULL);
		if (n == 0 && must_end(h) != NULL) {
			retire(h);
			break;
		}
		if (pf[1].revents != 0 || now - last_cmd >= PERSIST_NOOP_IDLE) {
			/* The server spoke unasked (421, a close) or the
			   session has been silent long enough. */
			if (smtp_noop(h->s, &e) == -1)
				break;
			last_cmd = now;
		}
		if (pf[0].revents & POLLIN) {
			c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c == -1)
				continue;
			serve(h, c);
			close(c);
			idle_since = last_cmd = time(NULL);
		}
	}
}

/* The parent lets go of s without a byte to the server: the holder has
   it now. */
static void
detach(struct smtp *s)
{
	int nul = open("/dev/null", O_RDWR);

	if (nul != -1 && s->conn.fd != -1) {
		(void)dup2(nul, s->conn.fd);
		/* TLS's close_notify goes to /dev/null. */
	}
	if (nul != -1)
		close(nul);
	s->open = 0;
	s->quit_sent = 0;
	smtp_close(s);
}

void
persist_hold(struct persist *p, struct smtp *s, struct deliver_ctx *d,
    const struct account *a)
{
	char lock[PATH_MAX], info[PATH_MAX];
	struct sockaddr_un sa;
	struct holder h;
	struct err e;
	pid_t pid;
	int lfd, nul;

	if (!s->open || sock_addr(p, &sa) == -1 ||
	    path_in(p, ".lock", lock, sizeof(lock)) == -1 ||
	    path_in(p, ".info", info, sizeof(info)) == -1) {
		smtp_close(s);
		return;
	}
	p->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (p->lock_fd == -1 || flock(p->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		/* Another holder serves this key already. */
		smtp_close(s);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0) {
		/* The parent (or no child: then the session just ends). */
		if (pid == -1)
			smtp_close(s);
		else {
			detach(s);
			if (d->verbose)
				fprintf(stderr, "posthorn: process %ld holds "
				    "the connection for later sends, up to "
				    "%d s idle (persist)\n", (long)pid,
				    p->seconds);
		}
		close(p->lock_fd);
		p->lock_fd = -1;
		return;
	}
	(void)setsid();
	nul = open("/dev/null", O_RDWR);
	if (nul == -1)
		holder_exit();
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	signal(SIGPIPE, SIG_IGN);
	memset(&h, 0, sizeof(h));
	h.p = p;
	h.s = s;
	h.d = d;
	h.a = a;
	h.devnull = nul;
	if (p->conf_path != NULL && stat(p->conf_path, &h.conf_st) == 0)
		h.have_conf = 1;
	/* The sign-in it authenticated with (a moment ago, in the parent). */
	if (oauth_provider_used(a) && oauth_store_path(a, &h.token_path,
	    &e) == 0)
		h.grant = oauth_store_grant(h.token_path);
	else
		h.token_path = NULL;
	/* Whoever held the lock before is gone: its socket is stale. */
	(void)unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd != -1 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    chmod(sa.sun_path, 0600) == 0 && listen(lfd, 64) == 0) {
		write_info(&h, info);
		holder_loop(&h, lfd);
		retire(&h);
	}
	if (lfd != -1)
		close(lfd);
	smtp_close(s);
	free(h.token_path);
	free(h.grant);
	holder_exit();
}

/* ------------------------------------------------------ status, stop */

/* Calls fn for each live holder's info file in the runtime directory. */
static int
each_holder(const char *spool_dir, const char *account, FILE *out,
    int stop)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[PATH_MAX], lock[PATH_MAX], l[1024], name[256] = "";
	char route[512] = "", conf[PATH_MAX] = "";
	struct dirent *de;
	DIR *dp;
	FILE *f;
	long pid;
	int fd, idle, found = 0, r;
	size_t n;

	if (find_dir(spool_dir, dir, sizeof(dir)) == -1 ||
	    (dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".info") != 0)
			continue;
		r = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (r < 0 || (size_t)r >= sizeof(path))
			continue;
		snprintf(lock, sizeof(lock), "%.*s.lock", (int)strlen(path) - 5,
		    path);
		/* A lock nobody holds: the holder is gone. */
		fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd == -1)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			close(fd);
			continue;
		}
		close(fd);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		pid = -1;
		idle = 0;
		while (fgets(l, sizeof(l), f) != NULL) {
			l[strcspn(l, "\n")] = '\0';
			if (strncmp(l, "pid ", 4) == 0)
				pid = strtol(l + 4, NULL, 10);
			else if (strncmp(l, "account ", 8) == 0)
				snprintf(name, sizeof(name), "%.255s", l + 8);
			else if (strncmp(l, "route ", 6) == 0)
				snprintf(route, sizeof(route), "%.511s", l + 6);
			else if (strncmp(l, "idle ", 5) == 0)
				idle = atoi(l + 5);
			else if (strncmp(l, "config ", 7) == 0)
				snprintf(conf, sizeof(conf), "%s", l + 7);
		}
		fclose(f);
		if (pid <= 1 || (account != NULL && strcmp(account, name) != 0))
			continue;
		found++;
		if (stop) {
			if (kill((pid_t)pid, SIGTERM) == 0)
				fprintf(out, "stopped %s (pid %ld)\n", name,
				    pid);
		} else
			fprintf(out, "%s: pid %ld, %s, idle up to %d s, "
			    "config %s\n", name, pid, route, idle, conf);
	}
	closedir(dp);
	return found;
}

int
persist_status(const char *spool_dir, FILE *out)
{
	return each_holder(spool_dir, NULL, out, 0);
}

int
persist_stop(const char *spool_dir, const char *account, FILE *out)
{
	return each_holder(spool_dir, account, out, 1);
}
