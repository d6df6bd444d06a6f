/*
 * test_bs: the -bs server on files.  A session's replies; the command
 * line cap at exactly its size and one byte over (500, never a shorter
 * command), with CRLF and with LF; the end of the data and lines that
 * only look like it; what a submission receives.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bs.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/strv.h"
#include "t.h"

#define BS_LINE_MAX	4096	/* as bs.c */

struct got {
	int		 n;
	char		*sender;
	size_t		 nrcpt;
	struct buf	 data;
};

static int
submit(void *arg, const char *sender, const struct strv *rcpts, int fd)
{
	struct got *g = arg;
	char chunk[4096];
	ssize_t r;
	off_t off = 0;

	g->n++;
	free(g->sender);
	g->sender = xstrdup(sender);
	g->nrcpt = rcpts->n;
	buf_reset(&g->data);
	while ((r = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		buf_add(&g->data, chunk, (size_t)r);
		off += r;
	}
	return 0;
}

/* Runs a session on input in; the replies, as one string (caller frees). */
static char *
session(const char *in, size_t n, struct got *g)
{
	FILE *fi = tmpfile(), *fo = tmpfile();
	struct buf out;
	char chunk[4096];
	size_t r;

	fwrite(in, 1, n, fi);
	fflush(fi);
	rewind(fi);
	bs_serve(fileno(fi), fileno(fo), "test.example", submit, g);
	rewind(fo);
	buf_init(&out, 0);
	while ((r = fread(chunk, 1, sizeof(chunk), fo)) > 0)
		buf_add(&out, chunk, r);
	fclose(fi);
	fclose(fo);
	return buf_detach(&out);
}

static void
test_session(void)
{
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n"
	    ".\r\r\n.x\r\n.\r\nQUIT\r\n";
	struct got g = { 0, NULL, 0, { NULL, 0, 0, 0, 0 } };
	char *out;

	out = session(in, sizeof(in) - 1, &g);
	t_ok(strncmp(out, "220 test.example", 16) == 0, "greeting");
	t_ok(strstr(out, "354 ") != NULL && strstr(out, "250 2.0.0 accepted")
	    != NULL && strstr(out, "221 ") != NULL, "a whole session");
	t_inteq(g.n, 1, "one message submitted");
	t_streq(g.sender, "a@example.org", "its sender");
	t_inteq(g.nrcpt, 1, "its recipient");
	t_streq(buf_str(&g.data), "Subject: x\r\n\r\n.dot\r\n\r\r\nx\r\n",
	    "unstuffed; '.' then CR CR LF is a line, not the end");
	free(out);
	free(g.sender);
	buf_release(&g.data);
}

/* A NOOP line of exactly len bytes before its line end. */
static void
cap(size_t len, const char *eol, int want_ok)
{
	struct got g = { 0, NULL, 0, { NULL, 0, 0, 0, 0 } };
	struct buf in;
	char *out, *noop;

	buf_init(&in, 0);
	noop = xmalloc(len + 1);
	memcpy(noop, "NOOP ", 5);
	memset(noop + 5, 'x', len - 5);
	noop[len] = '\0';
	buf_adds(&in, noop);
	buf_adds(&in, eol);
	buf_adds(&in, "QUIT");
	buf_adds(&in, eol);
	out = session(in.data, in.len, &g);
	if (want_ok)
		t_ok(strstr(out, "\r\n250 2.0.0 ok\r\n221") != NULL,
		    "a line of %zu bytes (%s) is a command", len,
		    eol[0] == '\r' ? "CRLF" : "LF");
	else
		t_ok(strstr(out, "\r\n500 5.5.2 line too long\r\n221") != NULL,
		    "%zu bytes (%s): 500, never a shorter command", len,
		    eol[0] == '\r' ? "CRLF" : "LF");
	free(out);
	free(noop);
	buf_release(&in);
}

static void
test_line_cap(void)
{
	cap(BS_LINE_MAX, "\r\n", 1);
	cap(BS_LINE_MAX + 1, "\r\n", 0);
	cap(BS_LINE_MAX, "\n", 1);
	cap(BS_LINE_MAX + 1, "\n", 0);
}

int
main(void)
{
	test_session();
	test_line_cap();
	return t_done();
}
