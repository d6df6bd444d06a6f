/*
 * test_smtp: the client dialogue against a scripted peer over the
 * in-memory transport.  A plain send; a reply in the middle of the data
 * (5xx fails the message, 4xx defers it, whether the server keeps reading
 * or closes); every wait naming its stage when it runs out, and a session
 * past its deadline; the caps of smtp.c one byte over (a MAIL or RCPT
 * command longer than 64 KiB, an AUTH list longer than the caps hold)
 * refused instead of cut; an empty recipient refused; and the arithmetic
 * of the data's time allowance.
 */
#include "config.h"

#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "smtp.h"
#include "transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "t.h"

#define CMD_MAX		(64 * 1024)	/* as smtp.c: a command line */

/*
 * The server: turns[i] is what it says in turn i (a turn begins when the
 * client waits).  Once the client has sent more than early_after bytes,
 * early is there to be read at once (a reply in the middle of the data);
 * with close_after, writes beyond that many bytes fail (the server
 * replied and closed).
 */
struct peer {
	const char	**turns;
	size_t		  n;
	size_t		  i;
	size_t		  off;
	struct buf	  out;
	size_t		  early_after;
	const char	 *early;
	size_t		  early_off;
	int		  early_on;
	size_t		  close_after;
};

static ssize_t
peer_read(void *arg, void *p, size_t n)
{
	struct peer *s = arg;
	size_t left;

	if (s->early_on && s->early[s->early_off] != '\0') {
		left = strlen(s->early + s->early_off);
		if (n > left)
			n = left;
		memcpy(p, s->early + s->early_off, n);
		s->early_off += n;
		return (ssize_t)n;
	}
	if (s->early_on)
		return 0;
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
peer_turn(void *arg)
{
	struct peer *s = arg;

	if (s->i < s->n) {
		s->i++;
		s->off = 0;
	}
}

static int
peer_write(void *arg, const void *p, size_t n)
{
	struct peer *s = arg;

	if (s->close_after > 0 && s->out.len + n > s->close_after) {
		s->early_on = s->early != NULL;
		return -1;
	}
	buf_add(&s->out, p, n);
	if (s->early != NULL && s->early_after > 0 &&
	    s->out.len > s->early_after)
		s->early_on = 1;
	return 0;
}

static struct transport *
peer_new(struct peer *s, const char **turns, size_t n)
{
	struct transport_peer tp = { peer_read, peer_turn, peer_write, s };

	memset(s, 0, sizeof(*s));
	s->turns = turns;
	s->n = n;
	buf_init(&s->out, 0);
	return transport_memory(&tp, "mx.example");
}

static struct account *
account(void)
{
	struct account *a = conf_account_new("test");

	a->host = xstrdup("mx.example");
	a->tls = 0;
	a->auth = 0;
	return a;
}

/* A stored message of size bytes: headers, then lines of x. */
static int
message(off_t size)
{
	FILE *f = tmpfile();
	off_t n = 0;
	int fd;

	fputs("Subject: t\r\n\r\n", f);
	n = 14;
	while (n < size) {
		fputs(size - n >= 60 ? "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxx\r\n" : "x", f);
		n += size - n >= 60 ? 58 : 1;
	}
	fflush(f);
	fd = dup(fileno(f));
	fclose(f);
	return fd;
}

static void
envelope(struct envelope *env, const char *to, off_t size)
{
	envelope_init(env);
	env->sender = xstrdup("alice@example.org");
	envelope_add_rcpt(env, to);
	env->size = size;
}

#define EHLO_PIPE	"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"

static void
test_send(void)
{
	static const char *turns[] = { "220 mx ready\r\n", EHLO_PIPE,
	    "250 ok\r\n250 ok\r\n354 go\r\n", "250 queued\r\n", "221 bye\r\n" };
	struct account *a = account();
	struct envelope env;
	struct peer p;
	struct smtp s;
	struct err e;
	int fd = message(200);

	t_ok(smtp_open_on(&s, a, peer_new(&p, turns, 5), 0, &e) == 0,
	    "a session over memory opens");
	envelope(&env, "bob@example.org", 200);
	t_ok(smtp_send(&s, &env, fd, 1, &e) == 0 &&
	    env.rcpt[0].state == RCPT_DONE, "and sends");
	t_ok(strstr(buf_str(&p.out), "MAIL FROM:<alice@example.org>\r\n"
	    "RCPT TO:<bob@example.org>\r\nDATA\r\n") != NULL,
	    "the envelope in one write");
	t_ok(strstr(buf_str(&p.out), "\r\n.\r\nQUIT\r\n") != NULL,
	    "the end of the data with QUIT");
	smtp_close(&s);
	envelope_release(&env);
	buf_release(&p.out);
	conf_account_free(a);
	close(fd);
}

/*
 * A reply while the data is written.  method: DATA (pipelined) or BDAT
 * (without pipelining, so the data follows the envelope's replies).
 */
static void
early(const char *what, int bdat, const char *reply, size_t close_after,
    enum err_kind kind, int code)
{
	static const char *turns_data[] = { "220 mx\r\n", EHLO_PIPE,
	    "250 ok\r\n250 ok\r\n354 go\r\n", "250 too late\r\n" };
	static const char *turns_bdat[] = { "220 mx\r\n",
	    "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n", "250 ok\r\n",
	    "250 too late\r\n" };
	struct account *a = account();
	struct envelope env;
	struct peer p;
	struct smtp s;
	struct err e;
	off_t size = 1 << 20;
	int fd = message(size);

	if (smtp_open_on(&s, a, bdat ? peer_new(&p, turns_bdat, 5) :
	    peer_new(&p, turns_data, 4), 0, &e) == -1) {
		t_ok(0, "%s: open: %s", what, e.text);
		return;
	}
	p.early = reply;
	p.early_after = close_after > 0 ? 0 : 200000;
	p.close_after = close_after;
	envelope(&env, "bob@example.org", size);
	t_ok(smtp_send(&s, &env, fd, 1, &e) == -1 && e.kind == kind &&
	    e.reply == code && env.rcpt[0].state == RCPT_PENDING,
	    "%s: the reply answers the data: %s", what, e.text);
	t_ok(p.out.len < (size_t)size, "%s: the data stopped (%zu of %lld "
	    "bytes sent)", what, p.out.len, (long long)size);
	t_ok(strstr(e.text, "during the data") != NULL, "%s: and says when",
	    what);
	t_ok(!s.open, "%s: the session is not used again", what);
	{
		size_t before = p.out.len;

		smtp_close(&s);
		t_inteq(p.out.len, before, "%s: not even for QUIT", what);
	}
	envelope_release(&env);
	buf_release(&p.out);
	conf_account_free(a);
	close(fd);
}

static void
test_early(void)
{
	early("552 while reading on", 0, "552 5.3.4 Message too big\r\n", 0,
	    ERR_UNAVAILABLE, 552);
	early("452 while reading on", 0, "452 4.3.1 Out of space\r\n", 0,
	    ERR_TEMP, 452);
	early("552 and close", 0, "552 5.3.4 Message too big\r\n", 150000,
	    ERR_UNAVAILABLE, 552);
	early("BDAT, 554 and close", 1, "554 5.7.1 No\r\n", 150000,
	    ERR_UNAVAILABLE, 554);
	early("250 in the middle", 0, "250 what\r\n", 0, ERR_PROTOCOL, 250);
}

/* Closed with nothing to read: the write's own error, temporary. */
static void
test_lost(void)
{
	static const char *turns[] = { "220 mx\r\n", EHLO_PIPE,
	    "250 ok\r\n250 ok\r\n354 go\r\n" };
	struct account *a = account();
	struct envelope env;
	struct peer p;
	struct smtp s;
	struct err e;
	int fd = message(1 << 20);

	smtp_open_on(&s, a, peer_new(&p, turns, 3), 0, &e);
	p.close_after = 100000;
	envelope(&env, "bob@example.org", 1 << 20);
	t_ok(smtp_send(&s, &env, fd, 1, &e) == -1 && e.kind == ERR_TEMP &&
	    strstr(e.text, "message data") != NULL,
	    "a connection lost in the data is temporary: %s", e.text);
	smtp_close(&s);
	envelope_release(&env);
	buf_release(&p.out);
	conf_account_free(a);
	close(fd);
}

/* Each stage that runs out says what it waited for. */
static void
test_stages(void)
{
	static const char *turns[] = { "220 mx\r\n", EHLO_PIPE,
	    "250 ok\r\n250 ok\r\n", "" };
	static const char *greet[] = { "", "" };
	struct account *a = account();
	struct envelope env;
	struct peer p;
	struct smtp s;
	struct err e;
	int fd = message(100);

	a->timeout = 7;
	t_ok(smtp_open_on(&s, a, peer_new(&p, greet, 2), 0, &e) == -1 &&
	    e.kind == ERR_TEMP && strcmp(e.text, "mx.example (greeting): "
	    "timed out after 7 s waiting for the greeting") == 0,
	    "no greeting: %s", e.text);
	buf_release(&p.out);

	a->timeout = 0;
	smtp_open_on(&s, a, peer_new(&p, turns, 4), 0, &e);
	envelope(&env, "bob@example.org", 100);
	t_ok(smtp_send(&s, &env, fd, 1, &e) == -1 && e.kind == ERR_TEMP &&
	    strcmp(e.text, "mx.example (DATA): timed out after 120 s "
	    "waiting for the reply to DATA") == 0,
	    "no reply to DATA: %s", e.text);
	smtp_close(&s);
	envelope_release(&env);
	buf_release(&p.out);

	/* The session is over before the message starts. */
	smtp_open_on(&s, a, peer_new(&p, turns, 4), 0, &e);
	s.conn.session_end = transport_now() - 1;
	envelope(&env, "bob@example.org", 100);
	t_ok(smtp_send(&s, &env, fd, 1, &e) == -1 && e.kind == ERR_TEMP &&
	    strstr(e.text, "timed out waiting to send MAIL FROM: the session "
	    "took longer than its limit of 1200 s (session_timeout)") != NULL,
	    "a session past its deadline: %s", e.text);
	t_ok(strstr(buf_str(&p.out), "MAIL") == NULL, "and sends nothing");
	smtp_close(&s);
	envelope_release(&env);
	buf_release(&p.out);
	conf_account_free(a);
	close(fd);
}

/* The caps of the envelope's commands, at the cap and one byte over. */
static void
cap(const char *what, int sender, size_t over, int want_ok)
{
	static const char *turns[] = { "220 mx\r\n", EHLO_PIPE,
	    "250 ok\r\n250 ok\r\n354 go\r\n", "250 queued\r\n", "221 bye\r\n" };
	struct account *a = account();
	struct envelope env;
	struct peer p;
	struct smtp s;
	struct err e;
	char *addr;
	size_t prefix = sender ? strlen("MAIL FROM:<>") :
	    strlen("RCPT TO:<>"), local;
	int fd = message(100), r;

	/* An address that makes the command exactly CMD_MAX + over. */
	local = CMD_MAX + over - prefix - strlen("@example.org");
	addr = xmalloc(local + strlen("@example.org") + 1);
	memset(addr, 'a', local);
	memcpy(addr + local, "@example.org", strlen("@example.org") + 1);
	smtp_open_on(&s, a, peer_new(&p, turns, 5), 0, &e);
	if (sender) {
		envelope(&env, "bob@example.org", 100);
		free(env.sender);
		env.sender = xstrdup(addr);
	} else
		envelope(&env, addr, 100);
	r = smtp_send(&s, &env, fd, 1, &e);
	if (want_ok)
		t_ok(r == 0, "%s: sent", what);
	else {
		t_ok(r == -1 && e.kind == ERR_DATA && strstr(e.text,
		    "longer than") != NULL, "%s: refused: %.80s", what,
		    e.text);
		t_ok(strstr(buf_str(&p.out), "MAIL FROM") == NULL,
		    "%s: nothing of the envelope sent", what);
	}
	smtp_close(&s);
	envelope_release(&env);
	buf_release(&p.out);
	conf_account_free(a);
	free(addr);
	close(fd);
}

static void
test_caps(void)
{
	static const char *empty[] = { "220 mx\r\n", EHLO_PIPE, "221 bye\r\n" };
	struct account *a;
	struct envelope env;
	struct peer p;
	struct smtp s;
	struct err e;
	struct buf ehlo;
	int fd, i;
	const char *turns[3];

	cap("RCPT TO of exactly 64 KiB", 0, 0, 1);
	cap("RCPT TO one byte over", 0, 1, 0);
	cap("MAIL FROM of exactly 64 KiB", 1, 0, 1);
	cap("MAIL FROM one byte over", 1, 1, 0);

	/* An empty recipient never becomes RCPT TO:<>. */
	a = account();
	fd = message(100);
	smtp_open_on(&s, a, peer_new(&p, empty, 3), 0, &e);
	envelope(&env, "", 100);
	t_ok(smtp_send(&s, &env, fd, 1, &e) == -1 && e.kind == ERR_DATA,
	    "an empty recipient is refused: %s", e.text);
	t_ok(strstr(buf_str(&p.out), "RCPT") == NULL &&
	    strstr(buf_str(&p.out), "MAIL") == NULL, "and nothing is sent");
	smtp_close(&s);
	envelope_release(&env);
	buf_release(&p.out);
	close(fd);

	/* An AUTH list longer than the caps hold: no pick from a part. */
	buf_init(&ehlo, 0);
	buf_adds(&ehlo, "250-mx\r\n250 AUTH");
	for (i = 0; i < 30; i++)
		buf_printf(&ehlo, " MECHANISM-NAME-%02d", i);
	buf_adds(&ehlo, " PLAIN\r\n");
	turns[0] = "220 mx\r\n";
	turns[1] = buf_str(&ehlo);
	turns[2] = "221 bye\r\n";
	a->auth = 1;
	a->user = xstrdup("alice");
	a->password = xstrdup("secret");
	t_ok(smtp_open_on(&s, a, peer_new(&p, turns, 3), 0, &e) == -1 &&
	    e.kind == ERR_PROTOCOL && strstr(e.text, "more AUTH mechanisms")
	    != NULL, "an AUTH list over the cap is refused: %s", e.text);
	t_ok(strstr(buf_str(&p.out), "AUTH") == NULL, "and no AUTH is sent");
	buf_release(&p.out);
	buf_release(&ehlo);
	conf_account_free(a);
}

static void
test_data_seconds(void)
{
	static const struct {
		int	 base;
		off_t	 octets;
		int	 want;
	} t[] = {
		{ 180, 0, 180 },
		{ 180, 1, 181 },			/* rounded up */
		{ 180, SMTP_DATA_RATE, 181 },
		{ 180, SMTP_DATA_RATE + 1, 182 },
		{ 180, (off_t)25 << 20, 180 + 12800 },	/* 25 MiB */
		{ 0, 1 << 20, 0 },			/* no limit */
		{ 180, (off_t)1 << 50, SMTP_SECONDS_MAX },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		t_inteq(smtp_data_seconds(t[i].base, t[i].octets), t[i].want,
		    "data allowance %zu: %d s base, %lld octets", i, t[i].base,
		    (long long)t[i].octets);
}

int
main(void)
{
	test_send();
	test_early();
	test_lost();
	test_stages();
	test_caps();
	test_data_seconds();
	return t_done();
}
