/*
 * alias owns the aliases file: parsing it into name/value entries and
 * expanding a local name into addresses, recursively and with a loop
 * guard.  Values are address lists parsed by addr.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "alias.h"
#include "err.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/str.h"

#define ALIAS_FILE_MAX	(1024 * 1024)
#define ALIAS_DEPTH	8

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
}

static const struct alias_entry *
find(const struct alias_map *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcasecmp(m->v[i].name, name) == 0)
			return &m->v[i];
	return NULL;
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
	struct buf b;
	int r;

	buf_init(&b, ALIAS_FILE_MAX);
	if (fsio_read_file(path, &b) == -1) {
		buf_release(&b);
		memset(m, 0, sizeof(*m));
		return err_set(e, ERR_CONFIG, "cannot read aliases file "
		    "'%s': %s", path, strerror(errno));
	}
	r = alias_parse(m, b.data ? b.data : "", b.len, path, e);
	buf_release(&b);
	return r;
}

static int
expand(const struct alias_map *m, const struct alias_entry *a, int depth,
    struct strv *seen, struct strv *out, struct err *e)
{
	struct addr_list l;
	size_t i;
	int added = 0;

	if (depth > ALIAS_DEPTH || strv_has(seen, a->name))
		return err_set(e, ERR_CONFIG, "%s:%d: alias '%s' loops",
		    m->file, a->line, a->name);
	strv_add(seen, a->name);
	if (a->value[0] == '|' || a->value[0] == '/' ||
	    str_caseprefix(a->value, ":include:"))
		return err_set(e, ERR_CONFIG, "%s:%d: alias '%s': pipes, "
		    "files and :include: are not supported (a relay can only "
		    "send to addresses)", m->file, a->line, a->name);
	addr_list_init(&l);
	if (addr_parse_list(a->value, strlen(a->value), &l, e) == -1) {
		addr_list_release(&l);
		return err_prefix(e, "%s:%d: alias '%s': ", m->file, a->line,
		    a->name);
	}
	for (i = 0; i < l.n; i++) {
		const struct alias_entry *sub;
		char *spec = addr_spec(&l.v[i]);

		if (l.v[i].domain == NULL && strcasecmp(spec, a->name) != 0 &&
		    (sub = find(m, spec)) != NULL) {
			free(spec);
			if (expand(m, sub, depth + 1, seen, out, e) == -1) {
				addr_list_release(&l);
				return -1;
			}
			added++;
			continue;
		}
		if (!addr_valid_spec(spec, 1)) {
			err_set(e, ERR_CONFIG, "%s:%d: alias '%s': '%s' is not "
			    "an address", m->file, a->line, a->name, spec);
			free(spec);
			addr_list_release(&l);
			return -1;
		}
		if (!strv_has(out, spec))
			strv_add(out, spec);
		free(spec);
		added++;
	}
	addr_list_release(&l);
	if (added == 0)
		return err_set(e, ERR_CONFIG, "%s:%d: alias '%s' has no "
		    "address", m->file, a->line, a->name);
	return 0;
}

int
alias_expand(const struct alias_map *m, const char *name, struct strv *out,
    struct err *e)
{
	const struct alias_entry *a;
	struct strv seen = { NULL, 0 };
	int r;

	if (m == NULL || m->n == 0)
		return 0;
	if ((a = find(m, name)) == NULL && (a = find(m, "default")) == NULL)
		return 0;
	r = expand(m, a, 0, &seen, out, e);
	strv_free(&seen);
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
	memset(m, 0, sizeof(*m));
}
