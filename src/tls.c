/*
 * tls owns TLS on a connection and is the only module that includes
 * GnuTLS.  It sets up the credentials (system trust or a trust file, a CRL,
 * a client certificate), runs the handshake with SNI and host name
 * verification or a pinned fingerprint, and maps every way a handshake can
 * fail onto the error kinds SPEC.md promises: an untrusted certificate is
 * never "try again later".  GnuTLS reaches the socket through push and
 * pull functions built on conn_raw_read and conn_raw_write, so the conn's
 * poll-based timeouts bound the handshake and every record, and the
 * transport's own error text (timed out, reset) reaches the user instead
 * of GnuTLS's generic "push/pull error".
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "err.h"
#include "net.h"
#include "tls.h"
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
   server that does not speak TLS at all from a TLS failure. */
#define TLS_SNIFF	40

struct tls {
	gnutls_session_t			 session;
	gnutls_certificate_credentials_t	 cred;
	struct conn				*c;
	struct err				 ioerr;	/* transport failure */
	int					 ioerr_set;
	int					 closing; /* never wait */
	int					 sniffing;
	unsigned char				 first[TLS_SNIFF];
	size_t					 nfirst;
};

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *p, size_t n)
{
	struct tls *t = ptr;
	ssize_t r;

	if (t->closing) {
		r = send(t->c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == -1)
			gnutls_transport_set_errno(t->session, errno);
		else
			t->c->bytes_out += (uint64_t)r;
		return r;
	}
	if (conn_raw_write(t->c, p, n, &t->ioerr) == -1) {
		t->ioerr_set = 1;
		gnutls_transport_set_errno(t->session, EIO);
		return -1;
	}
	return (ssize_t)n;
}

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *p, size_t n)
{
	struct tls *t = ptr;
	ssize_t r;
	size_t k;

	r = conn_raw_read(t->c, p, n, &t->ioerr);
	if (r == -1) {
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
 * GnuTLS asks whether data arrives within ms (the handshake timeout's
 * remainder).  An indefinite wait is still bounded by the conn's timeout.
 * >0 data, 0 timed out, -1 error.
 */
static int
tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls *t = ptr;
	int wait, ours = 0, r;

	if (ms == GNUTLS_INDEFINITE_TIMEOUT)
		wait = -1;
	else
		wait = ms > INT_MAX ? INT_MAX : (int)ms;
	if (t->c->timeout > 0 && t->c->timeout < INT_MAX / 1000 &&
	    (wait < 0 || t->c->timeout * 1000 < wait)) {
		wait = t->c->timeout * 1000;
		ours = 1;
	}
	r = net_poll(t->c->fd, POLLIN, wait);
	if (r == 0 && ours) {
		err_set(&t->ioerr, ERR_TEMP, "timed out after %d s waiting "
		    "for data from %s", t->c->timeout,
		    t->c->host != NULL ? t->c->host : "server");
		t->ioerr_set = 1;
	} else if (r == -1) {
		err_set(&t->ioerr, ERR_TEMP, "cannot read from %s: %s",
		    t->c->host != NULL ? t->c->host : "server",
		    errno == EINTR ? "interrupted by a signal" :
		    strerror(errno));
		t->ioerr_set = 1;
		/* A pull error, not GNUTLS_E_INTERRUPTED to be retried. */
		gnutls_transport_set_errno(t->session, EIO);
	}
	return r;
}

static void
tls_free(struct tls *t)
{
	if (t->session != NULL)
		gnutls_deinit(t->session);
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
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
		r = gnutls_certificate_set_x509_key_file(t->cred, p->cert_file,
		    p->key_file, GNUTLS_X509_FMT_PEM);
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
	gnutls_handshake_set_timeout(t->session,
	    p->timeout > 0 && p->timeout < INT_MAX / 1000 ?
	    (unsigned)p->timeout * 1000 : 0);
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
tls_handshake_error(struct tls *t, const struct tls_params *p,
    const char *host, int r, struct err *e)
{
	char q[TLS_SNIFF + 1];
	size_t i;

	if (!tls_looks_like_tls(t->first, t->nfirst)) {
		/* GnuTLS read a record header; show the whole line. */
		if (t->nfirst < sizeof(t->first)) {
			ssize_t n = recv(t->c->fd, t->first + t->nfirst,
			    sizeof(t->first) - t->nfirst, MSG_DONTWAIT);

			if (n > 0)
				t->nfirst += (size_t)n;
		}
		for (i = 0; i < t->nfirst && t->first[i] != '\r' &&
		    t->first[i] != '\n'; i++)
			q[i] = t->first[i] >= 0x20 && t->first[i] < 0x7f ?
			    (char)t->first[i] : '?';
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
			    "timed out after %d s", host, p->timeout);
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
tls_check_pin(struct tls *t, const struct tls_params *p, const char *host,
    struct err *e)
{
	const gnutls_datum_t *certs;
	unsigned char md[32];
	char hex[3 * sizeof(md)];
	unsigned n = 0;
	int sha256 = p->fingerprint_len == 32;

	certs = gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0)
		return err_set(e, ERR_UNAVAILABLE, "TLS handshake with %s "
		    "failed: the server sent no certificate", host);
	if (gnutls_hash_fast(sha256 ? GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA1,
	    certs[0].data, certs[0].size, md) < 0)
		return err_set(e, ERR_SOFTWARE, "cannot hash the TLS "
		    "certificate of %s", host);
	if (gnutls_memcmp(md, p->fingerprint, p->fingerprint_len) == 0)
		return 0;
	tls_hex(md, p->fingerprint_len, hex);
	return err_set(e, ERR_UNAVAILABLE, "TLS certificate of %s does not "
	    "match tls_fingerprint (its %s fingerprint is %s)", host,
	    sha256 ? "SHA-256" : "SHA-1", hex);
}

/* Waits for the direction GnuTLS wants after GNUTLS_E_AGAIN. */
static int
tls_wait(struct tls *t, const char *host, struct err *e)
{
	short events;
	int r, ms = -1;

	if (t->c->timeout > 0)
		ms = t->c->timeout < INT_MAX / 1000 ? t->c->timeout * 1000 :
		    INT_MAX;
	events = gnutls_record_get_direction(t->session) ? POLLOUT : POLLIN;
	r = net_poll(t->c->fd, events, ms);
	if (r == 0 && events == POLLIN)
		return err_set(e, ERR_TEMP, "timed out after %d s waiting for "
		    "data from %s", t->c->timeout, host);
	if (r == 0)
		return err_set(e, ERR_TEMP, "timed out after %d s waiting to "
		    "send to %s", t->c->timeout, host);
	if (r == -1)
		return err_set(e, ERR_TEMP, "cannot %s %s: %s",
		    events == POLLIN ? "read from" : "send to", host,
		    errno == EINTR ? "interrupted by a signal" :
		    strerror(errno));
	return 0;
}

int
tls_start(struct conn *c, const struct tls_params *p, struct err *e)
{
	struct tls *t;
	const char *host;
	int r;

	host = p->host != NULL ? p->host : c->host != NULL ? c->host : "";
	if (c->fd == -1 || c->tls != NULL)
		return err_set(e, ERR_SOFTWARE, "cannot start TLS with %s: "
		    "%s", host, c->fd == -1 ? "not connected" :
		    "TLS already active");
	/*
	 * Bytes the server sent before the handshake (after a STARTTLS 220)
	 * were never protected; the caller must have refused them.
	 */
	if (conn_buffered(c) > 0)
		return err_set(e, ERR_PROTOCOL, "%s sent data before the TLS "
		    "handshake", host);
	if (p->fingerprint != NULL && p->fingerprint_len != 32 &&
	    p->fingerprint_len != 20)
		return err_set(e, ERR_CONFIG, "tls_fingerprint must be a "
		    "SHA-256 or SHA-1 fingerprint");

	t = xcalloc(1, sizeof(*t));
	t->c = c;
	if (tls_setup(t, p, host, e) == -1) {
		tls_free(t);
		return -1;
	}
	t->sniffing = 1;
	for (;;) {
		t->ioerr_set = 0;
		r = gnutls_handshake(t->session);
		if (r == GNUTLS_E_AGAIN) {
			if (tls_wait(t, host, e) == 0)
				continue;
			err_prefix(e, "TLS handshake with %s failed: ", host);
			tls_free(t);
			return -1;
		}
		/* A warning alert (unrecognized_name) does not end it. */
		if ((r != GNUTLS_E_INTERRUPTED || sig_caught) &&
		    r != GNUTLS_E_WARNING_ALERT_RECEIVED)
			break;
	}
	t->sniffing = 0;
	if (r < 0) {
		tls_handshake_error(t, p, host, r, e);
		tls_free(t);
		return -1;
	}
	if (p->fingerprint != NULL && tls_check_pin(t, p, host, e) == -1) {
		t->closing = 1;
		gnutls_alert_send(t->session, GNUTLS_AL_FATAL,
		    GNUTLS_A_BAD_CERTIFICATE);
		tls_free(t);
		return -1;
	}
	c->tls = t;
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
	const char *host = t->c->host != NULL ? t->c->host : "server";
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

ssize_t
tls_read(struct conn *c, void *p, size_t n, struct err *e)
{
	struct tls *t = c->tls;
	ssize_t r;

	for (;;) {
		t->ioerr_set = 0;
		r = gnutls_record_recv(t->session, p, n);
		if (r >= 0)
			return r;
		if ((r == GNUTLS_E_INTERRUPTED && !sig_caught) ||
		    r == GNUTLS_E_WARNING_ALERT_RECEIVED ||
		    r == GNUTLS_E_REHANDSHAKE)
			continue;
		if (r == GNUTLS_E_AGAIN) {
			if (tls_wait(t, c->host != NULL ? c->host : "server",
			    e) == -1)
				return -1;
			continue;
		}
		return tls_io_error(t, (int)r, "read from", e);
	}
}

int
tls_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	struct tls *t = c->tls;
	const char *s = p;
	ssize_t r;

	/*
	 * gnutls_record_send sends at most one record (16 kB) per call, in
	 * one push: a command group that fits one record leaves as one
	 * record in one segment.
	 */
	while (n > 0) {
		t->ioerr_set = 0;
		r = gnutls_record_send(t->session, s, n);
		if (r > 0) {
			s += r;
			n -= (size_t)r;
			continue;
		}
		if (r == GNUTLS_E_INTERRUPTED && !sig_caught)
			continue;
		if (r == GNUTLS_E_AGAIN) {
			if (tls_wait(t, c->host != NULL ? c->host : "server",
			    e) == -1)
				return -1;
			continue;
		}
		return tls_io_error(t, r == 0 ? GNUTLS_E_PUSH_ERROR : (int)r,
		    "write to", e);
	}
	return 0;
}

void
tls_end(struct conn *c)
{
	struct tls *t = c->tls;

	if (t == NULL)
		return;
	/* close_notify if the socket takes it now; no wait for the peer. */
	t->closing = 1;
	if (c->fd != -1)
		(void)gnutls_bye(t->session, GNUTLS_SHUT_WR);
	tls_free(t);
	c->tls = NULL;
}

/* Appends "label: value\n" with value made one printable line. */
static void
tls_line(struct buf *out, const char *label, const char *value, size_t n)
{
	char clean[1024];

	str_oneline(clean, sizeof(clean), value, n);
	buf_printf(out, "%s: %s\n", label, clean);
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
tls_describe(const struct conn *c, struct buf *out)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	unsigned char md[32];
	char hex[3 * sizeof(md)];
	const char *suite;
	unsigned n = 0;

	if (c->tls == NULL)
		return;
	suite = tls_version(c);
	buf_printf(out, "TLS version: %s\n", suite != NULL ? suite : "unknown");
	suite = gnutls_ciphersuite_get(c->tls->session);
	buf_printf(out, "TLS cipher suite: %s\n",
	    suite != NULL ? suite : "unknown");
	certs = gnutls_certificate_get_peers(c->tls->session, &n);
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
tls_version(const struct conn *c)
{
	if (c->tls == NULL)
		return NULL;
	return gnutls_protocol_get_name(
	    gnutls_protocol_get_version(c->tls->session));
}

int
tls_channel_binding(const struct conn *c, enum tls_cb kind, struct buf *out)
{
	gnutls_datum_t cb = { NULL, 0 };
	gnutls_protocol_t v;
	int r;

	if (c->tls == NULL)
		return -1;
	v = gnutls_protocol_get_version(c->tls->session);
	/* tls-exporter is for TLS 1.3, tls-unique is undefined there. */
	if ((kind == TLS_CB_EXPORTER) != (v == GNUTLS_TLS1_3))
		return -1;
	if (gnutls_session_channel_binding(c->tls->session,
	    kind == TLS_CB_EXPORTER ? GNUTLS_CB_TLS_EXPORTER :
	    GNUTLS_CB_TLS_UNIQUE, &cb) < 0)
		return -1;
	r = buf_add(out, cb.data, cb.size);
	gnutls_free(cb.data);
	return r;
}
