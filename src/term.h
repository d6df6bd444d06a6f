/*
 * term: the body of a composed message typed at the terminal, read the
 * way mail(1) reads it: line by line until end of file (Ctrl-D on an
 * empty line) or a line holding a single '.'.  Also the scratch file
 * such a body (or a piped one that -E must look at) is kept in before
 * it is composed: unlinked at once, so nothing is left behind however
 * posthorn ends.
 */
#ifndef POSTHORN_TERM_H
#define POSTHORN_TERM_H

#include <stddef.h>

struct err;

/* The line shown on standard error before the body is read. */
#define TERM_BODY_HINT	"type the message; end with Ctrl-D on an empty " \
	"line, or a line with a single '.'; Ctrl-C cancels"

/*
 * A push reader of typed text: term_body_push takes what read(2) gave
 * (any split), writes the body to out (a buffer the caller provides,
 * appended to), and returns 1 once a line holding only '.' ended the
 * body (what follows it is ignored), else 0; -1 when out is full.
 * term_body_end takes end of file: a '.' typed alone before it also
 * ends the body and is dropped.
 */
struct term_body {
	int	 bol;		/* at the start of a line */
	int	 dot;		/* a '.' alone so far on this line */
	int	 done;
};

struct buf;

void	 term_body_init(struct term_body *t);
int	 term_body_push(struct term_body *t, const char *p, size_t n,
	    struct buf *out);
void	 term_body_end(struct term_body *t);

/*
 * Shows TERM_BODY_HINT on standard error, reads the body typed on in (a
 * terminal) into out (a file descriptor, written from its current
 * offset) and sets *len to its length in bytes and *blank to 1 when it
 * holds nothing but white space.  0 on success; -1 with ERR_IO when
 * reading or writing fails, or when a signal was caught (errno EINTR:
 * sig_caught says which; the caller decides what a Ctrl-C means).
 */
int	 term_read_body(int in, int out, size_t *len, int *blank,
	    struct err *e);

/*
 * A new, already unlinked scratch file for a message body, mode 0600,
 * in $TMPDIR (or /tmp).  The descriptor, or -1 with ERR_CANTCREAT.
 */
int	 term_scratch(struct err *e);

/*
 * Copies in to its end into a new scratch file, leaves that file's
 * offset at 0 and sets *len to the number of bytes.  The scratch
 * descriptor, or -1 with ERR_IO (EINTR for a signal, as above) or
 * ERR_CANTCREAT.
 */
int	 term_spill(int in, size_t *len, struct err *e);

#endif
