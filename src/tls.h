/*
 * tls: TLS on a connection, with GnuTLS.  The only module that includes
 * GnuTLS.  Certificates are verified against the system trust store (or a
 * trust file) and the host name, with SNI; TLS 1.2 is the minimum unless
 * tls_priorities says otherwise; tls_fingerprint pins the certificate
 * (SHA-256, or SHA-1 for old configurations) instead of the CA check.
 */
#ifndef POSTHORN_TLS_H
#define POSTHORN_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct conn;
struct err;
struct buf;

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
	const char		*priorities;	/* GnuTLS priority string, or NULL
						   for posthorn's default */
	int			 timeout;	/* handshake limit, seconds; 0 none */
};

/*
 * Runs the TLS handshake on c's socket and verifies the peer.  On success
 * c->tls is set and every later conn read and write is encrypted.
 * Errors: certificate not trusted, wrong host name, pin mismatch
 * ERR_UNAVAILABLE (never temporary: retrying would not help and must not
 * look like it); no common protocol version or cipher ERR_UNAVAILABLE; a
 * bad local file (trust, CRL, client cert/key) or priority string
 * ERR_CONFIG; connection closed, reset or timed out ERR_TEMP; anything else
 * the peer sends that is not TLS ERR_PROTOCOL.  The text names the host
 * and the reason.  0 or -1.
 */
int	 tls_start(struct conn *c, const struct tls_params *p, struct err *e);

/* Reads/writes through TLS (used by net.c): bytes, 0 at EOF, -1 (e set,
   timeouts and resets ERR_TEMP). */
ssize_t	 tls_read(struct conn *c, void *p, size_t n, struct err *e);
int	 tls_write(struct conn *c, const void *p, size_t n, struct err *e);

/* Sends close_notify without waiting and frees the session; c->tls NULL. */
void	 tls_end(struct conn *c);

/*
 * Appends a human-readable description to out: protocol version, cipher
 * suite, and for the peer certificate subject, issuer, validity period,
 * SHA-256 and SHA-1 fingerprints.  For --serverinfo and -v.
 */
void	 tls_describe(const struct conn *c, struct buf *out);
/* "TLS1.3" etc., or NULL when c is plain. */
const char *tls_version(const struct conn *c);

enum tls_cb { TLS_CB_EXPORTER, TLS_CB_UNIQUE };
/*
 * Channel-binding data (RFC 9266 tls-exporter for TLS 1.3, RFC 5929
 * tls-unique for TLS 1.2) appended to out as raw bytes; -1 when the
 * session cannot give that kind.
 */
int	 tls_channel_binding(const struct conn *c, enum tls_cb kind,
	    struct buf *out);

#endif
