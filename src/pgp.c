/*
 * pgp owns PGP/MIME: splitting a stored message into the header fields
 * that stay outside and the MIME entity that is signed or encrypted, key
 * selection (usable: not revoked, expired, disabled or invalid, and able
 * to sign or encrypt), the GPGME calls, and the multipart/signed and
 * multipart/encrypted structures of RFC 3156.  Only this file includes
 * gpgme.h.  Large messages are handed to GPGME as files, never held in
 * memory.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "envelope.h"
#include "err.h"
#include "pgp.h"
#include "term.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/rand.h"

#ifdef HAVE_GPGME
#include <gpgme.h>

#define PGP_HEADER_MAX	(1024 * 1024)

int
pgp_available(void)
{
	return 1;
}

/* 1 when the field at line (name up to ':') is one of the entity's. */
static int
pgp_entity_field(const char *line)
{
	return strncasecmp(line, "Content-", 8) == 0;
}

/*
 * Reads the header block of fd into outer (fields that stay) and inner
 * (Content-* fields), CRLF kept; *body_off is where the body starts.
 * MIME-Version is dropped (the caller writes its own).
 */
static int
pgp_split(int fd, struct buf *outer, struct buf *inner, off_t *body_off,
    struct err *e)
{
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t off = 0;
	int dfd, where = 0;	/* 0 outer, 1 inner, 2 dropped */

	if (lseek(fd, 0, SEEK_SET) == -1 || (dfd = dup(fd)) == -1 ||
	    (in = fdopen(dfd, "r")) == NULL)
		return err_set(e, ERR_IO, "cannot read the message back: %s",
		    strerror(errno));
	*body_off = -1;
	while ((n = getline(&line, &cap, in)) > 0) {
		off += n;
		if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0) {
			*body_off = off;
			break;
		}
		if (line[0] != ' ' && line[0] != '\t')
			where = strncasecmp(line, "MIME-Version:", 13) == 0 ?
			    2 : pgp_entity_field(line) ? 1 : 0;
		if (where != 2 && buf_add(where ? inner : outer, line,
		    (size_t)n) == -1) {
			free(line);
			fclose(in);
			return err_set(e, ERR_DATA, "the header is too long "
			    "to sign or encrypt");
		}
	}
	free(line);
	fclose(in);
	if (*body_off == -1)
		*body_off = off;
	return 0;
}

/* Copies fd from off to its end to out; *hi set when a byte is 8-bit. */
static int
pgp_copy(int fd, off_t off, int out, int *hi)
{
	char chunk[16384];
	ssize_t n, i;

	if (lseek(fd, off, SEEK_SET) == -1)
		return -1;
	while ((n = fsio_read(fd, chunk, sizeof(chunk))) > 0) {
		if (hi != NULL)
			for (i = 0; i < n; i++)
				if (chunk[i] & 0x80)
					*hi = 1;
		if (fsio_write_all(out, chunk, (size_t)n) == -1)
			return -1;
	}
	return n == -1 ? -1 : 0;
}

/* The first usable key for pattern; NULL when there is none. */
static gpgme_key_t
pgp_key(gpgme_ctx_t ctx, const char *pattern, int secret)
{
	gpgme_key_t key = NULL, found = NULL;

	if (gpgme_op_keylist_start(ctx, pattern, secret) != 0)
		return NULL;
	while (found == NULL && gpgme_op_keylist_next(ctx, &key) == 0) {
		if (!key->revoked && !key->expired && !key->disabled &&
		    !key->invalid && (secret ? key->can_sign :
		    key->can_encrypt))
			found = key;
		else
			gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(ctx);
	return found;
}

/* "<addr>": GnuPG's exact match on the address of a user id. */
static gpgme_key_t
pgp_key_for(gpgme_ctx_t ctx, const char *who, int secret)
{
	gpgme_key_t k;
	char *pat;

	if (strchr(who, '@') == NULL || strchr(who, '<') != NULL)
		return pgp_key(ctx, who, secret);
	pat = xasprintf("<%s>", who);
	k = pgp_key(ctx, pat, secret);
	free(pat);
	return k;
}

/* Appends the whole of data d to out (a descriptor). */
static int
pgp_data_out(gpgme_data_t d, int out)
{
	char chunk[8192];
	ssize_t n;

	if (gpgme_data_seek(d, 0, SEEK_SET) == -1)
		return -1;
	while ((n = gpgme_data_read(d, chunk, sizeof(chunk))) > 0)
		if (fsio_write_all(out, chunk, (size_t)n) == -1)
			return -1;
	return n == -1 ? -1 : 0;
}

static int
pgp_gpg_error(struct err *e, const char *what, gpgme_error_t ge)
{
	return err_set(e, ERR_DATA, "cannot %s: %s", what,
	    gpgme_strerror(ge));
}

/* The whole of out (from 0) replaces fd's content; env->size follows. */
static int
pgp_replace(int fd, int out, struct envelope *env, struct err *e)
{
	off_t size;

	if ((size = lseek(out, 0, SEEK_END)) == -1 ||
	    ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1 ||
	    pgp_copy(out, 0, fd, NULL) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot store the protected "
		    "message: %s", strerror(errno));
	env->size = size;
	return 0;
}

/* Writes the outer header and the multipart's start to out. */
static int
pgp_head(int out, const struct buf *outer, const char *ctype,
    const char *boundary)
{
	char *head;
	int r;

	if (fsio_write_all(out, outer->data, outer->len) == -1)
		return -1;
	head = xasprintf("MIME-Version: 1.0\r\nContent-Type: %s;\r\n"
	    "\tboundary=\"%s\"\r\n\r\nThis is an OpenPGP/MIME %s message "
	    "(RFC 4880 and 3156)\r\n--%s\r\n", ctype, boundary,
	    strncmp(ctype, "multipart/signed", 16) == 0 ? "signed" :
	    "encrypted", boundary);
	r = fsio_write_all(out, head, strlen(head));
	free(head);
	return r;
}

/* What pgp_protect's steps share. */
struct pgp_job {
	gpgme_ctx_t	 ctx;
	gpgme_key_t	 signer;
	gpgme_key_t	*keys;		/* recipients' (and the sender's) */
	size_t		 nkeys;
	struct buf	 outer;		/* header fields that stay outside */
	struct buf	 inner;		/* the content fields, protected */
	int		 ent;		/* the protected entity */
	int		 out;		/* the message being made */
	gpgme_data_t	 in, res;
	char		 boundary[40];
};

/* The keys first: a missing one stops everything. */
static int
pgp_keys(struct pgp_job *j, const struct envelope *env,
    const struct pgp_opts *o, struct err *e)
{
	gpgme_error_t ge;
	const char *who;
	size_t i;

	if (o->sign) {
		who = o->sign_as != NULL ? o->sign_as : env->sender;
		if (who == NULL || *who == '\0')
			return err_set(e, ERR_DATA, "no key to sign with for "
			    "the null sender (use --sign-as)");
		if ((j->signer = pgp_key_for(j->ctx, who, 1)) == NULL)
			return err_set(e, ERR_DATA, "no usable secret PGP key "
			    "for '%s' to sign with", who);
		gpgme_signers_clear(j->ctx);
		if ((ge = gpgme_signers_add(j->ctx, j->signer)) != 0)
			return pgp_gpg_error(e, "use the signing key", ge);
	}
	if (!o->encrypt)
		return 0;
	j->keys = xcalloc(env->nrcpt + 2, sizeof(*j->keys));
	for (i = 0; i < env->nrcpt; i++) {
		j->keys[j->nkeys] = pgp_key_for(j->ctx, env->rcpt[i].addr, 0);
		if (j->keys[j->nkeys] == NULL)
			return err_set(e, ERR_DATA, "no usable PGP key for "
			    "recipient <%s>; nothing was sent",
			    env->rcpt[i].addr);
		j->nkeys++;
	}
	/* The sender can read what it sent (the copy, a bounce). */
	if (env->sender != NULL && *env->sender != '\0' &&
	    (j->keys[j->nkeys] = pgp_key_for(j->ctx, env->sender, 0)) != NULL)
		j->nkeys++;
	return 0;
}

/*
 * The entity to protect, in a scratch file: the content fields and the
 * body of the message in fd, the other fields kept in outer.
 */
static int
pgp_entity(struct pgp_job *j, int fd, const struct pgp_opts *o,
    struct err *e)
{
	off_t body_off;
	int hi = 0;

	if (pgp_split(fd, &j->outer, &j->inner, &body_off, e) == -1)
		return -1;
	if ((j->ent = term_scratch(e)) == -1 || (j->out = term_scratch(e)) ==
	    -1)
		return -1;
	if (j->inner.len == 0 && buf_adds(&j->inner, "Content-Type: "
	    "text/plain; charset=us-ascii\r\n") == -1)
		return err_set(e, ERR_SOFTWARE, "no room for the content "
		    "type");
	if (fsio_write_all(j->ent, j->inner.data, j->inner.len) == -1 ||
	    fsio_write_all(j->ent, "\r\n", 2) == -1 ||
	    pgp_copy(fd, body_off, j->ent, &hi) == -1 ||
	    lseek(j->ent, 0, SEEK_SET) == -1)
		return err_set(e, ERR_IO, "cannot prepare the message: %s",
		    strerror(errno));
	if (hi && o->sign && !o->encrypt)
		return err_set(e, ERR_DATA, "8-bit text cannot be signed as "
		    "it is (a server may convert it); compose it with -s, "
		    "or add --encrypt");
	return 0;
}

/* Writes s to the message being made and frees it. */
static int
pgp_put(struct pgp_job *j, char *s)
{
	int r = fsio_write_all(j->out, s, strlen(s));

	free(s);
	return r;
}

/*
 * multipart/signed: the entity as it is, then its detached signature
 * (written by the caller from res).  -1 with the error set, -2 for a
 * write error the caller names.
 */
static int
pgp_signed(struct pgp_job *j, struct err *e)
{
	gpgme_sign_result_t sr;
	gpgme_error_t ge;
	char micalg[64], *s;

	if ((ge = gpgme_op_sign(j->ctx, j->in, j->res,
	    GPGME_SIG_MODE_DETACH)) != 0)
		return pgp_gpg_error(e, "sign the message", ge);
	sr = gpgme_op_sign_result(j->ctx);
	if (sr == NULL || sr->signatures == NULL ||
	    sr->invalid_signers != NULL)
		return err_set(e, ERR_DATA, "cannot sign the message: GnuPG "
		    "made no signature");
	snprintf(micalg, sizeof(micalg), "pgp-%s",
	    gpgme_hash_algo_name(sr->signatures->hash_algo));
	for (s = micalg; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	s = xasprintf("multipart/signed; micalg=%s;\r\n"
	    "\tprotocol=\"application/pgp-signature\"", micalg);
	if (pgp_head(j->out, &j->outer, s, j->boundary) == -1) {
		free(s);
		return -2;
	}
	free(s);
	if (pgp_copy(j->ent, 0, j->out, NULL) == -1 ||
	    pgp_put(j, xasprintf("\r\n--%s\r\nContent-Type: application/"
	    "pgp-signature; name=\"signature.asc\"\r\n"
	    "Content-Description: OpenPGP digital signature\r\n"
	    "Content-Disposition: attachment; "
	    "filename=\"signature.asc\"\r\n\r\n", j->boundary)) == -1)
		return -2;
	return 0;
}

/* multipart/encrypted (and signed inside with --sign): as pgp_signed. */
static int
pgp_encrypted(struct pgp_job *j, const struct pgp_opts *o, struct err *e)
{
	gpgme_error_t ge;

	j->keys[j->nkeys] = NULL;
	ge = o->sign ? gpgme_op_encrypt_sign(j->ctx, j->keys,
	    GPGME_ENCRYPT_ALWAYS_TRUST, j->in, j->res) :
	    gpgme_op_encrypt(j->ctx, j->keys, GPGME_ENCRYPT_ALWAYS_TRUST,
	    j->in, j->res);
	if (ge != 0)
		return pgp_gpg_error(e, "encrypt the message", ge);
	if (pgp_head(j->out, &j->outer, "multipart/encrypted;\r\n"
	    "\tprotocol=\"application/pgp-encrypted\"", j->boundary) == -1 ||
	    pgp_put(j, xasprintf("Content-Type: application/pgp-encrypted"
	    "\r\nContent-Description: PGP/MIME version identification\r\n"
	    "\r\nVersion: 1\r\n\r\n--%s\r\nContent-Type: "
	    "application/octet-stream; name=\"encrypted.asc\"\r\n"
	    "Content-Description: OpenPGP encrypted message\r\n"
	    "Content-Disposition: inline; filename=\"encrypted.asc\""
	    "\r\n\r\n", j->boundary)) == -1)
		return -2;
	return 0;
}

static void
pgp_job_free(struct pgp_job *j)
{
	size_t i;

	if (j->in != NULL)
		gpgme_data_release(j->in);
	if (j->res != NULL)
		gpgme_data_release(j->res);
	if (j->keys != NULL) {
		for (i = 0; i < j->nkeys; i++)
			gpgme_key_unref(j->keys[i]);
		free(j->keys);
	}
	if (j->signer != NULL)
		gpgme_key_unref(j->signer);
	if (j->ctx != NULL)
		gpgme_release(j->ctx);
	if (j->ent != -1)
		close(j->ent);
	if (j->out != -1)
		close(j->out);
	buf_release(&j->outer);
	buf_release(&j->inner);
}

int
pgp_protect(int fd, struct envelope *env, const struct pgp_opts *o,
    struct err *e)
{
	struct pgp_job j = { .ent = -1, .out = -1 };
	gpgme_error_t ge;
	char rnd[25];
	int r;

	buf_init(&j.outer, PGP_HEADER_MAX);
	buf_init(&j.inner, PGP_HEADER_MAX);
	gpgme_check_version(NULL);
	if ((ge = gpgme_new(&j.ctx)) != 0) {
		r = pgp_gpg_error(e, "start GnuPG (GPGME)", ge);
		goto out;
	}
	gpgme_set_protocol(j.ctx, GPGME_PROTOCOL_OpenPGP);
	gpgme_set_armor(j.ctx, 1);
	if ((r = pgp_keys(&j, env, o, e)) == -1 ||
	    (r = pgp_entity(&j, fd, o, e)) == -1)
		goto out;
	if (rand_alnum(rnd, sizeof(rnd) - 1) == -1) {
		r = err_set(e, ERR_SOFTWARE, "no random numbers");
		goto out;
	}
	snprintf(j.boundary, sizeof(j.boundary), "=_pgp_%s", rnd);
	if ((ge = gpgme_data_new_from_fd(&j.in, j.ent)) != 0 ||
	    (ge = gpgme_data_new(&j.res)) != 0) {
		r = pgp_gpg_error(e, "start GnuPG (GPGME)", ge);
		goto out;
	}
	r = o->encrypt ? pgp_encrypted(&j, o, e) : pgp_signed(&j, e);
	if (r == 0 && (pgp_data_out(j.res, j.out) == -1 ||
	    pgp_put(&j, xasprintf("\r\n--%s--\r\n", j.boundary)) == -1))
		r = -2;
	if (r == -2)
		r = err_set(e, ERR_IO, "cannot write the protected message: "
		    "%s", strerror(errno));
	else if (r == 0)
		r = pgp_replace(fd, j.out, env, e);
out:
	pgp_job_free(&j);
	return r;
}

#else	/* !HAVE_GPGME */

int
pgp_available(void)
{
	return 0;
}

int
pgp_protect(int fd, struct envelope *env, const struct pgp_opts *o,
    struct err *e)
{
	(void)fd;
	(void)env;
	(void)o;
	return err_set(e, ERR_CONFIG, "this posthorn was built without "
	    "GPGME: --sign and --encrypt are not available (rebuild with "
	    "libgpgme-dev installed)");
}

#endif
