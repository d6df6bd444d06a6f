/*
 * jsonw: JSON text written by hand where posthorn prints it (-bp --json,
 * --show --json, a send's --json): strings that are always valid JSON
 * whatever bytes a server or a queue file held.
 */
#ifndef POSTHORN_JSONW_H
#define POSTHORN_JSONW_H

#include <stdio.h>

/*
 * Writes s (NULL: null) as a JSON string: quote, backslash and control
 * characters (C0, DEL and C1) escaped, bytes that are not valid UTF-8
 * written as U+FFFD, so the output is valid JSON and valid UTF-8.
 */
void	 jsonw_str(FILE *out, const char *s);

#endif
