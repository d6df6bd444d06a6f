/*
 * err: the error record every module fills instead of printing or exiting.
 *
 * A function that fails returns -1 and fills the caller's struct err: what
 * kind of failure it was (which decides the exit status and whether the
 * message is queued for retry), the SMTP phase and reply when a server
 * said something, and one sanitised line of text with nothing secret in it.
 * main is the one place that prints the line and exits.
 */
#ifndef POSTHORN_ERR_H
#define POSTHORN_ERR_H

#include <stdarg.h>

#define ERR_TEXT_MAX	1024

/* Kinds map one to one onto SPEC.md's exit statuses (err_exitcode). */
enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,		/* 64: bad command line */
	ERR_DATA,		/* 65: malformed message, no recipient */
	ERR_NOINPUT,		/* 66: a named file cannot be read */
	ERR_NOUSER,		/* 67: a recipient rejected with 5xx */
	ERR_NOHOST,		/* 68: host name does not exist */
	ERR_UNAVAILABLE,	/* 69: other 5xx, untrusted certificate */
	ERR_SOFTWARE,		/* 70: internal error */
	ERR_CANTCREAT,		/* 73: queue file cannot be written */
	ERR_IO,			/* 74: local read or write error */
	ERR_TEMP,		/* 75: 4xx, refused, lost, timed out */
	ERR_PROTOCOL,		/* 76: the server broke the protocol */
	ERR_NOPERM,		/* 77: authentication failed */
	ERR_CONFIG,		/* 78: configuration error */
};

struct err {
	enum err_kind	 kind;
	int		 phase;		/* enum smtp_phase + 1, 0 = none */
	int		 reply;		/* SMTP reply code, 0 = none */
	char		 status[16];	/* enhanced status code, "" = none */
	char		 text[ERR_TEXT_MAX];	/* one line, no "posthorn: " */
};

/* Empties the record. */
void	 err_clear(struct err *e);
/*
 * Fills the record (kind and text; phase and reply untouched) and returns
 * -1 so a caller can write `return err_set(e, ERR_DATA, "...")`.  The text
 * is made one line safe for a terminal (str_oneline: control characters,
 * C1 controls and bytes that are not UTF-8 escaped, so server text can be
 * passed as it came); a text longer than ERR_TEXT_MAX - 1 is cut and ends
 * in "...".
 */
int	 err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 err_vset(struct err *e, enum err_kind kind, const char *fmt,
	    va_list ap) __attribute__((format(printf, 3, 0)));
/* Puts context in front of the existing text ("reading x: " + text). */
int	 err_prefix(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* SPEC.md's exit status for the record: 0 for ERR_NONE. */
int	 err_exitcode(const struct err *e);
/* 1 when a later attempt may succeed (the message is queued, not failed). */
int	 err_is_temporary(const struct err *e);
/* The sysexits name of an exit code ("EX_TEMPFAIL"), for logs. */
const char *err_exitname(int code);

#endif
