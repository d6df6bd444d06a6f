/*
 * pgp: PGP/MIME (RFC 3156) through GPGME, the library mutt and neomutt
 * use: --sign makes the message multipart/signed (a detached signature
 * over its MIME entity), --encrypt multipart/encrypted (the entity
 * encrypted, and signed too with --sign, to every envelope recipient's
 * key, and the sender's when the keyring has one).  Keys come from the
 * user's GnuPG keyring ($GNUPGHOME); the signing key is --sign-as's, else
 * the sender's.  A recipient without a usable key is an error naming it:
 * nothing is ever sent unencrypted instead.  Without GPGME at build time
 * both are a configuration error that says so.
 */
#ifndef POSTHORN_PGP_H
#define POSTHORN_PGP_H

struct envelope;
struct err;

struct pgp_opts {
	int		 sign;
	int		 encrypt;
	const char	*sign_as;	/* key id, fingerprint or address;
					   NULL: the envelope sender */
};

/*
 * Rewrites the stored message on fd (the queue's form, CRLF, from offset
 * 0) as PGP/MIME: the header fields stay outside, the Content-* fields
 * and the body become the protected entity.  env gives the sender and
 * recipients and gets the new size.  ERR_DATA (65) for a missing or
 * unusable key (naming the address), an 8-bit message to sign without
 * encrypting, or a GnuPG failure; ERR_CONFIG (78) when built without
 * GPGME; ERR_IO for the files.  0 or -1; on -1 fd holds a partial
 * message the caller must discard.
 */
int	 pgp_protect(int fd, struct envelope *env, const struct pgp_opts *o,
	    struct err *e);

/* 1 when this build has GPGME. */
int	 pgp_available(void);

#endif
