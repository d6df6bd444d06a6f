/*
 * err owns the error record and the one mapping from an error kind to the
 * exit status that SPEC.md promises.  Every text goes through one filter:
 * one line, controls and bytes that are not UTF-8 escaped, marked when cut.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "util/buf.h"
#include "util/str.h"

static const struct {
	int		 code;
	const char	*name;
	int		 temporary;
} kinds[] = {
	[ERR_NONE] =		{ 0, "EX_OK", 0 },
	[ERR_USAGE] =		{ 64, "EX_USAGE", 0 },
	[ERR_DATA] =		{ 65, "EX_DATAERR", 0 },
	[ERR_NOINPUT] =		{ 66, "EX_NOINPUT", 0 },
	[ERR_NOUSER] =		{ 67, "EX_NOUSER", 0 },
	[ERR_NOHOST] =		{ 68, "EX_NOHOST", 0 },
	[ERR_UNAVAILABLE] =	{ 69, "EX_UNAVAILABLE", 0 },
	[ERR_SOFTWARE] =	{ 70, "EX_SOFTWARE", 0 },
	[ERR_CANTCREAT] =	{ 73, "EX_CANTCREAT", 0 },
	[ERR_IO] =		{ 74, "EX_IOERR", 0 },
	[ERR_TEMP] =		{ 75, "EX_TEMPFAIL", 1 },
	[ERR_PROTOCOL] =	{ 76, "EX_PROTOCOL", 0 },
	[ERR_NOPERM] =		{ 77, "EX_NOPERM", 0 },
	[ERR_CONFIG] =		{ 78, "EX_CONFIG", 0 },
};

void
err_clear(struct err *e)
{
	memset(e, 0, sizeof(*e));
}

/*
 * Makes raw the record's text: one line safe for a terminal (str_oneline:
 * controls and invalid UTF-8 escaped, whatever a server sent), ending in
 * "..." when it had to be cut to fit, so a shortened line never passes
 * for the whole one.
 */
static void
err_fill(struct err *e, const char *raw, size_t n)
{
	if (str_oneline(e->text, sizeof(e->text), raw, n))
		return;
	str_oneline(e->text, sizeof(e->text) - 3, raw, n);
	strcat(e->text, "...");
}

int
err_vset(struct err *e, enum err_kind kind, const char *fmt, va_list ap)
{
	struct buf raw;

	e->kind = kind;
	buf_init(&raw, 0);
	if (buf_vprintf(&raw, fmt, ap) == -1)
		buf_adds(&raw, "(an error message that cannot be written)");
	err_fill(e, buf_str(&raw), raw.len);
	buf_release(&raw);
	return -1;
}

int
err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	struct buf raw;
	va_list ap;

	buf_init(&raw, 0);
	va_start(ap, fmt);
	if (buf_vprintf(&raw, fmt, ap) == -1)
		buf_reset(&raw);
	va_end(ap);
	buf_adds(&raw, e->text);
	err_fill(e, buf_str(&raw), raw.len);
	buf_release(&raw);
	return -1;
}

int
err_exitcode(const struct err *e)
{
	if ((size_t)e->kind >= sizeof(kinds) / sizeof(kinds[0]))
		return 70;
	return kinds[e->kind].code;
}

int
err_is_temporary(const struct err *e)
{
	if ((size_t)e->kind >= sizeof(kinds) / sizeof(kinds[0]))
		return 0;
	return kinds[e->kind].temporary;
}

const char *
err_exitname(int code)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].code == code)
			return kinds[i].name;
	return "EX_UNKNOWN";
}
