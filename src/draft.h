/*
 * draft: composing in an editor (-e, or `edit on` at a terminal).  The
 * draft is a text file: To, Cc, Bcc, Subject and Attach lines, an empty
 * line, the body.  posthorn writes it, runs $VISUAL or $EDITOR on it,
 * parses it back and sets each field through the command line's own
 * checks (cli_compose_field), so a draft can do no more than flags can:
 * a CR, LF or other control character inside a field is refused.  A
 * draft left unchanged or emptied sends nothing, as git commit does.
 */
#ifndef POSTHORN_DRAFT_H
#define POSTHORN_DRAFT_H

#include <stddef.h>

#include "util/strv.h"

struct buf;
struct cli;
struct err;

/* Largest draft read back (the body is typed, not an attachment). */
#define DRAFT_MAX	(16 * 1024 * 1024)

/* What a draft's header lines say. */
struct draft {
	struct strv	 to, cc, bcc, attach;	/* one entry per line */
	char		*subject;		/* NULL: no Subject line */
	size_t		 body_off;		/* where the body starts */
};

void	 draft_init(struct draft *d);
void	 draft_release(struct draft *d);

/*
 * Parses the draft text p[0..n).  Lines starting with '#' before the
 * empty line are comments; a line starting with a blank continues the
 * field before it; field names are To, Cc, Bcc, Subject, Attach (any
 * case), Subject at most once; values are trimmed, empty ones dropped.
 * Refused with ERR_USAGE naming the line: an unknown field, a line that
 * is not 'Name: value', a control character (CR included) anywhere in a
 * header line.  0 or -1 (d then holds part of the fields: release it).
 */
int	 draft_parse(const char *p, size_t n, struct draft *d, struct err *e);

/* 1 when p[0..n) holds only blanks, line ends and '#' comment lines. */
int	 draft_is_empty(const char *p, size_t n);

/*
 * Appends to out the header lines of c's compose fields (To from the
 * recipients, Cc, Bcc, Subject, Attach), each of To, Cc, Bcc and
 * Subject present even when empty, then the empty line.  When error is
 * not NULL, a "# posthorn: error" comment line goes first.  0, or -1
 * when out is full.
 */
int	 draft_format(struct buf *out, const struct cli *c, const char *error);

/*
 * The -e flow: writes the draft (c's fields and the body: --body's file,
 * else in when it is not a terminal, else empty), runs editor on it and
 * reads it back, until it is valid.  A valid draft replaces c's compose
 * fields (recipients included), drops c->body_file, and its body is put
 * in a scratch file (*body_fd, offset 0).  At a terminal a summary asks
 * send / edit / cancel, and an invalid draft reopens the editor with the
 * error as a comment; elsewhere an invalid draft is an error.
 * Returns 0 to send; 1 when the run ends here with *code (the reason
 * already shown on stderr: 65 for an unchanged or emptied draft or a
 * failed editor, 130 for cancel); -1 with e.
 */
int	 draft_edit(struct cli *c, const char *editor, int in, int *body_fd,
	    int *code, struct err *e);

#endif
