/*
 * net: the connection every SMTP (and HTTP) byte goes through.  A conn is
 * line I/O on top of a transport stack (transport.h: TCP, a unix socket or
 * memory at the bottom, SOCKS5 on TCP to a proxy, TLS above when
 * started): an input buffer that
 * lines (or raw bytes) are taken from, and an output buffer that collects
 * a command group so that it leaves in one write.  Time is bounded by
 * deadlines, not by the length of each read: a stage (conn_stage) gets a
 * limit in seconds for everything it waits for, and the session may have
 * an overall deadline that no stage outlives.  Signals end every wait.
 */
#ifndef POSTHORN_NET_H
#define POSTHORN_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct tls;
struct tls_params;
struct transport;

#define CONN_INBUF	16384
#define CONN_OUTBUF	65536	/* conn_write flushes when this much is queued */

/* conn_stage: take only what has already arrived; never wait. */
#define CONN_NOWAIT	(-1)

/*
 * Called about once a second while a wait lasts longer than a second:
 * what the stage waits for ("for the reply to DATA"), how long it has
 * waited (ms) and the stage's limit (seconds; 0 none).  Once such a wait
 * ends, it is called with what NULL.
 */
typedef void (*conn_wait_fn)(void *arg, const char *what, long long waited,
    int limit);

struct conn {
	struct transport *t;		/* top of the stack; NULL when closed */
	struct tls	*tls;		/* the TLS layer in it; NULL: plain */
	int		 fd;		/* the socket at the bottom; -1 when
					   closed, also for a memory stream */
	char		*host;		/* name for messages */
	char		*peer;		/* numeric address or socket path */
	/* Deadlines, ms on transport_now's clock. */
	long long	 deadline;	/* this stage's; 0 none */
	int		 limit;		/* this stage's limit, seconds */
	int		 by_session;	/* the session's deadline is sooner */
	const char	*what;		/* what the stage waits for */
	long long	 session_end;	/* 0 none */
	int		 session_limit;	/* seconds, for messages */
	conn_wait_fn	 on_wait;
	void		*on_wait_arg;
	int		 watch;		/* a write stops when input arrives */
	int		 early;		/* ... and it did */
	unsigned char	 in[CONN_INBUF];
	size_t		 in_start;	/* first unconsumed byte */
	size_t		 in_end;	/* end of received bytes */
	unsigned char	*out;
	size_t		 out_len;
	size_t		 out_cap;
	int		 out_secret;	/* out holds a secret: wipe after flush */
};

/* Where and how to connect (conn_dial). */
struct conn_dial {
	const char	*host;		/* name or address (TCP) */
	int		 port;
	const char	*source_ip;	/* bind to it first; NULL: any */
	const char	*unix_path;	/* a unix-domain socket instead of
					   host and port */
	const char	*proxy_host;	/* a SOCKS5 proxy to reach host and
					   port through (socks.h); NULL none */
	int		 proxy_port;	/* 0: SOCKS_PORT */
	const char	*proxy_user;	/* RFC 1929; NULL: no authentication */
	const char	*proxy_password;
	int		 connect_timeout; /* seconds per address; 0 none */
	const struct tls_params *tls;	/* TLS from the first byte, or NULL */
};

/* An empty, closed conn with no deadlines. */
void	 conn_init(struct conn *c);

/*
 * Connects as d says (a unix socket; TCP to each address of host in
 * turn; or TCP to the proxy, then SOCKS5 to host by name) under the
 * session's deadline, then with d->tls runs the TLS handshake
 * (conn_starttls).  The SOCKS handshake has connect_timeout as well.
 * c must be closed.  Errors as transport_tcp, transport_unix,
 * socks_connect and conn_starttls; on failure c is closed.  0 or -1.
 */
int	 conn_dial(struct conn *c, const struct conn_dial *d, struct err *e);

/* Makes c a connection over t, which is open already (c owns it now). */
void	 conn_attach(struct conn *c, struct transport *t);

/*
 * Starts TLS on c as a stage of p->timeout seconds ("the TLS
 * handshake").  Bytes that arrived before it (never protected) are
 * ERR_PROTOCOL; errors of tls_new and tls_handshake, and a timeout
 * ERR_TEMP.  On failure the caller closes c.  0 or -1.
 */
int	 conn_starttls(struct conn *c, const struct tls_params *p,
	    struct err *e);

/*
 * The session's deadline: seconds from now (0: none); conn_session_extend
 * moves it later by seconds (message data that takes time by its size).
 */
void	 conn_session(struct conn *c, int seconds);
void	 conn_session_extend(struct conn *c, int seconds);

/*
 * Starts a stage: everything it reads or writes until the next stage
 * must be done within seconds (0: no limit of its own; CONN_NOWAIT: only
 * what has already arrived), and before the session's deadline.  what
 * (a static string, "for the reply to DATA", "to send the message data")
 * names it in messages: "timed out after 300 s waiting for the reply to
 * DATA".  A session whose deadline has passed is ERR_TEMP at once.  0 or
 * -1.
 */
int	 conn_stage(struct conn *c, int seconds, const char *what,
	    struct err *e);

/* fn hears about long waits (NULL: nobody does). */
void	 conn_on_wait(struct conn *c, conn_wait_fn fn, void *arg);

/*
 * With on set, a write (conn_write, conn_flush) that finds input from the
 * peer waiting, or that would wait and sees input arrive, stops: -1 with
 * ERR_TEMP, and conn_early(c) is 1 (until the watch is switched on
 * again); the caller reads what the peer said.  For a reply in the
 * middle of message data.
 */
void	 conn_watch(struct conn *c, int on);
int	 conn_early(const struct conn *c);

/*
 * Reads one line (ended by CRLF, or LF alone) and returns it without the
 * line ending, NUL-terminated: *line points into c's buffer and stays
 * valid until the next read.  A line longer than max is ERR_PROTOCOL; end
 * of stream ERR_TEMP ("connection closed by server"); the stage's
 * deadline ERR_TEMP naming the stage; a read error ERR_TEMP.  0 or -1.
 */
int	 conn_getline(struct conn *c, const char **line, size_t *len,
	    size_t max, struct err *e);

/*
 * Up to n raw bytes into p, the buffered input first, waiting (within the
 * stage) only when nothing is buffered.  Bytes, 0 at the end of the
 * stream, -1 with e (as conn_getline).
 */
ssize_t	 conn_read(struct conn *c, void *p, size_t n, struct err *e);

/* Bytes received and not yet consumed by conn_getline or conn_read. */
size_t	 conn_buffered(const struct conn *c);

/*
 * Queues n bytes for sending; writes out once CONN_OUTBUF bytes are
 * queued (a large span with nothing queued goes straight out).  Errors as
 * conn_flush.  0 or -1.
 */
int	 conn_write(struct conn *c, const void *p, size_t n, struct err *e);
/* The same for a secret (AUTH data): the buffer is wiped once sent. */
int	 conn_write_secret(struct conn *c, const void *p, size_t n,
	    struct err *e);
/*
 * Sends everything queued (through TLS when active).  A peer that closed
 * or reset, or the stage's deadline, is ERR_TEMP.  0 or -1.
 */
int	 conn_flush(struct conn *c, struct err *e);

/* Ends TLS (without waiting for the peer), closes the transport, frees the
   buffers; the deadlines stay.  Safe to call twice. */
void	 conn_close(struct conn *c);

#endif
