/*
 * fuzz_addr: addr_parse_list on arbitrary bytes.  Every address it gives
 * must have offsets inside the input in the right order, and its envelope
 * form (addr_spec) must parse back to the same local part and domain and
 * pass addr_valid_spec.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_list l, again;
	struct err e;
	size_t i;
	char *spec;

	addr_list_init(&l);
	err_clear(&e);
	if (addr_parse_list((const char *)data, size, &l, &e) == -1 &&
	    (e.kind != ERR_DATA || e.text[0] == '\0'))
		abort();
	for (i = 0; i < l.n; i++) {
		const struct addr *a = &l.v[i];

		if (a->spec_start >= a->local_end && a->local[0] != '\0')
			abort();
		if (a->spec_start > a->local_end ||
		    a->local_end > a->spec_end || a->spec_end > size)
			abort();
		if (a->domain == NULL && a->local_end != a->spec_end)
			abort();
		spec = addr_spec(a);
		addr_list_init(&again);
		if (addr_parse_list(spec, strlen(spec), &again, &e) == -1 ||
		    again.n != 1 || !same(again.v[0].local, a->local) ||
		    !same(again.v[0].domain, a->domain) ||
		    again.v[0].spec_start != 0 ||
		    again.v[0].spec_end != strlen(spec))
			abort();
		/* A tab may sit in a quoted local part, not in SMTP. */
		if (strchr(a->local, '\t') == NULL &&
		    !addr_valid_spec(spec, 1))
			abort();
		if (addr_valid_spec(spec, 0) != (a->domain != NULL &&
		    strchr(a->local, '\t') == NULL))
			abort();
		addr_list_release(&again);
		free(spec);
	}
	addr_list_release(&l);
	return 0;
}
