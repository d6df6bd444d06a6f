/*
 * socks: a SOCKS5 client (RFC 1928) as a transport layer.  It goes on
 * a connection to the proxy (TCP from transport.c) and asks the proxy to
 * CONNECT to the target by its name (address type DOMAINNAME), so that
 * the proxy resolves it, as curl's "socks5h" does (Tor needs that); an
 * address literal goes as an address.  With a user it offers RFC 1929
 * user/password authentication, and only that.  Once the proxy has
 * connected, the layer passes bytes through unchanged; TLS and SMTP (or
 * HTTP) go on top of it.  The replies are parsed by pure functions (the
 * fuzz target drives them and the whole handshake over a memory stream).
 */
#ifndef POSTHORN_SOCKS_H
#define POSTHORN_SOCKS_H

#include <stddef.h>
#include <sys/types.h>

struct err;
struct transport;

/* The default port of a SOCKS proxy (msmtp's proxy_port default). */
#define SOCKS_PORT	1080

struct socks_params {
	const char	*host;		/* the target: name or address */
	int		 port;
	const char	*user;		/* NULL: offer no authentication */
	const char	*password;	/* with user; never in a message */
	const char	*proxy;		/* the proxy's name, for messages */
};

/*
 * Runs the SOCKS5 handshake on below (connected to the proxy) until
 * deadline (ms on transport_now's clock; 0 none) and returns the layer
 * on top of it, which owns below from then on; on failure below is
 * closed.  Errors: the proxy's refusal to connect, a lost proxy or a
 * timeout ERR_TEMP naming the proxy, the target and the proxy's reason;
 * refused credentials ERR_NOPERM; a proxy that wants authentication
 * posthorn was not configured for, a target name longer than 255 bytes,
 * or a user or password longer than 255 bytes ERR_CONFIG; a reply that
 * is not SOCKS5 ERR_PROTOCOL.  NULL then.
 */
struct transport *socks_connect(struct transport *below,
	    const struct socks_params *p, long long deadline, struct err *e);

/*
 * The pure parts.  socks_method_reply checks the reply to the greeting
 * (2 bytes) and gives the method chosen: 0 none, 2 user/password; -1
 * with e for anything else (0xFF: no method acceptable).  offered_auth
 * says whether user/password was offered.
 */
int	 socks_method_reply(const unsigned char *p, size_t n,
	    int offered_auth, const char *proxy, struct err *e);
/* The reply to RFC 1929's sub-negotiation (2 bytes): 0, or -1 with e. */
int	 socks_auth_reply(const unsigned char *p, size_t n,
	    const char *proxy, struct err *e);
/*
 * How long the CONNECT reply that starts with the n bytes at p is: its
 * total length, 0 when more bytes are needed to know (fewer than 5), or
 * -1 with e for a reply that is not SOCKS5 or has an unknown address
 * type.
 */
ssize_t	 socks_connect_reply_len(const unsigned char *p, size_t n,
	    const char *proxy, struct err *e);
/*
 * Checks a whole CONNECT reply (n bytes, as socks_connect_reply_len
 * said): 0 when the proxy connected, else -1 with e naming the target
 * and the proxy's reason.
 */
int	 socks_connect_reply(const unsigned char *p, size_t n,
	    const char *proxy, const char *host, int port, struct err *e);

#endif
