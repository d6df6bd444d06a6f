/*
 * oauth_store: an account's OAuth2 tokens on disk.  One JSON file per
 * account, 0600 in a 0700 directory (${XDG_STATE_HOME:-~/.local/state}/
 * posthorn/oauth2/ACCOUNT.json, or oauth2_token_file), replaced by a
 * temporary file + fsync + rename + fsync of the directory, so a crash
 * leaves the old file or the new one, never a torn one.  Writers hold an
 * flock on a lock file beside it (FILE.lock: the data file's inode
 * changes with every rename) for the whole read-refresh-write, so that
 * two processes never refresh at once.
 */
#ifndef POSTHORN_OAUTH_STORE_H
#define POSTHORN_OAUTH_STORE_H

#include <time.h>

struct account;
struct err;

/* Tokens; the strings are owned and the secrets wiped on release. */
struct oauth_tokens {
	char	*access;	/* secret; NULL none */
	char	*refresh;	/* secret; NULL none */
	char	*scope;		/* as granted; NULL unknown */
	char	*sign_in;	/* not secret: a random id made by each
				   posthorn --login and kept by every
				   refresh; NULL in older files */
	time_t	 expires;	/* when access expires; 0 unknown */
	time_t	 obtained;	/* when access was issued */
};

void	 oauth_tokens_release(struct oauth_tokens *t);

/*
 * Where the account's tokens live (caller frees): oauth2_token_file, else
 * under the XDG state directory.  No usable home and no oauth2_token_file
 * is ERR_CONFIG.  0 or -1.
 */
int	 oauth_store_path(const struct account *a, char **path,
	    struct err *e);

/*
 * Takes the exclusive lock for path (creating its directory 0700 and the
 * lock file 0600), waiting for another holder.  *fd the lock (close it
 * to release).  ERR_IO.  0 or -1.
 */
int	 oauth_store_lock(const char *path, int *fd, struct err *e);

/*
 * Reads the tokens at path into t: 0 (a missing file is no tokens: 0
 * with t empty), or -1 with ERR_IO for an unreadable file, ERR_CONFIG
 * for one that is not a token file or that group or others can read.
 */
int	 oauth_store_load(const char *path, struct oauth_tokens *t,
	    struct err *e);

/* Replaces the file at path with t (see the top).  ERR_IO.  0 or -1. */
int	 oauth_store_save(const char *path, const struct oauth_tokens *t,
	    struct err *e);

/*
 * What a connection holder (persist.c) compares to see whether the
 * account was signed in again or out since it authenticated, but not
 * whether an access token was merely refreshed: "sign-in ID" from the
 * file's sign_in, else (an older or hand-written file) a SHA-256 of the
 * refresh token (or of the access token when there is none), "signed
 * out" without a file or tokens, "unreadable".  No secret in it.
 * Returns a malloc'd string.
 */
char	*oauth_store_grant(const char *path);

/* A new sign-in id for t->sign_in (16 random letters and digits). */
void	 oauth_store_new_sign_in(struct oauth_tokens *t);

/* Removes the file; a missing one is fine. */
int	 oauth_store_remove(const char *path, struct err *e);

/* Makes jansson wipe what it frees (tokens pass through it).  Once. */
void	 oauth_json_secure(void);

#endif
