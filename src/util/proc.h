/*
 * proc: running a command for posthorn (passwordeval, and any other
 * command a configuration names) so that it can never hold posthorn up:
 * the command runs under /bin/sh in a process group of its own, with
 * standard input /dev/null, its standard output captured, its standard
 * error posthorn's, no other descriptor; it gets a deadline; and a signal
 * posthorn catches (SIGINT, SIGTERM, SIGHUP, see sig.h) ends the wait at
 * once.  On expiry or a signal the whole group is killed (SIGTERM, then
 * SIGKILL two seconds later), so nothing it started lingers.
 *
 * When posthorn is in the foreground of a terminal, the terminal is
 * handed to the command's group while it runs (a prompt it shows, for a
 * GnuPG passphrase, can be answered) and taken back after; a Ctrl-C
 * typed meanwhile reaches the command, and when the command dies of it
 * posthorn raises SIGINT to itself, as if the key had been meant for it.
 */
#ifndef POSTHORN_PROC_H
#define POSTHORN_PROC_H

struct buf;

/*
 * Runs cmd and appends its standard output to out (out's cap bounds it;
 * pass a buf_init_secret buffer for a secret).  timeout is in seconds,
 * 0 for none.  Returns 0 when the command ended by itself, its wait(2)
 * status in *status; or -1 with errno: ETIMEDOUT (the deadline passed),
 * EINTR (a signal was caught: sig_caught says which), EFBIG (more output
 * than out's cap), or the error of pipe, fork, open.  On -1 the group
 * has been killed and reaped; out may hold part of the output.
 */
int	 proc_run(const char *cmd, int timeout, struct buf *out, int *status);

/*
 * Runs cmd (a shell command line such as $EDITOR's value) with the file
 * name arg appended as one word, attached to the terminal: when posthorn
 * is the terminal's foreground, the command gets /dev/tty as its standard
 * input, output and error and the terminal's foreground; otherwise
 * standard input /dev/null and standard output posthorn's standard error
 * (nothing it shows reaches posthorn's standard output).  No deadline: a
 * person is at work.  A SIGTERM or SIGHUP posthorn catches kills the
 * group (SIGINT at the terminal is the command's own).  0 with the
 * wait(2) status in *status, or -1 with errno (EINTR for a signal).
 */
int	 proc_run_attached(const char *cmd, const char *arg, int *status);

#endif
