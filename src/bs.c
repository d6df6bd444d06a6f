/*
 * bs owns the server side of a local SMTP session on a pipe: command
 * parsing, the transaction state (MAIL, RCPT, DATA), dot-unstuffing into
 * an unlinked temporary file (so a large message costs no memory), and
 * the mapping from posthorn's outcome to a reply.  Commands may arrive
 * pipelined; replies are written before each wait for more input.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "bs.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/str.h"

#define BS_LINE_MAX	4096	/* a command line; data lines are not capped */
#define BS_RCPT_MAX	1000

struct bs {
	int		 in;
	int		 out;
	char		 ibuf[65536];
	size_t		 ilen;
	size_t		 ipos;
	struct buf	 obuf;
	int		 eof;
	int		 failed;	/* output cannot be written */
	/* Transaction */
	int		 have_mail;
	char		*sender;
	struct strv	 rcpts;
};

static void
reply(struct bs *b, const char *line)
{
	buf_adds(&b->obuf, line);
	buf_adds(&b->obuf, "\r\n");
}

static int
flush_out(struct bs *b)
{
	if (b->obuf.len == 0)
		return 0;
	if (fsio_write_all(b->out, b->obuf.data, b->obuf.len) == -1) {
		b->failed = 1;
		return -1;
	}
	buf_reset(&b->obuf);
	return 0;
}

/* Next input byte, refilling (after flushing replies) as needed. */
static int
getbyte(struct bs *b)
{
	ssize_t n;

	if (b->ipos == b->ilen) {
		if (b->eof || flush_out(b) == -1)
			return -1;
		n = fsio_read(b->in, b->ibuf, sizeof(b->ibuf));
		if (n <= 0) {
			b->eof = 1;
			return -1;
		}
		b->ilen = (size_t)n;
		b->ipos = 0;
	}
	return (unsigned char)b->ibuf[b->ipos++];
}

/*
 * One line without its line end (CRLF or LF) into line, whose cap is
 * BS_LINE_MAX and a CR: a longer line is read to its end, dropped and
 * *toolong set (the caller answers 500; never a shorter command).  -1 at
 * EOF.
 */
static int
getline_bs(struct bs *b, struct buf *line, int *toolong)
{
	int c;

	buf_reset(line);
	*toolong = 0;
	for (;;) {
		if ((c = getbyte(b)) == -1)
			return line->len > 0 ? 0 : -1;
		if (c == '\n')
			break;
		if (buf_addc(line, c) == -1)
			*toolong = 1;
	}
	if (line->len > 0 && line->data[line->len - 1] == '\r')
		buf_truncate(line, line->len - 1);
	if (line->len > BS_LINE_MAX)
		*toolong = 1;
	return 0;
}

static void
reset(struct bs *b)
{
	free(b->sender);
	b->sender = NULL;
	b->have_mail = 0;
	strv_free(&b->rcpts);
}

/* "<addr> params" after "FROM:" or "TO:"; the address without <>. */
static char *
path_arg(const char *s, int allow_null)
{
	const char *lt, *gt;
	char *a;

	while (*s == ' ')
		s++;
	if (*s != '<') {
		/* Tolerate a bare address. */
		size_t n = strcspn(s, " ");

		if (n == 0)
			return NULL;
		a = xstrndup(s, n);
	} else {
		lt = s;
		if ((gt = strchr(lt, '>')) == NULL)
			return NULL;
		a = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	}
	/* Drop a source route. */
	if (a[0] == '@' && strchr(a, ':') != NULL)
		memmove(a, strchr(a, ':') + 1, strlen(strchr(a, ':') + 1) + 1);
	if (a[0] == '\0' && !allow_null) {
		free(a);
		return NULL;
	}
	if (a[0] != '\0' && (!addr_valid_spec(a, 1) || str_has_ctl(a))) {
		free(a);
		return NULL;
	}
	return a;
}

/* Reads DATA into fd, unstuffed; returns 0 at the final dot, -1 at EOF. */
static int
read_data(struct bs *b, int fd)
{
	struct buf chunk;
	int c, bol = 1, dots = 0, cr = 0, rv = -1;

	buf_init(&chunk, 0);
	for (;;) {
		if ((c = getbyte(b)) == -1)
			goto out;
		if (bol && c == '.' && dots == 0) {
			dots = 1;
			bol = 0;
			continue;
		}
		if (dots == 1) {
			/*
			 * "." then CRLF or LF: the end.  "." then anything else
			 * (a second CR included): the dot goes, the rest stays.
			 */
			if (c == '\r' && !cr) {
				cr = 1;
				continue;
			}
			if (c == '\n') {
				rv = 0;
				goto out;
			}
			if (cr) {
				buf_addc(&chunk, '\r');
				cr = 0;
			}
			dots = 0;
		}
		buf_addc(&chunk, c);
		bol = c == '\n';
		if (chunk.len >= 65536) {
			if (fsio_write_all(fd, chunk.data, chunk.len) == -1)
				goto out;
			buf_reset(&chunk);
		}
	}
out:
	if (rv == 0 && chunk.len > 0 &&
	    fsio_write_all(fd, chunk.data, chunk.len) == -1)
		rv = -1;
	buf_release(&chunk);
	return rv;
}

static int
tempfile(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	path = xasprintf("%s/posthorn-bs-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd != -1)
		unlink(path);
	free(path);
	return fd;
}

static void
data(struct bs *b, bs_submit_fn submit, void *arg)
{
	int fd, code;

	if (!b->have_mail || b->rcpts.n == 0) {
		reply(b, "503 5.5.1 need MAIL and RCPT first");
		return;
	}
	if ((fd = tempfile()) == -1) {
		reply(b, "451 4.3.0 cannot store the message locally");
		return;
	}
	reply(b, "354 end data with <CR><LF>.<CR><LF>");
	if (read_data(b, fd) == -1) {
		close(fd);
		reset(b);
		return;
	}
	code = submit(arg, b->sender, &b->rcpts, fd);
	close(fd);
	switch (code) {
	case 0:
		reply(b, "250 2.0.0 accepted (sent or queued)");
		break;
	case 75:
	case 70:
	case 73:
	case 74:
	case 78:
		reply(b, "451 4.3.0 not sent; try again later (posthorn "
		    "reported why on its error output)");
		break;
	case 65:
		reply(b, "554 5.6.0 message rejected as malformed");
		break;
	case 67:
		reply(b, "550 5.1.1 a recipient was rejected by the server");
		break;
	default:
		reply(b, "554 5.0.0 not sent (posthorn reported why on its "
		    "error output)");
		break;
	}
	reset(b);
}

int
bs_serve(int in, int out, const char *hostname, bs_submit_fn submit,
    void *arg)
{
	struct bs b;
	struct buf line, r;
	int toolong;
	char *a;

	memset(&b, 0, sizeof(b));
	b.in = in;
	b.out = out;
	buf_init(&b.obuf, 0);
	buf_init(&line, BS_LINE_MAX + 1);
	buf_init(&r, 0);
	buf_printf(&r, "220 %s posthorn ESMTP ready", hostname);
	reply(&b, buf_str(&r));
	while (!b.failed && getline_bs(&b, &line, &toolong) == 0) {
		const char *l = buf_str(&line);

		if (toolong) {
			reply(&b, "500 5.5.2 line too long");
		} else if (str_caseprefix(l, "EHLO ")) {
			reset(&b);
			buf_reset(&r);
			buf_printf(&r, "250-%s\r\n250-PIPELINING\r\n"
			    "250-8BITMIME\r\n250-SMTPUTF8\r\n"
			    "250 ENHANCEDSTATUSCODES", hostname);
			reply(&b, buf_str(&r));
		} else if (str_caseprefix(l, "HELO ")) {
			reset(&b);
			buf_reset(&r);
			buf_printf(&r, "250 %s", hostname);
			reply(&b, buf_str(&r));
		} else if (str_caseprefix(l, "MAIL FROM:")) {
			if (b.have_mail)
				reply(&b, "503 5.5.1 nested MAIL command");
			else if ((a = path_arg(l + 10, 1)) == NULL)
				reply(&b, "501 5.1.7 bad sender address");
			else {
				b.sender = a;
				b.have_mail = 1;
				reply(&b, "250 2.1.0 ok");
			}
		} else if (str_caseprefix(l, "RCPT TO:")) {
			if (!b.have_mail)
				reply(&b, "503 5.5.1 need MAIL first");
			else if (b.rcpts.n >= BS_RCPT_MAX)
				reply(&b, "452 4.5.3 too many recipients");
			else if ((a = path_arg(l + 8, 0)) == NULL)
				reply(&b, "501 5.1.3 bad recipient address");
			else {
				strv_take(&b.rcpts, a);
				reply(&b, "250 2.1.5 ok");
			}
		} else if (strcasecmp(l, "DATA") == 0) {
			data(&b, submit, arg);
		} else if (strcasecmp(l, "RSET") == 0) {
			reset(&b);
			reply(&b, "250 2.0.0 ok");
		} else if (str_caseprefix(l, "NOOP")) {
			reply(&b, "250 2.0.0 ok");
		} else if (strcasecmp(l, "QUIT") == 0) {
			reply(&b, "221 2.0.0 bye");
			break;
		} else if (str_caseprefix(l, "VRFY")) {
			reply(&b, "252 2.5.0 cannot verify, will attempt "
			    "delivery");
		} else {
			reply(&b, "502 5.5.2 command not implemented");
		}
	}
	flush_out(&b);
	reset(&b);
	buf_release(&b.obuf);
	buf_release(&line);
	buf_release(&r);
	return b.failed ? 74 : 0;
}
