/*
 * term owns the body typed at the terminal: the one-line hint, the end
 * of the body (end of file, or a line with a single '.', as mail(1)
 * ends it), and the unlinked scratch file a body is kept in until it is
 * composed.  The terminal stays in its canonical mode: the line
 * discipline does the editing (erase, kill) and turns Ctrl-D into end of
 * file and Ctrl-C into the SIGINT that sig.c catches.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "term.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"

void
term_body_init(struct term_body *t)
{
	memset(t, 0, sizeof(*t));
	t->bol = 1;
}

int
term_body_push(struct term_body *t, const char *p, size_t n,
    struct buf *out)
{
	size_t i;

	for (i = 0; i < n && !t->done; i++) {
		char ch = p[i];

		if (t->dot) {
			t->dot = 0;
			if (ch == '\n') {
				t->done = 1;
				break;
			}
			if (buf_addc(out, '.') == -1)
				return -1;
		} else if (t->bol && ch == '.') {
			t->dot = 1;
			t->bol = 0;
			continue;
		}
		if (buf_addc(out, ch) == -1)
			return -1;
		t->bol = ch == '\n';
	}
	return t->done;
}

void
term_body_end(struct term_body *t)
{
	/* "." then Ctrl-D: the '.' was meant as the end. */
	t->dot = 0;
	t->done = 1;
}

/* 1 when p holds nothing but blanks and line ends. */
static int
all_blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\r')
			return 0;
	return 1;
}

int
term_read_body(int in, int out, size_t *len, int *blank, struct err *e)
{
	struct term_body t;
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int r = 0;

	*len = 0;
	*blank = 1;
	fprintf(stderr, "posthorn: %s\n", TERM_BODY_HINT);
	fflush(stderr);
	term_body_init(&t);
	buf_init(&b, 2 * sizeof(chunk) + 16);
	while (!t.done) {
		n = fsio_read_wait(in, chunk, sizeof(chunk));
		if (n == -1) {
			int saved = errno;

			buf_release(&b);
			errno = saved;
			return err_set(e, ERR_IO, "cannot read the message "
			    "from the terminal: %s", strerror(saved));
		}
		if (n == 0)
			term_body_end(&t);
		else if (term_body_push(&t, chunk, (size_t)n, &b) == -1)
			r = -1;		/* cannot be: b holds two chunks */
		if (r == -1 || fsio_write_all(out, b.data, b.len) == -1) {
			int saved = r == -1 ? EFBIG : errno;

			buf_release(&b);
			errno = saved;
			return err_set(e, ERR_IO, "cannot keep the typed "
			    "message: %s", strerror(saved));
		}
		if (!all_blank(b.data, b.len))
			*blank = 0;
		*len += b.len;
		buf_reset(&b);
	}
	buf_release(&b);
	return 0;
}

int
term_scratch(struct err *e)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd, saved;

	if (dir == NULL || *dir != '/')
		dir = "/tmp";
	path = xasprintf("%s/posthorn-body.XXXXXX", dir);
	fd = mkstemp(path);
	saved = errno;
	if (fd != -1)
		(void)unlink(path);
	free(path);
	if (fd == -1)
		return err_set(e, ERR_CANTCREAT, "cannot create a scratch "
		    "file in %s: %s", dir, strerror(saved));
	return fd;
}

int
term_spill(int in, size_t *len, struct err *e)
{
	char chunk[16384];
	ssize_t n;
	int fd, saved;

	*len = 0;
	if ((fd = term_scratch(e)) == -1)
		return -1;
	for (;;) {
		n = fsio_read_wait(in, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n == -1 || fsio_write_all(fd, chunk, (size_t)n) == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return err_set(e, ERR_IO, "cannot read the message "
			    "body: %s", strerror(saved));
		}
		*len += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		saved = errno;
		close(fd);
		return err_set(e, ERR_IO, "cannot read back the message "
		    "body: %s", strerror(saved));
	}
	return fd;
}
