/*
 * fuzz_alias: the aliases file parser and expansion.  Every name the file
 * defines (and one it does not, for default:) is expanded; an expansion
 * that succeeds must give addresses that addr accepts as envelope
 * addresses (qualified or not).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "alias.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alias_map m;
	struct err e;
	size_t i, k;

	err_clear(&e);
	if (alias_parse(&m, (const char *)data, size, "fuzz", &e) == -1)
		return 0;
	for (i = 0; i <= m.n; i++) {
		struct strv out = { NULL, 0 };
		const char *name = i < m.n ? m.v[i].name : "no-such-name";

		if (alias_expand(&m, name, &out, &e) == 1) {
			for (k = 0; k < out.n; k++)
				if (!addr_valid_spec(out.v[k], 1))
					abort();
		}
		strv_free(&out);
	}
	alias_free(&m);
	return 0;
}
