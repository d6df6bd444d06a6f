/*
 * hdr: header fields of an RFC 5322 message.  A push/pull reader that
 * assembles folded fields from lines with a capped buffer, field-name
 * helpers, unfolding, and RFC 2047 encoded-words (encoding for compose
 * mode, decoding for tests and display).  Pure: no I/O.
 */
#ifndef POSTHORN_HDR_H
#define POSTHORN_HDR_H

#include <stddef.h>

#include "util/buf.h"

struct err;

/* What hdr_reader_pull hands out. */
enum hdr_event {
	HDR_NONE = 0,	/* push the next line */
	HDR_FIELD,	/* a complete field is in *f */
	HDR_END,	/* the blank line ending the header section was pushed */
	HDR_BODY,	/* the last pushed line is not a header line: the header
			   section ended without a blank line and that line is
			   the first body line (the caller still has it) */
};

struct hdr_field {
	const char	*name;		/* field name (points into raw) */
	size_t		 namelen;
	const char	*raw;		/* whole field as read: lines joined by
					   "\r\n", no final line ending */
	size_t		 rawlen;
	const char	*value;		/* after "name:", raw (folded) */
	size_t		 valuelen;
};

struct hdr_reader {
	struct buf	 cur;		/* field being assembled */
	struct buf	 out;		/* field handed out by the last pull */
	int		 pending;	/* cur holds a field */
	int		 state;		/* internal */
};

/* max_field caps one field's raw size (all its lines). */
void	 hdr_reader_init(struct hdr_reader *r, size_t max_field);
void	 hdr_reader_release(struct hdr_reader *r);

/*
 * Pushes one line of the header section without its line ending (the
 * empty line ends the section).  Then pull until HDR_NONE.  -1 with
 * ERR_DATA when the field would exceed the cap, 0 otherwise.  Lines pushed
 * after HDR_END or HDR_BODY are ignored.
 */
int	 hdr_reader_push(struct hdr_reader *r, const char *line, size_t len,
	    struct err *e);
/* Input ended without a blank line: the pending field becomes pullable,
   then HDR_END. */
void	 hdr_reader_finish(struct hdr_reader *r);
/* Next event; *f is valid until the next push or pull. */
enum hdr_event hdr_reader_pull(struct hdr_reader *r, struct hdr_field *f);

/*
 * Length of the field name at the start of line (printable ASCII except
 * ':', then optional spaces or tabs, then ':'), or 0 if the line is not a
 * header field line.
 */
size_t	 hdr_name_len(const char *line, size_t len);
/* 1 if the field is named name (ASCII case-insensitive). */
int	 hdr_is(const struct hdr_field *f, const char *name);

/*
 * Appends the value with folding removed (CRLF before WSP dropped) and
 * leading/trailing whitespace trimmed to out.  -1 if out's cap is hit.
 */
int	 hdr_unfold(const char *value, size_t len, struct buf *out);

/*
 * Appends "Name: value\r\n" to out for unstructured text in UTF-8: ASCII
 * text folds at white space before column 78; text with non-ASCII bytes
 * (or that looks like an encoded-word) becomes RFC 2047 "B" or "Q"
 * encoded-words of at most 75 characters, whole UTF-8 characters per word,
 * lines folded at 78.  -1 if out's cap is hit or value is not UTF-8.
 */
int	 hdr_write_unstructured(struct buf *out, const char *name,
	    const char *value);

/*
 * Appends a display name as a phrase: as an atom sequence when possible,
 * a quoted-string when it has specials, encoded-words when it has
 * non-ASCII bytes.  -1 on cap or invalid UTF-8.
 */
int	 hdr_write_phrase(struct buf *out, const char *name);

/*
 * Decodes RFC 2047 encoded-words in s (UTF-8, ISO-8859-1 and US-ASCII
 * charsets; others left encoded) appending UTF-8 to out; white space
 * between adjacent encoded-words dropped.  -1 on cap.
 */
int	 hdr_decode_words(const char *s, size_t len, struct buf *out);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int	 hdr_utf8_valid(const char *s, size_t len);

#endif
