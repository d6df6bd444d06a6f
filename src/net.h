/*
 * net: resolving, connecting and the connection object every SMTP byte
 * goes through.  A conn has an input buffer (lines are read from it) and
 * an output buffer (commands are collected and written in one go, with
 * TCP_NODELAY, so a command group costs one segment).  TLS is a property of
 * the conn: once tls_start succeeded, reads and writes go through it.
 * Timeouts are per stage (conn_set_timeout), enforced with poll or socket
 * options, never with signals.
 */
#ifndef POSTHORN_NET_H
#define POSTHORN_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct tls;

#define CONN_INBUF	16384
#define CONN_OUTBUF	65536	/* conn_write flushes when this much is queued */

struct conn {
	int		 fd;		/* -1 when closed */
	struct tls	*tls;		/* NULL: plain text */
	int		 timeout;	/* seconds for each wait; 0 = none */
	char		*host;		/* host name as given */
	char		 peer[64];	/* numeric address connected to */
	unsigned char	 in[CONN_INBUF];
	size_t		 in_start;	/* first unconsumed byte */
	size_t		 in_end;	/* end of received bytes */
	unsigned char	*out;
	size_t		 out_len;
	size_t		 out_cap;
	int		 out_secret;	/* out holds a secret: wipe after flush */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
};

/* Sets fd to -1 and empties the buffers. */
void	 conn_init(struct conn *c);

/*
 * Resolves host (any family) and connects to each address in turn until
 * one answers, waiting at most timeout seconds for each (0 = the system's
 * own limit).  source_ip, if not NULL, is bound first.  Errors: a name
 * that does not exist is ERR_NOHOST; a lookup that fails for now
 * (EAI_AGAIN) ERR_TEMP; every address refused, unreachable or timed out
 * ERR_TEMP naming the host, the last address and the reason.
 */
int	 net_connect(struct conn *c, const char *host, int port,
	    const char *source_ip, int timeout, struct err *e);

/*
 * Waits up to ms milliseconds (-1: no limit) until fd is ready for events
 * (POLLIN, POLLOUT): 1 ready, 0 timed out, -1 with errno (EINTR once
 * SIGINT, SIGTERM or SIGHUP was caught, also when it lands just before
 * the wait).  Before a wait for input, delayed ACKs are switched off.
 */
int	 net_poll(int fd, short events, int ms);

/* Seconds each later read or write may wait (0 = no limit). */
void	 conn_set_timeout(struct conn *c, int seconds);

/*
 * Reads one line (ended by CRLF, or LF alone) and returns it without the
 * line ending, NUL-terminated: *line points into c's buffer and stays
 * valid until the next read.  A line longer than max is ERR_PROTOCOL; end
 * of stream ERR_TEMP ("connection closed by server"); a timeout ERR_TEMP
 * ("timed out"); a read error ERR_TEMP.  0 or -1.
 */
int	 conn_getline(struct conn *c, const char **line, size_t *len,
	    size_t max, struct err *e);

/* Bytes received and not yet consumed by conn_getline. */
size_t	 conn_buffered(const struct conn *c);

/*
 * Queues n bytes for sending; writes out once CONN_OUTBUF bytes are
 * queued.  Errors as conn_flush.  0 or -1.
 */
int	 conn_write(struct conn *c, const void *p, size_t n, struct err *e);
/* The same for a secret (AUTH data): the buffer is wiped once sent. */
int	 conn_write_secret(struct conn *c, const void *p, size_t n,
	    struct err *e);
/*
 * Sends everything queued (through TLS when active).  A peer that closed
 * or reset, or a timeout, is ERR_TEMP.  0 or -1.
 */
int	 conn_flush(struct conn *c, struct err *e);

/* Ends TLS (without waiting for the peer), closes the socket, frees the
   buffers.  Safe to call twice. */
void	 conn_close(struct conn *c);

/*
 * Raw I/O on the socket, never through TLS: conn's plain-text path and
 * GnuTLS's transport (tls.c).  Each wait is bounded by c->timeout.
 * Bytes, 0 at EOF, -1 (ERR_TEMP).
 */
ssize_t	 conn_raw_read(struct conn *c, void *p, size_t n, struct err *e);
int	 conn_raw_write(struct conn *c, const void *p, size_t n, struct err *e);

#endif
