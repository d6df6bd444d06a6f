/*
 * tls: TLS as a transport layer, with GnuTLS, on whatever layer is below
 * (TCP, a unix socket, memory).  The only module that includes GnuTLS; it
 * knows the layer below only through transport.h.  Certificates are
 * verified against the system trust store (or a trust file) and the host
 * name, with SNI; TLS 1.2 is the minimum unless tls_priorities says
 * otherwise; tls_fingerprint pins the certificate (SHA-256, or SHA-1 for
 * old configurations) instead of the CA check.
 */
#ifndef POSTHORN_TLS_H
#define POSTHORN_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct buf;
struct err;
struct tls;
struct transport;

struct tls_params {
	const char		*host;		/* name to verify and send as SNI
						   (no SNI for an IP literal) */
	const char		*trust_file;	/* NULL or "system": system store */
	const char		*crl_file;	/* NULL = none */
	int			 certcheck;	/* 0: accept any certificate */
	const unsigned char	*fingerprint;	/* NULL = no pinning */
	size_t			 fingerprint_len; /* 32 SHA-256 or 20 SHA-1 */
	const char		*cert_file;	/* client certificate, or NULL */
	const char		*key_file;
	const char		*cert_pem;	/* the same, already read (a setgid
						   run's, privsep), or NULL */
	size_t			 cert_pem_len;
	const char		*key_pem;
	size_t			 key_pem_len;
	const char		*priorities;	/* GnuTLS priority string, or NULL
						   for posthorn's default */
	unsigned		 min_dh_bits;	/* fewest DH prime bits
						   accepted; 0: GnuTLS's */
	int			 timeout;	/* handshake limit, seconds; 0 none
						   (the caller's wait applies it) */
};

/*
 * Puts a TLS layer on below: credentials and session are set up, nothing
 * is sent yet.  From then on the layer owns below (transport_close on the
 * layer's transport closes both).  A bad local file (trust, CRL, client
 * certificate or key), priority string or fingerprint length is
 * ERR_CONFIG.  The layer, or NULL (below untouched).
 */
struct tls *tls_new(struct transport *below, const struct tls_params *p,
	    struct err *e);

/* The layer as a transport: reads and writes through TLS. */
struct transport *tls_transport(struct tls *t);

/*
 * Runs the handshake as far as it can go without waiting: 0 once it is
 * done and the peer verified; TRANSPORT_AGAIN when it must wait (wait on
 * tls_transport(t) for TRANSPORT_IN: the layer waits for whichever
 * direction the handshake needs, then call again); -1 with e.  Errors:
 * certificate not trusted, wrong host name, pin mismatch ERR_UNAVAILABLE
 * (never temporary: retrying would not help and must not look like it);
 * no common protocol version or cipher ERR_UNAVAILABLE; connection closed
 * or reset ERR_TEMP; anything else the peer sends that is not TLS
 * ERR_PROTOCOL.  The text names the host and the reason.
 */
int	 tls_handshake(struct tls *t, struct err *e);

/*
 * Appends a human-readable description to out: protocol version, cipher
 * suite, and for the peer certificate subject, issuer, validity period,
 * SHA-256 and SHA-1 fingerprints, each field whole.  For --serverinfo
 * and -v.  Nothing for a NULL t.
 */
void	 tls_describe(const struct tls *t, struct buf *out);
/* "TLS1.3" etc.; NULL for a NULL t (plain text). */
const char *tls_version(const struct tls *t);

enum tls_cb { TLS_CB_EXPORTER, TLS_CB_UNIQUE };
/*
 * Channel-binding data (RFC 9266 tls-exporter for TLS 1.3, RFC 5929
 * tls-unique for TLS 1.2) appended to out as raw bytes; -1 when the
 * session (or a NULL t) cannot give that kind.
 */
int	 tls_channel_binding(const struct tls *t, enum tls_cb kind,
	    struct buf *out);

/* SHA-256 of n bytes (PKCE, RFC 7636 S256).  0 or -1. */
int	 tls_sha256(const void *p, size_t n, unsigned char out[32]);

#endif
