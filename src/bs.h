/*
 * bs: sendmail -bs, an SMTP server on standard input and output (Alpine
 * submits this way).  Each message it accepts is handed, as a file of
 * unstuffed data with its envelope, to a submit function (main's own send
 * path), and the reply to the final dot says what became of it.
 */
#ifndef POSTHORN_BS_H
#define POSTHORN_BS_H

#include <stddef.h>

#include "util/strv.h"

/*
 * What main does with a message: returns SPEC.md's exit status for it
 * (0 sent or queued).  datafd holds the message, read from offset 0.
 */
typedef int (*bs_submit_fn)(void *arg, const char *sender,
    const struct strv *rcpts, int datafd);

/*
 * Serves one SMTP session on in/out until QUIT or end of input.  Returns
 * 0, or 74 when standard output cannot be written.
 */
int	 bs_serve(int in, int out, const char *hostname, bs_submit_fn submit,
	    void *arg);

#endif
