/*
 * alias: the aliases file (/etc/aliases syntax, as msmtp reads it):
 * "name: address, address" lines, continuation lines that start with
 * white space, '#' comments, and "default:" as the catch-all for names
 * that have no line of their own.  Parsing is pure.
 */
#ifndef POSTHORN_ALIAS_H
#define POSTHORN_ALIAS_H

#include <stddef.h>

#include "util/strv.h"

struct err;

struct alias_entry {
	char	*name;		/* lower case */
	char	*value;		/* the address list as written */
	int	 line;
};

struct alias_map {
	struct alias_entry	*v;
	size_t			 n;
	char			*file;
	size_t			*slot;		/* name index: entry + 1, 0 free */
	size_t			 nslot;		/* a power of two, or 0 */
};

/* Parses buf; later lines for the same name are an error.  0 or -1
   (ERR_CONFIG naming FILE:LINE). */
int	 alias_parse(struct alias_map *m, const char *buf, size_t len,
	    const char *file, struct err *e);
/*
 * Reads and parses path (1 MiB cap).  The file must pass the rules of
 * conf_check_file (a regular file, the user's or root's, not writable by
 * others; a FIFO is refused, not waited on).  ERR_CONFIG when it is
 * unreadable, refused or too big.
 */
int	 alias_load(struct alias_map *m, const char *path, struct err *e);

/*
 * Expands a local name (no "@") through the map, following aliases of
 * aliases (at most ALIAS_DEPTH levels) and using "default:" when name has
 * no entry.  Appends the resulting addresses (qualified or not) to out,
 * each once: an address already in out, or reached twice (a diamond:
 * "a: b, c", "b: d", "c: d"), is not added again, and an alias reached
 * twice is expanded once.  Returns 1 when an alias applied, 0 when none
 * did (out untouched), -1 with ERR_CONFIG when an entry cannot be used
 * (not an address list, only pipes or files, nested too deeply) or when
 * the expansion meets an alias it is still expanding: a real cycle, named
 * in the message ("a -> b -> a").  Linear in the size of the map.
 */
#define ALIAS_DEPTH	64
int	 alias_expand(const struct alias_map *m, const char *name,
	    struct strv *out, struct err *e);

void	 alias_free(struct alias_map *m);

#endif
