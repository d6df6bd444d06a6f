/*
 * route: what decides where a message goes and as whom — host, port, TLS
 * mode, user, SASL mechanism, client certificate — reduced to a digest
 * that a queued message keeps, so that a later run delivers it only
 * through the same route (issue 9), and to one line for people.
 */
#ifndef POSTHORN_ROUTE_H
#define POSTHORN_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct account;

/* 64 hex digits and a NUL. */
#define ROUTE_DIGEST_LEN	65

/*
 * The digest of a's route: SHA-256 over the fields of route.c's table
 * (name, length and value of each), in lower-case hex.  Accounts with the
 * same route give the same digest whatever their names.
 */
void	 route_digest(const struct account *a, char out[ROUTE_DIGEST_LEN]);
/*
 * The route for people: "smtp.example.org:587 (STARTTLS), user alice,
 * auth PLAIN, certificate /path".  Returns a malloc'd string.
 */
char	*route_describe(const struct account *a);

/* SHA-256 of n octets (FIPS 180-4); for the digest and its test. */
void	 route_sha256(const void *p, size_t n, uint8_t out[32]);

#endif
