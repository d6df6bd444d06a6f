/*
 * test_route: SHA-256 against the FIPS 180-4 vectors, and the route
 * digest: every field of the table changes it, names and passwords do
 * not.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "route.h"
#include "util/alloc.h"
#include "t.h"

static void
hex(const uint8_t *d, char *out)
{
	static const char h[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = h[d[i] >> 4];
		out[2 * i + 1] = h[d[i] & 15];
	}
	out[64] = '\0';
}

static void
test_sha256(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		    "7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
		    "ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
		    "19db06c1" },
	};
	uint8_t d[32];
	char out[65], *million;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		route_sha256(v[i].in, strlen(v[i].in), d);
		hex(d, out);
		t_streq(out, v[i].out, "SHA-256 vector %zu", i);
	}
	million = xmalloc(1000000);
	memset(million, 'a', 1000000);
	route_sha256(million, 1000000, d);
	hex(d, out);
	t_streq(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39"
	    "ccc7112cd0", "SHA-256 of a million a");
	free(million);
}

static void
test_digest(void)
{
	struct account *a, *b;
	char d1[ROUTE_DIGEST_LEN], d2[ROUTE_DIGEST_LEN];
	char *desc;

	a = conf_account_new("default");
	a->host = xstrdup("smtp.a.example");
	route_digest(a, d1);
	t_inteq(strlen(d1), 64, "64 hex digits");

	b = conf_account_dup(a);
	free(b->name);
	b->name = xstrdup("other");
	b->password = xstrdup("changed");
	route_digest(b, d2);
	t_streq(d2, d1, "another name and password: the same route");

#define CHANGE(what, stmt) do {						\
	conf_account_free(b);						\
	b = conf_account_dup(a);					\
	stmt;								\
	route_digest(b, d2);						\
	t_ok(strcmp(d1, d2) != 0, "%s changes the route", what);	\
} while (0)
	CHANGE("the host", (free(b->host), b->host = xstrdup("smtp.b")));
	CHANGE("the port", b->port = 2525);
	CHANGE("TLS off", b->tls = 0);
	CHANGE("implicit TLS", b->tls_starttls = 0);
	CHANGE("auth on", b->auth = 1);
	CHANGE("the client certificate", b->tls_cert_file = xstrdup("/c"));
	CHANGE("the client key", b->tls_key_file = xstrdup("/k"));
	a->auth = 1;
	a->user = xstrdup("alice");
	route_digest(a, d1);
	CHANGE("the user", (free(b->user), b->user = xstrdup("bob")));
	CHANGE("the mechanism", b->auth_mech = xstrdup("PLAIN"));
	CHANGE("a socket", b->socket = xstrdup("/run/smtp.sock"));
	CHANGE("a SOCKS5 proxy", b->proxy_host = xstrdup("127.0.0.1"));
	CHANGE("LMTP", b->protocol = PROTO_LMTP);
	free(a->proxy_host);
	a->proxy_host = xstrdup("proxy.example");
	route_digest(a, d1);
	CHANGE("the proxy port", b->proxy_port = 9050);
	CHANGE("the proxy user", b->proxy_user = xstrdup("u"));
	CHANGE("another proxy", (free(b->proxy_host),
	    b->proxy_host = xstrdup("proxy2.example")));
	free(a->proxy_host);
	a->proxy_host = NULL;
	route_digest(a, d1);
#undef CHANGE
	desc = route_describe(a);
	t_ok(strstr(desc, "smtp.a.example:") != NULL &&
	    strstr(desc, "user alice") != NULL, "described: %s", desc);
	free(desc);
	conf_account_free(a);
	conf_account_free(b);
}

/*
 * Rows added after the first seven leave the digest of a route that
 * does not use them as it was: mail queued by an older posthorn keeps
 * its route.
 */
static void
test_digest_stable(void)
{
	struct account *a;
	char d[ROUTE_DIGEST_LEN], want[65];
	const char *old = "host=14:smtp.a.example\nport=3:587\n"
	    "tls=8:starttls\nuser=5:alice\nauth=5:PLAIN\ntls_cert_file-\n"
	    "tls_key_file-\n";
	uint8_t h[32];

	a = conf_account_new("default");
	a->host = xstrdup("smtp.a.example");
	a->port = 587;
	a->auth = 1;
	a->user = xstrdup("alice");
	a->auth_mech = xstrdup("PLAIN");
	a->proxy_port = 9050;		/* no proxy: does not count */
	route_digest(a, d);
	route_sha256(old, strlen(old), h);
	hex(h, want);
	t_streq(d, want, "the digest of a route without the new rows is "
	    "the one older versions computed");
	conf_account_free(a);
}

int
main(void)
{
	test_digest_stable();
	test_sha256();
	test_digest();
	return t_done();
}
