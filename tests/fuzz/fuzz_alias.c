/*
 * fuzz_alias: the aliases file parser and expansion.  Every name the file
 * defines (and one it does not, for default:) is expanded, and each
 * expansion must keep the invariants of issue 8 row 6:
 *  - it ends (libFuzzer's timeout catches one that does not), and every
 *    address it gives is one addr accepts as an envelope address;
 *  - no address twice (the domain compared without regard to case);
 *  - a reported loop is a real cycle: the path the message names is a
 *    chain of aliases, each naming the next, that ends where it began;
 *  - a cycle reachable from the name is never expanded as if all was
 *    well, and a successful expansion means none is reachable.
 * The graph for the last two is built here on its own, by linear search,
 * not through alias.c's index.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "alias.h"
#include "err.h"
#include "util/alloc.h"
#include "util/str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct graph {
	size_t	 n;
	size_t	*nedge;
	size_t **edge;
};

static size_t
lookup(const struct alias_map *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcasecmp(m->v[i].name, name) == 0)
			return i;
	return (size_t)-1;
}

/* Entry i names entry j the way expansion follows it. */
static void
graph_build(const struct alias_map *m, struct graph *g)
{
	struct addr_list l;
	struct err e;
	size_t i, k, j;

	g->n = m->n;
	g->nedge = xcalloc(m->n + 1, sizeof(*g->nedge));
	g->edge = xcalloc(m->n + 1, sizeof(*g->edge));
	for (i = 0; i < m->n; i++) {
		const char *v = m->v[i].value;

		if (v[0] == '|' || v[0] == '/' ||
		    strncasecmp(v, ":include:", 9) == 0)
			continue;
		addr_list_init(&l);
		(void)addr_parse_list(v, strlen(v), &l, &e);
		for (k = 0; k < l.n; k++) {
			char *spec = addr_spec(&l.v[k]);

			if (l.v[k].domain == NULL &&
			    strcasecmp(spec, m->v[i].name) != 0 &&
			    (j = lookup(m, spec)) != (size_t)-1) {
				g->edge[i] = xreallocarray(g->edge[i],
				    g->nedge[i] + 1, sizeof(**g->edge));
				g->edge[i][g->nedge[i]++] = j;
			}
			free(spec);
		}
		addr_list_release(&l);
	}
}

static void
graph_free(struct graph *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->edge[i]);
	free(g->edge);
	free(g->nedge);
}

static int
has_edge(const struct graph *g, size_t a, size_t b)
{
	size_t k;

	for (k = 0; k < g->nedge[a]; k++)
		if (g->edge[a][k] == b)
			return 1;
	return 0;
}

/* 1 when a cycle is reachable from start (Kahn's algorithm on the part
   of the graph start reaches). */
static int
cycle_from(const struct graph *g, size_t start)
{
	unsigned char *seen = xcalloc(g->n, 1);
	size_t *queue = xcalloc(g->n, sizeof(*queue));
	size_t *indeg = xcalloc(g->n, sizeof(*indeg));
	size_t qh = 0, qt = 0, i, k, nreach = 0, removed = 0;

	seen[start] = 1;
	queue[qt++] = start;
	while (qh < qt) {
		i = queue[qh++];
		nreach++;
		for (k = 0; k < g->nedge[i]; k++) {
			indeg[g->edge[i][k]]++;
			if (!seen[g->edge[i][k]]) {
				seen[g->edge[i][k]] = 1;
				queue[qt++] = g->edge[i][k];
			}
		}
	}
	qh = qt = 0;
	for (i = 0; i < g->n; i++)
		if (seen[i] && indeg[i] == 0)
			queue[qt++] = i;
	while (qh < qt) {
		i = queue[qh++];
		removed++;
		for (k = 0; k < g->nedge[i]; k++)
			if (--indeg[g->edge[i][k]] == 0)
				queue[qt++] = g->edge[i][k];
	}
	free(seen);
	free(queue);
	free(indeg);
	return removed < nreach;
}

/* The entry whose name reads as shown in an error text, or -1 when
   none or several do ("\r\ra" and "a" may read alike). */
static size_t
lookup_shown(const struct alias_map *m, const char *shown, size_t len)
{
	char buf[ERR_TEXT_MAX];
	size_t i, found = (size_t)-1;

	for (i = 0; i < m->n; i++) {
		str_oneline(buf, sizeof(buf), m->v[i].name,
		    strlen(m->v[i].name));
		if (strlen(buf) == len && memcmp(buf, shown, len) == 0) {
			if (found != (size_t)-1)
				return (size_t)-1;
			found = i;
		}
	}
	return found;
}

/*
 * Where a loop message ("fuzz:3: alias 'a' loops: a -> b -> a") goes on
 * after "loops", or NULL when text is not one.
 */
static const char *
loop_path(const struct alias_map *m, const char *text)
{
	char shown[ERR_TEXT_MAX], *pre;
	size_t i, n;

	for (i = 0; i < m->n; i++) {
		str_oneline(shown, sizeof(shown), m->v[i].name,
		    strlen(m->v[i].name));
		pre = xasprintf("fuzz:%d: alias '%s' loops", m->v[i].line,
		    shown);
		n = strlen(pre);
		if (strncmp(text, pre, n) == 0) {
			free(pre);
			return text + n;
		}
		free(pre);
	}
	return NULL;
}

/* The path of a loop message is a cycle of g. */
static void
check_loop_path(const struct alias_map *m, const struct graph *g,
    const char *text, const char *p)
{
	const char *sep;
	size_t first = (size_t)-1, prev = (size_t)-1, cur, len;
	int hops = 0;

	/* The path must be named; a text cut to fit cannot be followed. */
	if (strncmp(p, ": ", 2) != 0)
		abort();
	if (strlen(text) >= ERR_TEXT_MAX - 1)
		return;
	for (p += 2;; p = sep + 4) {
		sep = strstr(p, " -> ");
		len = sep != NULL ? (size_t)(sep - p) : strlen(p);
		if ((cur = lookup_shown(m, p, len)) == (size_t)-1)
			return;	/* a name that is not unique once shown */
		if (prev == (size_t)-1)
			first = cur;
		else if (!has_edge(g, prev, cur))
			abort();
		prev = cur;
		hops++;
		if (sep == NULL)
			break;
	}
	if (hops < 2 || prev != first)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alias_map m;
	struct graph g;
	struct err e;
	size_t i, k, j, start;

	err_clear(&e);
	if (alias_parse(&m, (const char *)data, size, "fuzz", &e) == -1)
		return 0;
	graph_build(&m, &g);
	for (i = 0; i <= m.n; i++) {
		struct strv out = { NULL, 0 };
		const char *name = i < m.n ? m.v[i].name : "no-such-name";
		int r;

		err_clear(&e);
		r = alias_expand(&m, name, &out, &e);
		start = lookup(&m, name);
		if (start == (size_t)-1)
			start = lookup(&m, "default");
		if (r == 1) {
			for (k = 0; k < out.n; k++) {
				if (!addr_valid_spec(out.v[k], 1))
					abort();
				for (j = 0; j < k; j++) {
					const char *a = out.v[j], *b = out.v[k];
					const char *at = strrchr(a, '@');
					const char *bt = strrchr(b, '@');

					if ((at == NULL) != (bt == NULL))
						continue;
					if (at == NULL ? strcmp(a, b) == 0 :
					    (at - a == bt - b &&
					    strncmp(a, b, (size_t)(at - a)) ==
					    0 && strcasecmp(at, bt) == 0))
						abort();
				}
			}
			if (start == (size_t)-1 || cycle_from(&g, start))
				abort();
		} else if (r == -1) {
			const char *path = loop_path(&m, e.text);

			if (path != NULL) {
				if (start == (size_t)-1 ||
				    !cycle_from(&g, start))
					abort();
				check_loop_path(&m, &g, e.text, path);
			}
		} else if (start != (size_t)-1)
			abort();
		strv_free(&out);
	}
	graph_free(&g);
	alias_free(&m);
	return 0;
}
