/*
 * tls owns TLS as a layer of the transport stack and is the only module
 * that includes GnuTLS.  It sets up the credentials (system trust or a
 * trust file, a CRL, a client certificate), runs the handshake with SNI
 * and host name verification or a pinned fingerprint, and maps every way
 * a handshake can fail onto the error kinds SPEC.md promises: an
 * untrusted certificate is never "try again later".  GnuTLS reaches the
 * layer below only through push and pull functions built on that layer's
 * non-blocking read and write, so nothing here ever blocks: a handshake
 * step, a read or a write that cannot go on says TRANSPORT_AGAIN, and the
 * caller's wait (bounded by its deadline, ended by signals) goes through
 * this layer's wait to the direction GnuTLS needs.  The transport's own
 * error text (reset, closed) reaches the user instead of GnuTLS's generic
 * "push/pull error".
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "err.h"
#include "tls.h"
#include "transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/sig.h"
#include "util/str.h"

/*
 * GnuTLS's NORMAL set, TLS 1.3 and 1.2 only.  NORMAL is the list GnuTLS
 * maintains of algorithms that are currently considered secure, and it is
 * subject to the system-wide policy in /etc/gnutls/config, so it improves
 * with library and distribution updates; naming ciphers here would freeze
 * today's choice.  Only the version floor is posthorn's own decision:
 * TLS 1.0 and 1.1 are deprecated (RFC 8996).
 */
#define TLS_DEFAULT_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* First bytes from the server kept during the handshake, to tell a
   server that does not speak TLS at all from a TLS failure (and quoted:
   one more is kept, to know whether the quote is cut). */
#define TLS_SNIFF	40

struct tls {
	struct transport			 t;	/* first: the layer */
	gnutls_session_t			 session;
	gnutls_certificate_credentials_t	 cred;
	struct err				 ioerr;	/* the layer below failed */
	int					 ioerr_set;
	int					 done;	/* handshake finished */
	int					 again;	/* last call said AGAIN */
	int					 sniffing;
	unsigned char				 first[TLS_SNIFF + 1];
	size_t					 nfirst;
	char					*host;	/* for messages */
	unsigned char				 pin[32];
	size_t					 pin_len; /* 0: no pinning */
	int					 timeout; /* for messages */
};

static const struct transport_ops tls_ops;

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *p, size_t n)
{
	struct tls *t = ptr;
	ssize_t r;

	r = transport_write(t->t.below, p, n, &t->ioerr);
	if (r > 0)
		return r;
	if (r == TRANSPORT_AGAIN) {
		gnutls_transport_set_errno(t->session, EAGAIN);
		return -1;
	}
	t->ioerr_set = 1;
	gnutls_transport_set_errno(t->session, EIO);
	return -1;
}

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *p, size_t n)
{
	struct tls *t = ptr;
	ssize_t r;
	size_t k;

	r = transport_read(t->t.below, p, n, &t->ioerr);
	if (r == TRANSPORT_AGAIN) {
		gnutls_transport_set_errno(t->session, EAGAIN);
		return -1;
	}
	if (r < 0) {
		t->ioerr_set = 1;
		gnutls_transport_set_errno(t->session, EIO);
		return -1;
	}
	if (t->sniffing && t->nfirst < sizeof(t->first)) {
		k = sizeof(t->first) - t->nfirst;
		if (k > (size_t)r)
			k = (size_t)r;
		memcpy(t->first + t->nfirst, p, k);
		t->nfirst += k;
	}
	return r;
}

/*
 * GnuTLS asks whether data is there.  It never waits here: the handshake
 * and record timeouts are off, and the caller's own wait bounds the time.
 * >0 data, 0 none now, -1 error.
 */
static int
tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls *t = ptr;
	int r;

	(void)ms;
	r = transport_wait(t->t.below, TRANSPORT_IN, TRANSPORT_POLL,
	    &t->ioerr);
	if (r == -1) {
		t->ioerr_set = 1;
		gnutls_transport_set_errno(t->session, EIO);
	}
	return r;
}

static void
tls_release(struct tls *t)
{
	if (t->session != NULL)
		gnutls_deinit(t->session);
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t->host);
	wipe(t->pin, sizeof(t->pin));
}

static int
tls_is_ip(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* "AB:CD:..." for n bytes; out needs 3 * n bytes. */
static void
tls_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[3 * i] = digits[p[i] >> 4];
		out[3 * i + 1] = digits[p[i] & 0xf];
		out[3 * i + 2] = i + 1 < n ? ':' : '\0';
	}
	if (n == 0)
		out[0] = '\0';
}

/* Credentials and session, everything before the first byte is sent. */
static int
tls_setup(struct tls *t, const struct tls_params *p, const char *host,
    struct err *e)
{
	const char *prio, *errpos = NULL;
	int r, verify;

	verify = p->certcheck && p->fingerprint == NULL;
	if ((r = gnutls_certificate_allocate_credentials(&t->cred)) < 0)
		return err_set(e, ERR_SOFTWARE, "cannot set up TLS: %s",
		    gnutls_strerror(r));
	if (verify && p->trust_file != NULL && p->trust_file[0] == '\0')
		return err_set(e, ERR_CONFIG, "tls_trust_file is empty (no "
		    "trusted certificates): set tls_fingerprint, or a trust "
		    "file, or 'system'");
	if (verify && (p->trust_file == NULL ||
	    strcmp(p->trust_file, "system") == 0)) {
		r = gnutls_certificate_set_x509_system_trust(t->cred);
		if (r < 0)
			return err_set(e, ERR_CONFIG, "cannot load the "
			    "system's trusted TLS certificates: %s",
			    gnutls_strerror(r));
		if (r == 0)
			return err_set(e, ERR_CONFIG, "the system has no "
			    "trusted TLS certificates; set tls_trust_file");
	} else if (verify) {
		r = gnutls_certificate_set_x509_trust_file(t->cred,
		    p->trust_file, GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(e, ERR_CONFIG, "cannot load TLS trust "
			    "file '%s': %s", p->trust_file,
			    gnutls_strerror(r));
		if (r == 0)
			return err_set(e, ERR_CONFIG, "no certificate in TLS "
			    "trust file '%s'", p->trust_file);
	}
	if (verify && p->crl_file != NULL) {
		r = gnutls_certificate_set_x509_crl_file(t->cred, p->crl_file,
		    GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(e, ERR_CONFIG, "cannot load TLS CRL "
			    "file '%s': %s", p->crl_file, gnutls_strerror(r));
	}
	if (p->cert_file != NULL || p->key_file != NULL) {
		if (p->cert_file == NULL || p->key_file == NULL)
			return err_set(e, ERR_CONFIG, "a TLS client "
			    "certificate needs both tls_cert_file and "
			    "tls_key_file");
		if (p->cert_pem != NULL && p->key_pem != NULL) {
			gnutls_datum_t cd, kd;

			cd.data = (unsigned char *)(uintptr_t)p->cert_pem;
			cd.size = (unsigned)p->cert_pem_len;
			kd.data = (unsigned char *)(uintptr_t)p->key_pem;
			kd.size = (unsigned)p->key_pem_len;
			r = gnutls_certificate_set_x509_key_mem(t->cred, &cd,
			    &kd, GNUTLS_X509_FMT_PEM);
		} else
			r = gnutls_certificate_set_x509_key_file(t->cred,
			    p->cert_file, p->key_file, GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(e, ERR_CONFIG, "cannot load TLS client "
			    "certificate '%s' with key '%s': %s", p->cert_file,
			    p->key_file, gnutls_strerror(r));
	}

	if ((r = gnutls_init(&t->session, GNUTLS_CLIENT)) < 0)
		return err_set(e, ERR_SOFTWARE, "cannot set up TLS: %s",
		    gnutls_strerror(r));
	prio = p->priorities != NULL ? p->priorities : TLS_DEFAULT_PRIORITIES;
	r = gnutls_priority_set_direct(t->session, prio, &errpos);
	if (r < 0 && errpos != NULL)
		return err_set(e, ERR_CONFIG, "invalid TLS priority string "
		    "'%s' (error at '%s')", prio, errpos);
	if (r < 0)
		return err_set(e, ERR_CONFIG, "invalid TLS priority string "
		    "'%s': %s", prio, gnutls_strerror(r));
	/* tls_min_dh_prime_bits (msmtp's key; its own call in GnuTLS). */
	if (p->min_dh_bits > 0)
		gnutls_dh_set_prime_bits(t->session, p->min_dh_bits);
	r = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE,
	    t->cred);
	if (r < 0)
		return err_set(e, ERR_SOFTWARE, "cannot set up TLS: %s",
		    gnutls_strerror(r));
	if (host[0] != '\0' && !tls_is_ip(host)) {
		r = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, host,
		    strlen(host));
		if (r < 0)
			return err_set(e, ERR_CONFIG, "cannot use '%s' as TLS "
			    "server name: %s", host, gnutls_strerror(r));
	}
	if (verify)
		gnutls_session_set_verify_cert(t->session,
		    host[0] != '\0' ? host : NULL, 0);

	gnutls_transport_set_ptr(t->session, t);
	gnutls_transport_set_push_function(t->session, tls_push);
	gnutls_transport_set_pull_function(t->session, tls_pull);
	gnutls_transport_set_pull_timeout_function(t->session,
	    tls_pull_timeout);
	/* The caller's deadlines bound the handshake, not GnuTLS. */
	gnutls_handshake_set_timeout(t->session, 0);
	return 0;
}

/* 1 unless the first bytes are clearly no TLS record header. */
static int
tls_looks_like_tls(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 1;
	/* change_cipher_spec, alert, handshake, application_data. */
	if (p[0] < 20 || p[0] > 23)
		return 0;
	return n < 2 || p[1] == 3;
}

static int
tls_verify_error(struct tls *t, const char *host, int r, struct err *e)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned status;
	int kind;

	status = gnutls_session_get_verify_cert_status(t->session);
	kind = gnutls_certificate_type_get2(t->session, GNUTLS_CTYPE_SERVER);
	if (status == 0 || gnutls_certificate_verification_status_print(status,
	    (gnutls_certificate_type_t)kind, &out, 0) < 0)
		return err_set(e, ERR_UNAVAILABLE, "cannot verify the TLS "
		    "certificate of %s: %s", host, gnutls_strerror(r));
	err_set(e, ERR_UNAVAILABLE, "cannot verify the TLS certificate of "
	    "%s: %s", host, (const char *)out.data);
	gnutls_free(out.data);
	return -1;
}

static int
tls_alert_error(struct tls *t, const char *host, struct err *e)
{
	gnutls_alert_description_t a = gnutls_alert_get(t->session);
	const char *name = gnutls_alert_get_name(a);
	enum err_kind kind;

	switch (a) {
	case GNUTLS_A_CLOSE_NOTIFY:
	case GNUTLS_A_INTERNAL_ERROR:
	case GNUTLS_A_USER_CANCELED:
		kind = ERR_TEMP;
		break;
	case GNUTLS_A_UNEXPECTED_MESSAGE:
	case GNUTLS_A_BAD_RECORD_MAC:
	case GNUTLS_A_RECORD_OVERFLOW:
	case GNUTLS_A_DECODE_ERROR:
		kind = ERR_PROTOCOL;
		break;
	default:
		/* protocol_version, handshake_failure, bad_certificate... */
		kind = ERR_UNAVAILABLE;
		break;
	}
	return err_set(e, kind, "TLS handshake with %s failed: the server "
	    "sent the alert '%s'", host, name != NULL ? name : "unknown");
}

/* The transport's own error, if it failed, with context in front. */
static int
tls_ioerr(struct tls *t, struct err *e, const char *what, const char *host)
{
	e->kind = t->ioerr.kind;
	memcpy(e->text, t->ioerr.text, sizeof(e->text));
	return err_prefix(e, "%s %s failed: ", what, host);
}

static int
tls_handshake_error(struct tls *t, const char *host, int r, struct err *e)
{
	char q[TLS_SNIFF + 4];
	size_t i;

	if (!tls_looks_like_tls(t->first, t->nfirst)) {
		/* GnuTLS read a record header; show the whole line. */
		if (t->nfirst < sizeof(t->first)) {
			struct err ignore;
			ssize_t n = transport_read(t->t.below,
			    t->first + t->nfirst, sizeof(t->first) - t->nfirst,
			    &ignore);

			if (n > 0)
				t->nfirst += (size_t)n;
		}
		for (i = 0; i < t->nfirst && i < TLS_SNIFF &&
		    t->first[i] != '\r' && t->first[i] != '\n'; i++)
			q[i] = t->first[i] >= 0x20 && t->first[i] < 0x7f ?
			    (char)t->first[i] : '?';
		/* The line goes on beyond what is quoted: say so. */
		if (i == TLS_SNIFF && t->nfirst > TLS_SNIFF &&
		    t->first[i] != '\r' && t->first[i] != '\n') {
			memcpy(q + i, "...", 3);
			i += 3;
		}
		q[i] = '\0';
		return err_set(e, ERR_PROTOCOL, "TLS handshake with %s failed: "
		    "the server does not speak TLS (it sent '%s')", host,
		    str_trim(q));
	}
	switch (r) {
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
		return tls_verify_error(t, host, r, e);
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_TIMEDOUT:
	case GNUTLS_E_INTERRUPTED:
		if (t->ioerr_set)
			return tls_ioerr(t, e, "TLS handshake with", host);
		if (r == GNUTLS_E_TIMEDOUT)
			return err_set(e, ERR_TEMP, "TLS handshake with %s "
			    "timed out after %d s", host, t->timeout);
		if (r == GNUTLS_E_INTERRUPTED)
			return err_set(e, ERR_TEMP, "TLS handshake with %s "
			    "failed: interrupted by a signal", host);
		return err_set(e, ERR_TEMP, "TLS handshake with %s failed: %s",
		    host, gnutls_strerror(r));
	case GNUTLS_E_PREMATURE_TERMINATION:
		return err_set(e, ERR_TEMP, "TLS handshake with %s failed: "
		    "connection closed by server", host);
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		return tls_alert_error(t, host, e);
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
		return err_set(e, ERR_UNAVAILABLE, "TLS handshake with %s "
		    "failed: no TLS version in common with the server (%s)",
		    host, gnutls_strerror(r));
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_INSUFFICIENT_SECURITY:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
	case GNUTLS_E_UNWANTED_ALGORITHM:
	case GNUTLS_E_UNKNOWN_PK_ALGORITHM:
	case GNUTLS_E_DH_PRIME_UNACCEPTABLE:
	case GNUTLS_E_ECC_UNSUPPORTED_CURVE:
	case GNUTLS_E_SAFE_RENEGOTIATION_FAILED:
	case GNUTLS_E_UNSAFE_RENEGOTIATION_DENIED:
		return err_set(e, ERR_UNAVAILABLE, "TLS handshake with %s "
		    "failed: no cipher suite or key exchange in common with "
		    "the server (%s)", host, gnutls_strerror(r));
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
		return err_set(e, ERR_UNAVAILABLE, "TLS handshake with %s "
		    "failed: the server sent no certificate", host);
	case GNUTLS_E_MEMORY_ERROR:
		return err_set(e, ERR_SOFTWARE, "TLS handshake with %s "
		    "failed: %s", host, gnutls_strerror(r));
	default:
		return err_set(e, ERR_PROTOCOL, "TLS handshake with %s failed: "
		    "%s", host, gnutls_strerror(r));
	}
}

static int
tls_check_pin(struct tls *t, const char *host, struct err *e)
{
	const gnutls_datum_t *certs;
	unsigned char md[32];
	char hex[3 * sizeof(md)];
	unsigned n = 0;
	int sha256 = t->pin_len == 32;

	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0)
		return err_set(e, ERR_UNAVAILABLE, "TLS handshake with %s "
		    "failed: the server sent no certificate", host);
	if (gnutls_hash_fast(sha256 ? GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA1,
	    certs[0].data, certs[0].size, md) < 0)
		return err_set(e, ERR_SOFTWARE, "cannot hash the TLS "
		    "certificate of %s", host);
	if (gnutls_memcmp(md, t->pin, t->pin_len) == 0)
		return 0;
	tls_hex(md, t->pin_len, hex);
	return err_set(e, ERR_UNAVAILABLE, "TLS certificate of %s does not "
	    "match tls_fingerprint (its %s fingerprint is %s)", host,
	    sha256 ? "SHA-256" : "SHA-1", hex);
}

struct tls *
tls_new(struct transport *below, const struct tls_params *p, struct err *e)
{
	struct tls *t;
	const char *host;

	host = p->host != NULL ? p->host : below->label;
	if (p->fingerprint != NULL && p->fingerprint_len != 32 &&
	    p->fingerprint_len != 20) {
		err_set(e, ERR_CONFIG, "tls_fingerprint must be a SHA-256 or "
		    "SHA-1 fingerprint");
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->host = xstrdup(host);
	t->timeout = p->timeout;
	if (p->fingerprint != NULL) {
		memcpy(t->pin, p->fingerprint, p->fingerprint_len);
		t->pin_len = p->fingerprint_len;
	}
	if (tls_setup(t, p, host, e) == -1) {
		tls_release(t);
		free(t);
		return NULL;
	}
	transport_layer(&t->t, &tls_ops, below);
	t->sniffing = 1;
	return t;
}

struct transport *
tls_transport(struct tls *t)
{
	return &t->t;
}

int
tls_handshake(struct tls *t, struct err *e)
{
	int r;

	if (t->done)
		return 0;
	for (;;) {
		t->ioerr_set = 0;
		r = gnutls_handshake(t->session);
		t->again = r == GNUTLS_E_AGAIN;
		if (r == GNUTLS_E_AGAIN)
			return TRANSPORT_AGAIN;
		/* A warning alert (unrecognized_name) does not end it. */
		if ((r != GNUTLS_E_INTERRUPTED || sig_caught) &&
		    r != GNUTLS_E_WARNING_ALERT_RECEIVED)
			break;
	}
	t->sniffing = 0;
	if (r < 0)
		return tls_handshake_error(t, t->host, r, e);
	if (t->pin_len > 0 && tls_check_pin(t, t->host, e) == -1) {
		gnutls_alert_send(t->session, GNUTLS_AL_FATAL,
		    GNUTLS_A_BAD_CERTIFICATE);
		return -1;
	}
	t->done = 1;
	return 0;
}

/*
 * A record-layer failure.  Once the handshake succeeded, anything that
 * breaks the stream is temporary: the message stays queued and a later
 * attempt on a fresh connection decides.
 */
static int
tls_io_error(struct tls *t, int r, const char *what, struct err *e)
{
	const char *host = t->host;
	gnutls_alert_description_t a;
	const char *name;

	if ((r == GNUTLS_E_PUSH_ERROR || r == GNUTLS_E_PULL_ERROR ||
	    r == GNUTLS_E_TIMEDOUT || r == GNUTLS_E_INTERRUPTED) &&
	    t->ioerr_set) {
		e->kind = t->ioerr.kind;
		memcpy(e->text, t->ioerr.text, sizeof(e->text));
		return -1;
	}
	switch (r) {
	case GNUTLS_E_INTERRUPTED:
		return err_set(e, ERR_TEMP, "TLS %s %s failed: interrupted by "
		    "a signal", what, host);
	case GNUTLS_E_PREMATURE_TERMINATION:
		return err_set(e, ERR_TEMP, "connection closed by server");
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		a = gnutls_alert_get(t->session);
		name = gnutls_alert_get_name(a);
		return err_set(e, ERR_TEMP, "TLS %s %s failed: the server sent "
		    "the alert '%s'", what, host,
		    name != NULL ? name : "unknown");
	case GNUTLS_E_MEMORY_ERROR:
		return err_set(e, ERR_SOFTWARE, "TLS %s %s failed: %s", what,
		    host, gnutls_strerror(r));
	default:
		return err_set(e, ERR_TEMP, "TLS %s %s failed: %s", what, host,
		    gnutls_strerror(r));
	}
}

static ssize_t
tls_read(struct transport *tt, void *p, size_t n, struct err *e)
{
	struct tls *t = (struct tls *)tt;
	ssize_t r;

	if (!t->done)
		return err_set(e, ERR_SOFTWARE, "read before the TLS "
		    "handshake with %s", t->host);
	for (;;) {
		t->ioerr_set = 0;
		r = gnutls_record_recv(t->session, p, n);
		t->again = r == GNUTLS_E_AGAIN;
		if (r >= 0)
			return r;
		if (r == GNUTLS_E_AGAIN)
			return TRANSPORT_AGAIN;
		if ((r == GNUTLS_E_INTERRUPTED && !sig_caught) ||
		    r == GNUTLS_E_WARNING_ALERT_RECEIVED ||
		    r == GNUTLS_E_REHANDSHAKE)
			continue;
		return tls_io_error(t, (int)r, "read from", e);
	}
}

/*
 * gnutls_record_send sends at most one record (16 kB) per call, in one
 * push: a command group that fits one record leaves as one record in one
 * segment.  After TRANSPORT_AGAIN the caller offers the same bytes again,
 * as GnuTLS requires.
 */
static ssize_t
tls_write(struct transport *tt, const void *p, size_t n, struct err *e)
{
	struct tls *t = (struct tls *)tt;
	ssize_t r;

	if (!t->done)
		return err_set(e, ERR_SOFTWARE, "write before the TLS "
		    "handshake with %s", t->host);
	for (;;) {
		t->ioerr_set = 0;
		r = gnutls_record_send(t->session, p, n);
		t->again = r == GNUTLS_E_AGAIN;
		if (r > 0)
			return r;
		if (r == GNUTLS_E_AGAIN)
			return TRANSPORT_AGAIN;
		if (r == GNUTLS_E_INTERRUPTED && !sig_caught)
			continue;
		return tls_io_error(t, r == 0 ? GNUTLS_E_PUSH_ERROR : (int)r,
		    "write to", e);
	}
}

/*
 * Input already decrypted is ready at once.  After TRANSPORT_AGAIN the
 * layer below is waited for in the direction GnuTLS is stuck in, beside
 * what the caller asked for; progress in either lets the caller try
 * again.
 */
static int
tls_wait(struct transport *tt, int want, long long deadline, struct err *e)
{
	struct tls *t = (struct tls *)tt;
	int need = want, r, ready;

	if ((want & TRANSPORT_IN) && t->done &&
	    gnutls_record_check_pending(t->session) > 0)
		return TRANSPORT_IN;
	if (t->again || !t->done) {
		need = gnutls_record_get_direction(t->session) ?
		    TRANSPORT_OUT : TRANSPORT_IN;
		if (t->done)
			need |= want & TRANSPORT_IN;
	}
	r = transport_wait(t->t.below, need, deadline, e);
	if (r <= 0)
		return r;
	ready = 0;
	if (r & TRANSPORT_IN)
		ready |= want & TRANSPORT_IN;
	if (r & TRANSPORT_OUT)
		ready |= want & TRANSPORT_OUT;
	return ready != 0 ? ready : want;
}

/* Sends close_notify if the layer below takes it now; no wait. */
static void
tls_free(struct transport *tt)
{
	struct tls *t = (struct tls *)tt;

	if (t->done)
		(void)gnutls_bye(t->session, GNUTLS_SHUT_WR);
	tls_release(t);
	free(t);
}

static const struct transport_ops tls_ops = {
	tls_read, tls_write, tls_wait, tls_free
};

/* Appends "label: value\n" with value made one printable line, whole. */
static void
tls_line(struct buf *out, const char *label, const char *value, size_t n)
{
	char *clean = xmalloc(n + 1);

	str_oneline(clean, n + 1, value, n);
	buf_printf(out, "%s: %s\n", label, clean);
	free(clean);
}

static void
tls_time(struct buf *out, const char *label, time_t when)
{
	char s[64];
	struct tm tm;

	if (when == (time_t)-1 || gmtime_r(&when, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(s, sizeof(s), "unknown");
	buf_printf(out, "%s: %s\n", label, s);
}

void
tls_describe(const struct tls *t, struct buf *out)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	unsigned char md[32];
	char hex[3 * sizeof(md)];
	const char *suite;
	unsigned n = 0;

	if (t == NULL)
		return;
	suite = tls_version(t);
	buf_printf(out, "TLS version: %s\n", suite != NULL ? suite : "unknown");
	suite = gnutls_ciphersuite_get(t->session);
	buf_printf(out, "TLS cipher suite: %s\n",
	    suite != NULL ? suite : "unknown");
	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0) {
		buf_printf(out, "TLS certificate: none\n");
		return;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		buf_printf(out, "TLS certificate: cannot be parsed\n");
		gnutls_x509_crt_deinit(crt);
		return;
	}
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
		tls_line(out, "TLS certificate subject", (const char *)dn.data,
		    dn.size);
		gnutls_free(dn.data);
	}
	if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) >= 0) {
		tls_line(out, "TLS certificate issuer", (const char *)dn.data,
		    dn.size);
		gnutls_free(dn.data);
	}
	tls_time(out, "TLS certificate activation time",
	    gnutls_x509_crt_get_activation_time(crt));
	tls_time(out, "TLS certificate expiration time",
	    gnutls_x509_crt_get_expiration_time(crt));
	gnutls_x509_crt_deinit(crt);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[0].data, certs[0].size,
	    md) >= 0) {
		tls_hex(md, 32, hex);
		buf_printf(out, "TLS certificate SHA-256 fingerprint: %s\n",
		    hex);
	}
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, certs[0].data, certs[0].size,
	    md) >= 0) {
		tls_hex(md, 20, hex);
		buf_printf(out, "TLS certificate SHA-1 fingerprint: %s\n", hex);
	}
}

const char *
tls_version(const struct tls *t)
{
	if (t == NULL)
		return NULL;
	return gnutls_protocol_get_name(
	    gnutls_protocol_get_version(t->session));
}

int
tls_channel_binding(const struct tls *t, enum tls_cb kind, struct buf *out)
{
	gnutls_datum_t cb = { NULL, 0 };
	gnutls_protocol_t v;
	int r;

	if (t == NULL)
		return -1;
	v = gnutls_protocol_get_version(t->session);
	/* tls-exporter is for TLS 1.3, tls-unique is undefined there. */
	if ((kind == TLS_CB_EXPORTER) != (v == GNUTLS_TLS1_3))
		return -1;
	if (gnutls_session_channel_binding(t->session,
	    kind == TLS_CB_EXPORTER ? GNUTLS_CB_TLS_EXPORTER :
	    GNUTLS_CB_TLS_UNIQUE, &cb) < 0)
		return -1;
	r = buf_add(out, cb.data, cb.size);
	gnutls_free(cb.data);
	return r;
}

int
tls_sha256(const void *p, size_t n, unsigned char out[32])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, out) < 0 ? -1 : 0;
}
