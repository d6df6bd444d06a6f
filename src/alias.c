/*
 * alias owns the aliases file: parsing it into name/value entries (with
 * a hash index by name) and expanding a local name into addresses: a
 * depth-first walk that marks each alias open while it is expanded and
 * done after, so a cycle is found exactly (an open alias met again) and a
 * diamond is not one (a done alias is skipped: its addresses are in
 * already).  Values are address lists parsed by addr.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "conf.h"
#include "err.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/strset.h"

#define ALIAS_FILE_MAX	(1024 * 1024)

/* FNV-1a of the name, ASCII case folded. */
static size_t
name_hash(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 1099511628211ULL;
	}
	return (size_t)h;
}

/* The index slot of name: where its entry is, or the free one for it. */
static size_t
find_slot(const struct alias_map *m, const char *name)
{
	size_t i = name_hash(name) & (m->nslot - 1);

	while (m->slot[i] != 0 &&
	    strcasecmp(m->v[m->slot[i] - 1].name, name) != 0)
		i = (i + 1) & (m->nslot - 1);
	return i;
}

static const struct alias_entry *
find(const struct alias_map *m, const char *name)
{
	size_t i;

	if (m->nslot == 0)
		return NULL;
	i = find_slot(m, name);
	return m->slot[i] != 0 ? &m->v[m->slot[i] - 1] : NULL;
}

/* Keeps the index at most half full. */
static void
index_grow(struct alias_map *m)
{
	size_t i;

	free(m->slot);
	m->nslot = m->nslot ? m->nslot * 2 : 64;
	m->slot = xcalloc(m->nslot, sizeof(*m->slot));
	for (i = 0; i < m->n; i++)
		m->slot[find_slot(m, m->v[i].name)] = i + 1;
}

static void
add_entry(struct alias_map *m, const char *name, size_t namelen,
    struct buf *value, int line)
{
	struct alias_entry *a;

	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	a = &m->v[m->n++];
	a->name = str_lower(xstrndup(name, namelen));
	a->value = str_trim(buf_detach(value));
	a->line = line;
	if (2 * m->n > m->nslot)
		index_grow(m);
	else
		m->slot[find_slot(m, a->name)] = m->n;
}

int
alias_parse(struct alias_map *m, const char *buf, size_t len,
    const char *file, struct err *e)
{
	struct buf value;
	const char *p = buf, *end = buf + len, *nl, *colon;
	const char *name = NULL;
	size_t namelen = 0, n;
	int lineno = 0, start_line = 0;

	memset(m, 0, sizeof(*m));
	m->file = xstrdup(file);
	buf_init(&value, 64 * 1024);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n) != NULL) {
			err_set(e, ERR_CONFIG, "%s:%d: NUL byte", file,
			    lineno);
			goto fail;
		}
		if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
			/* Continuation of the previous entry. */
			if (name == NULL) {
				size_t k = 0;

				while (k < n && (p[k] == ' ' || p[k] == '\t'))
					k++;
				if (k == n || p[k] == '#')
					goto next;
				err_set(e, ERR_CONFIG,
				    "%s:%d: continuation line without an "
				    "alias", file, lineno);
				goto fail;
			}
			if (buf_addc(&value, ' ') == -1 ||
			    buf_add(&value, p, n) == -1)
				goto toolong;
			goto next;
		}
		if (name != NULL) {
			add_entry(m, name, namelen, &value, start_line);
			name = NULL;
		}
		if (n == 0 || p[0] == '#')
			goto next;
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p) {
			err_set(e, ERR_CONFIG,
			    "%s:%d: expected 'name: address, ...'", file,
			    lineno);
			goto fail;
		}
		name = p;
		namelen = (size_t)(colon - p);
		while (namelen > 0 && (name[namelen - 1] == ' ' ||
		    name[namelen - 1] == '\t'))
			namelen--;
		if (namelen == 0 || memchr(name, ' ', namelen) != NULL ||
		    memchr(name, '\t', namelen) != NULL) {
			err_set(e, ERR_CONFIG, "%s:%d: invalid alias name",
			    file, lineno);
			goto fail;
		}
		{
			char *nm = xstrndup(name, namelen);
			int dup = find(m, nm) != NULL;

			free(nm);
			if (dup) {
				err_set(e, ERR_CONFIG,
				    "%s:%d: alias '%.*s' defined twice", file,
				    lineno, (int)(namelen > 64 ? 64 : namelen),
				    name);
				goto fail;
			}
		}
		start_line = lineno;
		buf_reset(&value);
		if (buf_add(&value, colon + 1, n - (size_t)(colon + 1 - p))
		    == -1)
			goto toolong;
next:
		p = nl ? nl + 1 : end;
	}
	if (name != NULL)
		add_entry(m, name, namelen, &value, start_line);
	buf_release(&value);
	return 0;
toolong:
	err_set(e, ERR_CONFIG, "%s:%d: alias too long", file, lineno);
fail:
	buf_release(&value);
	alias_free(m);
	return -1;
}

int
alias_load(struct alias_map *m, const char *path, struct err *e)
{
	struct stat st;
	struct buf b;
	int rc;

	memset(m, 0, sizeof(*m));
	if (conf_read_file(path, "aliases file", ALIAS_FILE_MAX, 0,
	    ERR_CONFIG, &b, &st, e) == -1)
		return -1;
	rc = alias_parse(m, b.data ? b.data : "", b.len, path, e);
	buf_release(&b);
	return rc;
}

/* One expansion's state. */
struct expansion {
	const struct alias_map	*m;
	unsigned char		*state;		/* per entry: EX_* */
	size_t			 path[ALIAS_DEPTH + 1];	/* entries being expanded */
	int			 depth;
	struct strset		 have;		/* addresses in out */
	struct strv		*out;
	struct err		*e;
};

enum { EX_NEW, EX_OPEN, EX_DONE };

/*
 * Notes spec in the set under the key an address is known by (the domain
 * without regard to case, as the envelope compares); 1 when it is new.
 */
static int
note_address(struct strset *have, const char *spec)
{
	char *key = xstrdup(spec);
	char *at = strrchr(key, '@');
	int r;

	if (at != NULL)
		str_lower(at);
	r = strset_add(have, key, strlen(key));
	free(key);
	return r;
}

static void
add_address(struct expansion *x, const char *spec)
{
	if (note_address(&x->have, spec))
		strv_add(x->out, spec);
}

/* "a -> b -> c -> a" from where entry k opens on the path. */
static int
loop_error(struct expansion *x, size_t k)
{
	const struct alias_map *m = x->m;
	struct buf b;
	int i, from = 0;

	for (i = 0; i < x->depth; i++)
		if (x->path[i] == k)
			from = i;
	buf_init(&b, 0);
	for (i = from; i < x->depth; i++)
		buf_printf(&b, "%s -> ", m->v[x->path[i]].name);
	buf_adds(&b, m->v[k].name);
	err_set(x->e, ERR_CONFIG, "%s:%d: alias '%s' loops: %s", m->file,
	    m->v[k].line, m->v[k].name, buf_str(&b));
	buf_release(&b);
	return -1;
}

static int
expand(struct expansion *x, size_t k)
{
	const struct alias_map *m = x->m;
	const struct alias_entry *a = &m->v[k], *sub;
	struct addr_list l;
	size_t i;
	int added = 0;

	if (x->state[k] == EX_OPEN)
		return loop_error(x, k);
	if (x->state[k] == EX_DONE)
		return 0;
	if (x->depth == ALIAS_DEPTH)
		return err_set(x->e, ERR_CONFIG, "%s:%d: alias '%s' is nested "
		    "more than %d aliases deep", m->file, a->line, a->name,
		    ALIAS_DEPTH);
	if (a->value[0] == '|' || a->value[0] == '/' ||
	    str_caseprefix(a->value, ":include:"))
		return err_set(x->e, ERR_CONFIG, "%s:%d: alias '%s': pipes, "
		    "files and :include: are not supported (a relay can only "
		    "send to addresses)", m->file, a->line, a->name);
	x->state[k] = EX_OPEN;
	x->path[x->depth++] = k;
	addr_list_init(&l);
	if (addr_parse_list(a->value, strlen(a->value), &l, x->e) == -1) {
		addr_list_release(&l);
		return err_prefix(x->e, "%s:%d: alias '%s': ", m->file,
		    a->line, a->name);
	}
	for (i = 0; i < l.n; i++) {
		char *spec = addr_spec(&l.v[i]);

		if (l.v[i].domain == NULL && strcasecmp(spec, a->name) != 0 &&
		    (sub = find(m, spec)) != NULL) {
			free(spec);
			if (expand(x, (size_t)(sub - m->v)) == -1) {
				addr_list_release(&l);
				return -1;
			}
			added++;
			continue;
		}
		if (!addr_valid_spec(spec, 1)) {
			err_set(x->e, ERR_CONFIG, "%s:%d: alias '%s': '%s' is "
			    "not an address", m->file, a->line, a->name, spec);
			free(spec);
			addr_list_release(&l);
			return -1;
		}
		add_address(x, spec);
		free(spec);
		added++;
	}
	addr_list_release(&l);
	if (added == 0)
		return err_set(x->e, ERR_CONFIG, "%s:%d: alias '%s' has no "
		    "address", m->file, a->line, a->name);
	x->depth--;
	x->state[k] = EX_DONE;
	return 0;
}

int
alias_expand(const struct alias_map *m, const char *name, struct strv *out,
    struct err *e)
{
	const struct alias_entry *a;
	struct expansion x;
	size_t i;
	int r;

	if (m == NULL || m->n == 0)
		return 0;
	if ((a = find(m, name)) == NULL && (a = find(m, "default")) == NULL)
		return 0;
	memset(&x, 0, sizeof(x));
	x.m = m;
	x.state = xcalloc(m->n, 1);
	x.out = out;
	x.e = e;
	strset_init(&x.have);
	for (i = 0; i < out->n; i++)
		(void)note_address(&x.have, out->v[i]);
	r = expand(&x, (size_t)(a - m->v));
	strset_release(&x.have);
	free(x.state);
	return r == -1 ? -1 : 1;
}

void
alias_free(struct alias_map *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
	}
	free(m->v);
	free(m->file);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
