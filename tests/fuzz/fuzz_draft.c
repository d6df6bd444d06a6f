/*
 * fuzz_draft: the draft parser (draft.c), which reads back what a person
 * (or anything that can write the file) left in the editor.  Invariants:
 *  - a draft that parses has no control character but TAB in any field
 *    it gives back (no header injection can pass the parser), and its
 *    body starts inside the text, after an empty line or at the end;
 *  - draft_is_empty never reads past the text.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "draft.h"
#include "err.h"
#include "util/str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_list(const struct strv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->v[i][0] == '\0' || str_has_ctl(v->v[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct draft d;
	struct err e;

	(void)draft_is_empty(p, size);
	err_clear(&e);
	if (draft_parse(p, size, &d, &e) == 0) {
		check_list(&d.to);
		check_list(&d.cc);
		check_list(&d.bcc);
		check_list(&d.attach);
		if (d.subject != NULL && str_has_ctl(d.subject))
			abort();
		if (d.body_off > size)
			abort();
		if (d.body_off < size && (d.body_off == 0 ||
		    p[d.body_off - 1] != '\n' || (d.body_off >= 2 &&
		    p[d.body_off - 2] != '\n')))
			abort();
	} else if (e.kind != ERR_USAGE)
		abort();
	draft_release(&d);
	return 0;
}
