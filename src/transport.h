/*
 * transport: the byte streams under a connection, as a stack of layers
 * with one interface.  A layer reads, writes and waits; it never blocks in
 * read or write (TRANSPORT_AGAIN says "wait first"), and every wait ends
 * at an absolute deadline or at once when SIGINT, SIGTERM or SIGHUP
 * arrives.  The bottom layers are here: TCP (resolve, then each address in
 * turn), a unix-domain socket, and an in-memory stream for tests and
 * fuzzing.  Layers above (the SOCKS5 client in socks.c, TLS in tls.c)
 * take the layer below and own it.  The line I/O that SMTP and HTTP use sits on
 * top, in net.c.
 */
#ifndef POSTHORN_TRANSPORT_H
#define POSTHORN_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

struct err;

/* read and write: nothing can move now; wait, then try again. */
#define TRANSPORT_AGAIN		(-2)

/* Directions for wait. */
#define TRANSPORT_IN		1
#define TRANSPORT_OUT		2

/* A deadline that has always passed: wait only checks, never sleeps. */
#define TRANSPORT_POLL		(-1LL)

/* Longest label (host name or socket path) kept for messages. */
#define TRANSPORT_LABEL_MAX	1024

struct transport;

struct transport_ops {
	/*
	 * Up to n bytes into p: bytes, 0 at the end of the stream,
	 * TRANSPORT_AGAIN, or -1 with e (a reset or broken stream is
	 * ERR_TEMP).
	 */
	ssize_t	(*read)(struct transport *t, void *p, size_t n,
		    struct err *e);
	/* Takes up to n bytes: how many (> 0), TRANSPORT_AGAIN, or -1. */
	ssize_t	(*write)(struct transport *t, const void *p, size_t n,
		    struct err *e);
	/*
	 * Waits until a read or write in the directions asked (TRANSPORT_IN,
	 * TRANSPORT_OUT) can make progress, at most until deadline (ms on
	 * transport_now's clock; 0 = no limit; TRANSPORT_POLL = do not
	 * wait).  Returns the directions ready (> 0), 0 when the deadline
	 * came first, or -1 with e: a caught signal is ERR_TEMP "interrupted
	 * by a signal".
	 */
	int	(*wait)(struct transport *t, int want, long long deadline,
		    struct err *e);
	/* Releases this layer's own state (not the layer below). */
	void	(*free)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	struct transport	*below;	/* owned; NULL at the bottom */
	int			 fd;	/* the bottom's socket, -1 if none */
	char			*label;	/* host name or path, for messages */
	char			*peer;	/* numeric address or path */
};

/*
 * Fills the common fields of a new layer t with ops.  For a layer above
 * another (below not NULL), t owns below from now on and takes over its
 * socket, label and peer for messages.
 */
void	 transport_layer(struct transport *t, const struct transport_ops *ops,
	    struct transport *below);

/* Milliseconds on the monotonic clock. */
long long transport_now(void);

/*
 * The deadline of a stage that starts at now and may last seconds
 * (0 or less: no limit of its own), never later than cap (0: none).
 * 0 means no deadline at all.
 */
long long transport_deadline(long long now, int seconds, long long cap);

/* The calls, through t's ops. */
ssize_t	 transport_read(struct transport *t, void *p, size_t n,
	    struct err *e);
ssize_t	 transport_write(struct transport *t, const void *p, size_t n,
	    struct err *e);
int	 transport_wait(struct transport *t, int want, long long deadline,
	    struct err *e);

/* Frees t and every layer below it, closing the socket.  NULL is fine. */
void	 transport_close(struct transport *t);

/*
 * Resolves host (any family) and connects to each address in turn until
 * one answers, each attempt bounded by attempt_timeout seconds (0: the
 * system's own limit) and all of them by deadline.  source_ip, if not
 * NULL, is bound first.  Errors: a name that does not exist ERR_NOHOST; a
 * lookup that fails for now ERR_TEMP; a bad port or source address
 * ERR_CONFIG; every address refused, unreachable or timed out ERR_TEMP
 * naming the host, the last address and the reason.  The transport, or
 * NULL.  (Name resolution itself is not bounded: getaddrinfo has no
 * timeout.)
 */
struct transport *transport_tcp(const char *host, int port,
	    const char *source_ip, int attempt_timeout, long long deadline,
	    struct err *e);

/*
 * Connects to the unix-domain stream socket at path.  A path too long
 * for a socket address is ERR_CONFIG; a missing socket, refusal or a
 * full listen queue ERR_TEMP.  The transport, or NULL.
 */
struct transport *transport_unix(const char *path, long long deadline,
	    struct err *e);

/*
 * The peer of an in-memory transport.  read gives the peer's next bytes
 * (up to n into p): their number, 0 at the end of the stream, or
 * TRANSPORT_AGAIN when the peer has nothing to say until the client
 * waits for it; then turn is called (the client now waits: the peer's
 * next turn may begin) and read is asked again; a peer still silent after
 * its turn makes the wait end as if its deadline had come.  write takes
 * everything the client sends: 0, or -1 for a peer that is gone (the
 * client sees "connection closed").  turn may be NULL.
 */
struct transport_peer {
	ssize_t	(*read)(void *arg, void *p, size_t n);
	void	(*turn)(void *arg);
	int	(*write)(void *arg, const void *p, size_t n);
	void	*arg;
};

/* A transport whose far end is peer (copied).  Never fails. */
struct transport *transport_memory(const struct transport_peer *peer,
	    const char *label);

struct buf;
/*
 * The simplest peer: it says the n bytes at in (not copied: they must
 * outlive the transport), then ends the stream; what the client sends is
 * appended to out (a write that out's cap refuses is a peer that is
 * gone).
 */
struct transport *transport_memory_buf(const void *in, size_t n,
	    struct buf *out, const char *label);

#endif
