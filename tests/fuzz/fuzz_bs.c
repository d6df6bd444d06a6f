/*
 * fuzz_bs: the -bs side, posthorn as an SMTP server on a pipe.  The input
 * is what the client (Alpine, say) sends; bs_serve reads it from a file
 * and writes its replies to another.  The submit function stands for
 * main's send path: it answers with an outcome taken from the message's
 * first byte.
 *
 * Invariants, each an abort(): every line of output is a well-formed SMTP
 * reply line (three digits from 2xx to 5xx, then ' ' or '-'), lines end
 * with CRLF, the first is the 220 greeting; a message is submitted only
 * with a sender that is empty or a valid address, one to 1000
 * recipients, each a valid non-empty address without control characters,
 * and only after a DATA command in the input; no more submissions than
 * DATA commands.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/mman.h>

#include "addr.h"
#include "bs.h"
#include "err.h"
#include "smtp_reply.h"
#include "util/str.h"
#include "util/strv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	size_t	 submitted;
	size_t	 datas;		/* DATA commands in the input, an upper bound */
};

static int
submit(void *arg, const char *sender, const struct strv *rcpts, int datafd)
{
	static const int outcome[8] = { 0, 0, 75, 65, 67, 69, 78, 70 };
	struct run *r = arg;
	unsigned char first = 0;
	size_t i;

	r->submitted++;
	if (r->submitted > r->datas)
		abort();
	if (sender == NULL || (sender[0] != '\0' &&
	    (!addr_valid_spec(sender, 1) || str_has_ctl(sender))))
		abort();
	if (rcpts->n == 0 || rcpts->n > 1000)
		abort();
	for (i = 0; i < rcpts->n; i++)
		if (rcpts->v[i] == NULL || rcpts->v[i][0] == '\0' ||
		    !addr_valid_spec(rcpts->v[i], 1) ||
		    str_has_ctl(rcpts->v[i]))
			abort();
	if (pread(datafd, &first, 1, 0) < 0)
		abort();
	return outcome[first & 7];
}

/* A file holding n bytes of p, read from its start. */
static int
file_of(const void *p, size_t n)
{
	/* In memory: a file on disk per run made this target the slowest
	   (1,200 runs/s). */
	int fd = memfd_create("fuzz_bs", 0);

	if (fd == -1)
		abort();
	if (n > 0 && write(fd, p, n) != (ssize_t)n)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static size_t
count_data(const uint8_t *d, size_t n)
{
	size_t i, c = 0;

	/* Every line equal to DATA (any case), with CRLF or LF. */
	for (i = 0; i + 4 <= n; i++)
		if ((i == 0 || d[i - 1] == '\n') &&
		    strncasecmp((const char *)d + i, "DATA", 4) == 0)
			c++;
	return c;
}

static void
check_output(int fd)
{
	struct smtp_reply r;
	struct err e;
	char *out, *p, *end, *nl;
	off_t n = lseek(fd, 0, SEEK_END);
	int first = 1, ret;

	if (n <= 0)
		abort();	/* at least the greeting */
	out = malloc((size_t)n);
	if (out == NULL || pread(fd, out, (size_t)n, 0) != n)
		abort();
	smtp_reply_init(&r);
	for (p = out, end = out + n; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl == p || nl[-1] != '\r')
			abort();
		if (first && (nl - p < 4 || memcmp(p, "220 ", 4) != 0))
			abort();
		first = 0;
		ret = smtp_reply_push(&r, p, (size_t)(nl - 1 - p), &e);
		if (ret == -1)
			abort();
		if (ret == 1)
			smtp_reply_reset(&r);
	}
	smtp_reply_release(&r);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = { 0, 0 };
	int in, out;

	r.datas = count_data(data, size);
	in = file_of(data, size);
	out = file_of("", 0);
	if (bs_serve(in, out, "fuzz.example", submit, &r) != 0)
		abort();
	check_output(out);
	close(in);
	close(out);
	return 0;
}
