/*
 * err owns the error record and the one mapping from an error kind to the
 * exit status that SPEC.md promises.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
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

int
err_vset(struct err *e, enum err_kind kind, const char *fmt, va_list ap)
{
	char raw[ERR_TEXT_MAX];
	int n;

	e->kind = kind;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	str_oneline(e->text, sizeof(e->text), raw, (size_t)n);
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
	char pre[ERR_TEXT_MAX], old[ERR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->text, sizeof(old));
	return err_set(e, e->kind, "%s%s", pre, old);
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
