/*
 * addr: RFC 5322 address lists (mailboxes, groups, display names,
 * comments, quoted local parts, obsolete routes) and the envelope form of
 * an address.  Pure: buffers in, structures out, no I/O.
 */
#ifndef POSTHORN_ADDR_H
#define POSTHORN_ADDR_H

#include <stddef.h>

struct err;
struct buf;

/*
 * One mailbox.  Offsets index the parsed input so a caller can rewrite an
 * address in place (qualify "root" as "root@example.org" without touching
 * comments or the display name).
 */
struct addr {
	char	*display;	/* display name, unquoted, RFC 2047 words left
				   as they are; NULL if none */
	char	*local;		/* local part, semantic value (quotes and
				   backslashes removed) */
	char	*domain;	/* domain as written (a domain-literal keeps its
				   brackets); NULL when unqualified */
	size_t	 spec_start;	/* input offset of the addr-spec's first byte */
	size_t	 spec_end;	/* offset just past the addr-spec */
	size_t	 local_end;	/* offset just past the local part: where
				   "@domain" goes for an unqualified address */
	int	 in_group;	/* 1 if inside "name: ... ;" */
};

struct addr_list {
	struct addr	*v;
	size_t		 n;
	size_t		 cap;
};

void	 addr_list_init(struct addr_list *l);
void	 addr_list_release(struct addr_list *l);

/*
 * Parses an RFC 5322 address-list (also a mailbox-list; empty members and
 * obsolete forms tolerated as RFC 5322 section 4.4 allows; an empty or
 * all-blank input gives zero addresses) from s[0..len).  Groups contribute
 * their members ("undisclosed-recipients:;" none).  An address without "@"
 * is accepted (unqualified) so the caller can qualify it.  Appends to out.
 * 0 on success; -1 with ERR_DATA and a message naming the problem and the
 * offending text (out then holds what was parsed before it).
 */
int	 addr_parse_list(const char *s, size_t len, struct addr_list *out,
	    struct err *e);

/*
 * The addr-spec for the envelope: local part quoted only when it is not a
 * dot-atom, then "@" and the domain (or no "@" when unqualified).  Returns
 * a malloc'd string.
 */
char	*addr_spec(const struct addr *a);

/*
 * Checks an envelope address given as a bare string (after "<" ">" were
 * stripped): 1 if it is a valid addr-spec (dot-atom or quoted local part,
 * "@", domain or domain-literal), 0 if not.  Unqualified local parts are
 * accepted when allow_unqualified.
 */
int	 addr_valid_spec(const char *s, int allow_unqualified);

/* 1 when the address (local or domain) has bytes >= 0x80. */
int	 addr_is_utf8(const char *spec);

/*
 * The envelope form for a server without SMTPUTF8: an internationalised
 * domain becomes its A-labels (IDNA 2008, libidn2); a non-ASCII local
 * part cannot be expressed and is ERR_DATA.  *out is malloc'd.  0 or -1.
 */
int	 addr_to_ascii(const char *spec, char **out, struct err *e);

#endif
