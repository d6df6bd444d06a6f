/*
 * sig: SIGINT, SIGTERM and SIGHUP set a flag instead of killing posthorn
 * mid-send, so that a message being sent is left queued, never half
 * reported; blocking waits (poll, read) see EINTR and give up.  SIGPIPE
 * is ignored: a closed connection is an EPIPE error like any other.
 */
#ifndef POSTHORN_SIG_H
#define POSTHORN_SIG_H

#include <signal.h>

/* The signal caught, 0 if none. */
extern volatile sig_atomic_t sig_caught;
/*
 * Readable once a signal was caught (the handler writes a byte): poll it
 * beside a socket, so a signal that lands between the check of sig_caught
 * and poll() still ends the wait.  -1 before sig_install.
 */
extern int sig_fd;

/* Installs the handlers (without SA_RESTART). */
void	 sig_install(void);

#endif
