/*
 * compose: mailx-style composing from flags and files (-s, -a, -c, --bcc,
 * --reply-to, -H, --body, --html, --inline), and -a on a message read
 * from standard input.  The message is produced as a stream (a
 * msg_source) that msg takes in like any other input, so a composed
 * message gets the same recipients, Bcc removal, added headers and
 * qualification; attachments are read and encoded as the stream is
 * pulled, never held whole.  MIME structure and encodings come from mime.
 */
#ifndef POSTHORN_COMPOSE_H
#define POSTHORN_COMPOSE_H

struct cli;
struct envelope;
struct err;
struct msg_params;

/*
 * Checks before anything is spooled or sent: every file named by -a,
 * --body, --html, --inline can be read (ERR_NOINPUT naming it), forced
 * types are well formed, -H headers are allowed (the MIME structure's
 * own are not: ERR_USAGE), names and text are valid UTF-8 (ERR_USAGE).
 * 0 or -1.
 */
int	 compose_check(const struct cli *c, struct err *e);

/*
 * Builds the message — compose mode when c->compose, else the message on
 * in with c->attach attached — and spools it through msg_read_source
 * into out, filling env.  Errors as msg_read, plus ERR_NOINPUT for a file
 * that vanished or cannot be read any more.  0 or -1.
 */
int	 compose_message(const struct cli *c, const struct msg_params *p,
	    int in, int out, struct envelope *env, struct err *e);

#endif
