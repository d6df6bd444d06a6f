/*
 * test_transport: the transport layers and the conn on top of them.  The
 * deadline arithmetic as a table; line and raw reads over the in-memory
 * stream; the stage deadline against a peer that trickles one byte at a
 * time (it must end at the deadline, not at the next byte); the session
 * deadline; a write that sees input arrive (an early reply); unix-domain
 * and TCP sockets, and their caps one byte over; and last, a signal that
 * ends a wait at once.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "tls.h"
#include "transport.h"
#include "util/buf.h"
#include "util/sig.h"
#include "t.h"

static void
test_deadline(void)
{
	static const struct {
		long long	 now;
		int		 seconds;
		long long	 cap;
		long long	 want;
	} t[] = {
		{ 1000, 0, 0, 0 },		/* no limit at all */
		{ 1000, -1, 0, 0 },
		{ 1000, 5, 0, 6000 },		/* the stage's own */
		{ 1000, 5, 9000, 6000 },	/* sooner than the session */
		{ 1000, 5, 4000, 4000 },	/* the session's is sooner */
		{ 1000, 5, 6000, 6000 },	/* both the same */
		{ 1000, 0, 4000, 4000 },	/* only the session's */
		{ 1000, 2147483, 0, 1000 + 2147483000LL },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		t_inteq(transport_deadline(t[i].now, t[i].seconds, t[i].cap),
		    t[i].want, "deadline %zu: now %lld, %d s, cap %lld", i,
		    t[i].now, t[i].seconds, t[i].cap);
}

/* A peer that says turns[i] in turn i, one turn per client wait. */
struct script {
	const char	**turns;
	size_t		  n;
	size_t		  i;
	size_t		  off;
	int		  started;
	struct buf	  out;
	int		  turned;
};

static ssize_t
script_read(void *arg, void *p, size_t n)
{
	struct script *s = arg;
	size_t left;

	if (s->i >= s->n)
		return 0;
	left = strlen(s->turns[s->i]) - s->off;
	if (left == 0)
		return TRANSPORT_AGAIN;
	if (n > left)
		n = left;
	memcpy(p, s->turns[s->i] + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void
script_turn(void *arg)
{
	struct script *s = arg;

	s->turned++;
	if (s->i < s->n) {
		s->i++;
		s->off = 0;
	}
}

static int
script_write(void *arg, const void *p, size_t n)
{
	struct script *s = arg;

	return buf_add(&s->out, p, n);
}

static struct transport *
script_transport(struct script *s, const char **turns, size_t n)
{
	struct transport_peer peer = { script_read, script_turn,
	    script_write, s };

	memset(s, 0, sizeof(*s));
	s->turns = turns;
	s->n = n;
	buf_init(&s->out, 0);
	return transport_memory(&peer, "mem.example");
}

static void
test_memory_lines(void)
{
	static const char *turns[] = { "220 hello\r\n250-a\r\n", "250 b\nX",
	    "YZ\r\nrest" };
	struct script sc;
	struct conn c;
	struct err e;
	const char *line;
	size_t len;
	char raw[8];
	ssize_t r;

	conn_init(&c);
	conn_attach(&c, script_transport(&sc, turns, 3));
	t_ok(conn_stage(&c, 10, "for the test", &e) == 0, "a stage starts");
	t_ok(conn_getline(&c, &line, &len, 100, &e) == 0 &&
	    strcmp(line, "220 hello") == 0, "first line: '%s'", line);
	t_ok(conn_getline(&c, &line, &len, 100, &e) == 0 &&
	    strcmp(line, "250-a") == 0, "second line, same turn");
	t_inteq(sc.turned, 0, "no turn while input is there");
	t_ok(conn_getline(&c, &line, &len, 100, &e) == 0 &&
	    strcmp(line, "250 b") == 0, "a bare LF ends a line too");
	t_inteq(sc.turned, 1, "the peer's next turn came with the wait");
	t_inteq(conn_buffered(&c), 1, "one byte buffered");
	r = conn_read(&c, raw, sizeof(raw), &e);
	t_ok(r == 1 && raw[0] == 'X', "conn_read takes the buffered byte "
	    "first");
	r = conn_read(&c, raw, sizeof(raw), &e);
	t_ok(r == 8 && memcmp(raw, "YZ\r\nrest", 8) == 0, "then reads on");
	r = conn_read(&c, raw, sizeof(raw), &e);
	t_inteq(r, 0, "0 at the end of the stream");
	t_ok(conn_getline(&c, &line, &len, 100, &e) == -1 &&
	    e.kind == ERR_TEMP && strstr(e.text, "closed") != NULL,
	    "a line at the end: %s", e.text);
	t_ok(conn_write(&c, "QUIT\r\n", 6, &e) == 0 &&
	    conn_flush(&c, &e) == 0 && sc.out.len == 6, "a write reaches "
	    "the peer");
	conn_close(&c);
	conn_close(&c);
	t_ok(c.t == NULL && c.fd == -1, "closed, twice");
	buf_release(&sc.out);
}

static void
test_line_cap(void)
{
	char one[64], over[64];
	struct buf out;
	struct conn c;
	struct err e;
	const char *line;
	size_t len;

	/* 10 bytes and CRLF: at the cap.  11: one byte over. */
	memcpy(one, "0123456789\r\n", 13);
	memcpy(over, "0123456789A\r\n", 14);
	buf_init(&out, 0);
	conn_init(&c);
	conn_attach(&c, transport_memory_buf(one, strlen(one), &out, "m"));
	conn_stage(&c, 10, "for a line", &e);
	t_ok(conn_getline(&c, &line, &len, 10, &e) == 0 && len == 10,
	    "a line of exactly max bytes");
	conn_close(&c);
	conn_attach(&c, transport_memory_buf(over, strlen(over), &out, "m"));
	t_ok(conn_getline(&c, &line, &len, 10, &e) == -1 &&
	    e.kind == ERR_PROTOCOL && strstr(e.text, "too long") != NULL,
	    "one byte over is an error, not a shorter line: %s", e.text);
	conn_close(&c);
	buf_release(&out);
}

static void
test_silent_peer(void)
{
	static const char *turns[] = { "" , "" };
	struct script sc;
	struct conn c;
	struct err e;
	const char *line;
	size_t len;

	conn_init(&c);
	conn_attach(&c, script_transport(&sc, turns, 1));
	sc.n = 2;
	conn_stage(&c, 300, "for the reply to DATA", &e);
	t_ok(conn_getline(&c, &line, &len, 100, &e) == -1 &&
	    e.kind == ERR_TEMP && strcmp(e.text, "timed out after 300 s "
	    "waiting for the reply to DATA") == 0,
	    "the expiry names the stage: %s", e.text);
	conn_close(&c);
	buf_release(&sc.out);
}

static void
test_session(void)
{
	static const char *turns[] = { "220 x\r\n" };
	struct script sc;
	struct conn c;
	struct err e;

	conn_init(&c);
	conn_attach(&c, script_transport(&sc, turns, 1));
	conn_session(&c, 60);
	t_ok(c.session_end > transport_now() + 59000, "a session of 60 s");
	t_ok(conn_stage(&c, 300, "for the greeting", &e) == 0 &&
	    c.deadline == c.session_end && c.by_session,
	    "a stage longer than the session ends with it");
	conn_session_extend(&c, 30);
	t_ok(c.deadline == c.session_end && c.session_limit == 90,
	    "the data allowance moves both");
	t_ok(conn_stage(&c, 10, "for the greeting", &e) == 0 &&
	    !c.by_session && c.deadline < c.session_end,
	    "a shorter stage keeps its own");
	/* The session is over (as after a long SCRAM computation). */
	c.session_end = transport_now() - 1;
	t_ok(conn_stage(&c, 10, "for the reply to AUTH", &e) == -1 &&
	    e.kind == ERR_TEMP && strcmp(e.text, "timed out waiting for "
	    "the reply to AUTH: the session took longer than its limit of "
	    "90 s (session_timeout)") == 0,
	    "a stage after the session's end fails at once: %s", e.text);
	conn_session(&c, 0);
	t_ok(c.session_end == 0 && conn_stage(&c, 10, "x", &e) == 0,
	    "session_timeout off");
	conn_close(&c);
	buf_release(&sc.out);
}

/* An early reply: input is there while the client writes. */
static void
test_watch(void)
{
	static const char *turns[] = { "552 5.3.4 too big\r\n" };
	static char big[CONN_OUTBUF + 10];
	struct script sc;
	struct conn c;
	struct err e;

	conn_init(&c);
	conn_attach(&c, script_transport(&sc, turns, 1));
	conn_stage(&c, 10, "to send the message data", &e);
	memset(big, 'x', sizeof(big));
	t_ok(conn_write(&c, big, 100, &e) == 0 && conn_flush(&c, &e) == 0,
	    "without a watch, input does not stop a write");
	conn_watch(&c, 1);
	t_ok(conn_write(&c, big, sizeof(big), &e) == -1 && conn_early(&c) &&
	    e.kind == ERR_TEMP, "with it, the write stops: %s", e.text);
	t_inteq(sc.out.len, 100, "and nothing of it was sent");
	conn_watch(&c, 0);
	t_ok(conn_early(&c), "switching the watch off keeps the news");
	conn_watch(&c, 1);
	t_ok(!conn_early(&c), "switching it on again clears it");
	conn_close(&c);
	buf_release(&sc.out);
}

/* A child that writes s one byte every ms milliseconds to fd. */
static pid_t
trickle(int fd, const char *s, int ms)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	for (; *s != '\0'; s++) {
		if (write(fd, s, 1) != 1)
			_exit(1);
		usleep((useconds_t)ms * 1000);
	}
	_exit(0);
}

static void
stop(pid_t pid)
{
	int st;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

/*
 * Per-read timeouts never ended this: a byte arrives every 100 ms, well
 * within any per-read limit.  The stage's deadline (1 s) must.
 */
static void
test_trickle(void)
{
	struct transport *t;
	struct conn c;
	struct err e;
	const char *line;
	long long start, took;
	size_t len;
	pid_t pid;

	{
		char dir[] = "/tmp/test_transport_XXXXXX", path[128];
		struct sockaddr_un sun;
		int l, peer;

		t_ok(mkdtemp(dir) != NULL, "temporary directory");
		snprintf(path, sizeof(path), "%s/s", dir);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, strlen(path) + 1);
		l = socket(AF_UNIX, SOCK_STREAM, 0);
		t_ok(l != -1 && bind(l, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0 && listen(l, 1) == 0, "listening on %s",
		    path);
		t = transport_unix(path, 0, &e);
		t_ok(t != NULL, "transport_unix connects");
		peer = accept(l, NULL, NULL);
		conn_init(&c);
		conn_attach(&c, t);
		pid = trickle(peer, "250 a reply trickled one byte at a time "
		    "for longer than its deadline\r\n", 100);
		conn_stage(&c, 1, "for the reply to DATA", &e);
		start = transport_now();
		t_ok(conn_getline(&c, &line, &len, 512, &e) == -1 &&
		    e.kind == ERR_TEMP && strcmp(e.text, "timed out after 1 s "
		    "waiting for the reply to DATA") == 0,
		    "a trickling peer ends at the stage's deadline: %s",
		    e.text);
		took = transport_now() - start;
		t_ok(took >= 950 && took < 3000, "after about 1 s (%lld ms)",
		    took);
		stop(pid);
		conn_close(&c);
		close(peer);
		close(l);
		unlink(path);
		rmdir(dir);
	}
}

static void
test_unix_caps(void)
{
	struct sockaddr_un sun;
	struct transport *t;
	char path[sizeof(sun.sun_path) + 2];
	struct err e;

	/* The longest path a socket address holds: tried (and missing). */
	memset(path, 'x', sizeof(sun.sun_path) - 1);
	path[0] = '/';
	path[sizeof(sun.sun_path) - 1] = '\0';
	t = transport_unix(path, 0, &e);
	t_ok(t == NULL && e.kind == ERR_TEMP, "a path of %zu bytes is "
	    "tried: %.40s...", sizeof(sun.sun_path) - 1, e.text);
	/* One byte more: refused, never cut to a shorter path. */
	memset(path, 'x', sizeof(sun.sun_path));
	path[0] = '/';
	path[sizeof(sun.sun_path)] = '\0';
	t = transport_unix(path, 0, &e);
	t_ok(t == NULL && e.kind == ERR_CONFIG && strstr(e.text, "too long"),
	    "one byte more is ERR_CONFIG");
}

static void
test_tcp(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct conn_dial d;
	struct conn c;
	struct err e;
	int l, port, peer;

	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t_ok(bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    listen(l, 1) == 0 && getsockname(l, (struct sockaddr *)&sin,
	    &len) == 0, "listening on 127.0.0.1");
	port = ntohs(sin.sin_port);
	memset(&d, 0, sizeof(d));
	d.host = "127.0.0.1";
	d.port = port;
	d.connect_timeout = 5;
	conn_init(&c);
	t_ok(conn_dial(&c, &d, &e) == 0 && c.fd != -1 &&
	    strcmp(c.peer, "127.0.0.1") == 0 && strcmp(c.host, "127.0.0.1")
	    == 0, "conn_dial over TCP");
	peer = accept(l, NULL, NULL);
	t_ok(write(peer, "220 hi\r\n", 8) == 8, "the peer greets");
	{
		const char *line;
		size_t n;

		conn_stage(&c, 5, "for the greeting", &e);
		t_ok(conn_getline(&c, &line, &n, 100, &e) == 0 &&
		    strcmp(line, "220 hi") == 0, "and the greeting arrives");
	}
	t_ok(conn_dial(&c, &d, &e) == -1 && e.kind == ERR_SOFTWARE,
	    "no dial on an open conn");
	conn_close(&c);
	close(peer);
	close(l);

	/* Nobody listens there now. */
	t_ok(conn_dial(&c, &d, &e) == -1 && e.kind == ERR_TEMP &&
	    strstr(e.text, "cannot connect to 127.0.0.1 (127.0.0.1 port") !=
	    NULL, "refused: %s", e.text);
	d.port = 0;
	t_ok(conn_dial(&c, &d, &e) == -1 && e.kind == ERR_CONFIG,
	    "port 0 is a configuration error");
	d.port = port;
	/* Through a SOCKS5 proxy that does not answer (socks.c's own
	   tests: fuzz_socks, tests/cases/net-socks5*). */
	d.host = "smtp.example.test";
	d.proxy_host = "127.0.0.1";
	d.proxy_port = port;
	t_ok(conn_dial(&c, &d, &e) == -1 && e.kind == ERR_TEMP &&
	    strstr(e.text, "SOCKS5 proxy: cannot connect to 127.0.0.1") !=
	    NULL, "a proxy that refuses: %s", e.text);
}

/*
 * A server that answers the TLS handshake with text: the error quotes
 * its first line, 40 bytes of it, and says when it was cut.
 */
static void
tls_text(const char *answer, const char *want)
{
	static const unsigned char pin[32] = { 1 };
	struct tls_params p;
	struct buf out;
	struct conn c;
	struct err e;

	memset(&p, 0, sizeof(p));
	p.host = "mx.example";
	p.certcheck = 1;
	p.fingerprint = pin;
	p.fingerprint_len = sizeof(pin);
	p.timeout = 10;
	buf_init(&out, 0);
	conn_init(&c);
	conn_attach(&c, transport_memory_buf(answer, strlen(answer), &out,
	    "mx.example"));
	t_ok(conn_starttls(&c, &p, &e) == -1 && e.kind == ERR_PROTOCOL &&
	    strstr(e.text, want) != NULL, "TLS to a text server: %s", e.text);
	t_ok(out.len > 0 && (unsigned char)out.data[0] == 0x16,
	    "a ClientHello went down the stack");
	conn_close(&c);
	buf_release(&out);
}

/*
 * A pin that is neither SHA-256 nor SHA-1 (the configuration parser never
 * makes one; a caller might): refused before a byte is sent.
 */
static void
test_tls_pin_length(void)
{
	static const unsigned char pin[16] = { 1 };
	struct tls_params p;
	struct buf out;
	struct conn c;
	struct err e;

	memset(&p, 0, sizeof(p));
	p.host = "mx.example";
	p.certcheck = 1;
	p.fingerprint = pin;
	p.fingerprint_len = sizeof(pin);
	buf_init(&out, 0);
	conn_init(&c);
	conn_attach(&c, transport_memory_buf("", 0, &out, "mx.example"));
	t_ok(conn_starttls(&c, &p, &e) == -1 && e.kind == ERR_CONFIG &&
	    strstr(e.text, "tls_fingerprint must be a SHA-256 or SHA-1 "
	    "fingerprint") != NULL, "a 16-byte pin is refused: %s", e.text);
	t_inteq(out.len, 0, "nothing was sent with a bad pin");
	conn_close(&c);
	buf_release(&out);
}

static void
test_tls_quote(void)
{
	/* 40 bytes: whole.  41: cut, and marked. */
	tls_text("HTTP/1.1 400 Bad Request 123456789012345\r\n",
	    "(it sent 'HTTP/1.1 400 Bad Request 123456789012345')");
	tls_text("HTTP/1.1 400 Bad Request 1234567890123456\r\n",
	    "(it sent 'HTTP/1.1 400 Bad Request 123456789012345...')");
}

/* Last: once caught, the signal stays caught for the process. */
static void
test_signal(void)
{
	char dir[] = "/tmp/test_transport_XXXXXX", path[128];
	struct sockaddr_un sun;
	struct conn c;
	struct err e;
	const char *line;
	long long start;
	size_t len;
	int l, peer;

	sig_install();
	t_ok(mkdtemp(dir) != NULL, "temporary directory");
	snprintf(path, sizeof(path), "%s/s", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&sun, sizeof(sun));
	listen(l, 1);
	conn_init(&c);
	conn_attach(&c, transport_unix(path, 0, &e));
	peer = accept(l, NULL, NULL);
	conn_stage(&c, 300, "for the greeting", &e);
	/* The signal lands before the wait: the pipe still ends it. */
	kill(getpid(), SIGTERM);
	start = transport_now();
	t_ok(conn_getline(&c, &line, &len, 100, &e) == -1 &&
	    e.kind == ERR_TEMP && strstr(e.text, "interrupted by a signal"),
	    "a signal ends a wait of 300 s: %s", e.text);
	t_ok(transport_now() - start < 1000, "at once");
	conn_close(&c);
	close(peer);
	close(l);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_deadline();
	test_memory_lines();
	test_line_cap();
	test_silent_peer();
	test_session();
	test_watch();
	test_trickle();
	test_unix_caps();
	test_tcp();
	test_tls_quote();
	test_tls_pin_length();
	test_signal();
	return t_done();
}
