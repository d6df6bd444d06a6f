/*
 * mime: the MIME side of composing and sending.  Content sniffing (ASCII,
 * UTF-8 or other 8-bit; line lengths; NULs; bare CRs; lines that could
 * start a boundary), the libmagic type lookup (the only libmagic user),
 * the transfer encodings (quoted-printable here, base64 through
 * util/b64) and the choice between them, boundaries, RFC 2231
 * parameters, and the 8BITMIME downgrade: a streaming filter over a
 * stored message that re-encodes its 8bit parts as quoted-printable while
 * it is sent to a server that does not offer 8BITMIME.
 */
#ifndef POSTHORN_MIME_H
#define POSTHORN_MIME_H

#include <stddef.h>
#include <sys/types.h>

struct buf;
struct err;

#define MIME_LINE_MAX	998	/* RFC 5322 2.1.1, without CRLF */
#define MIME_QP_LINE	76	/* RFC 2045 6.7 (5), with a soft break's "=" */

/* ------------------------------------------------------------ sniffing */

#define MIME_AVOID_MAX	80

/*
 * What a pass over some content found.  A line ends at LF, CRLF or a bare
 * CR (as msg reads them).  Fill with init, feed, end.
 */
struct mime_sniff {
	off_t	 size;		/* bytes seen */
	off_t	 lines;		/* line ends seen */
	size_t	 longest;	/* longest line, without its line end */
	off_t	 hi;		/* bytes >= 0x80 */
	off_t	 nul;		/* NUL bytes */
	off_t	 bare_cr;	/* CR not followed by LF */
	off_t	 bare_lf;	/* LF not preceded by CR */
	int	 utf8;		/* every 8-bit sequence is valid UTF-8 */
	int	 dash_line;	/* a line starts with "--" */
	int	 from_line;	/* a line starts with "From " */
	int	 avoid_line;	/* a line starts with the avoid string */
	int	 final_nl;	/* empty, or ends with a line end */
	/* Internal state. */
	size_t	 col;
	int	 cr;
	unsigned char last;
	unsigned need;		/* UTF-8 continuation bytes still due */
	unsigned char lo, hi_b;	/* allowed range of the next one */
	unsigned live;		/* line-start patterns still matching */
	size_t	 avoidlen;
	char	 avoid[MIME_AVOID_MAX];
};

/*
 * avoid (or NULL) is a line prefix to look for: "--=_" proves that no
 * boundary made by mime_boundary can occur; "--" plus a boundary proves
 * that one cannot.  Longer than MIME_AVOID_MAX is cut.
 */
void	 mime_sniff_init(struct mime_sniff *s, const char *avoid);
void	 mime_sniff_feed(struct mime_sniff *s, const void *p, size_t n);
void	 mime_sniff_end(struct mime_sniff *s);
/*
 * Sniffs len bytes of fd from off (pread; the file offset is not used).
 * -1 with ERR_NOINPUT (naming what) on a read error or when the file is
 * shorter than len.
 */
int	 mime_sniff_fd(struct mime_sniff *s, int fd, off_t off, off_t len,
	    const char *what, struct err *e);

/* ------------------------------------------------------------ types */

/*
 * A libmagic handle; the database is loaded on the first lookup (and
 * mapped: a lookup that finds nothing reads all of it, some 8 MB, so free
 * the handle once the lookups are done).
 */
struct mime_magic;

struct mime_magic *mime_magic_new(void);
void	 mime_magic_free(struct mime_magic *m);

#define MIME_TYPE_MAX	128

/*
 * The type of the content of fd ("type/sub", lower case, into type) and
 * libmagic's guess at its charset ("us-ascii", "utf-8", "iso-8859-1",
 * "binary" ...; "" when none) into charset; both MIME_TYPE_MAX bytes.
 * The file is read from its start (pread-style: the offset is left at 0).
 * An empty file is application/octet-stream.  Returns 0, or -1 when
 * libmagic cannot tell (no database): type is then
 * application/octet-stream and charset "".
 */
int	 mime_type_of(struct mime_magic *m, int fd, char *type,
	    char *charset);
/* The same for a buffer (a prefix of some content). */
int	 mime_type_of_buf(struct mime_magic *m, const void *p, size_t n,
	    char *type, char *charset);

/* 1 if s is a syntactically valid "type/subtype" (RFC 2045 tokens). */
int	 mime_type_valid(const char *s);

/* ------------------------------------------------------------ encodings */

enum mime_cte { MIME_7BIT, MIME_8BIT, MIME_QP, MIME_BASE64 };

/* How content of a type may be carried. */
enum mime_class {
	MIME_CLASS_TEXT,	/* text/ and textual application types */
	MIME_CLASS_BINARY,	/* everything else: always base64 */
	MIME_CLASS_MESSAGE,	/* message/: 7bit or 8bit only */
};

/* "7bit", "8bit", "quoted-printable", "base64". */
const char *mime_cte_name(enum mime_cte cte);
enum mime_class mime_class_of(const char *type);

/*
 * The transfer encoding for sniffed content (sniffed with the avoid
 * string "--=_", or "--" plus the boundary it goes under):
 * 7bit for ASCII text with lines of at most 998 octets, no NUL, no bare
 * CR and no line that could be a boundary; 8bit (when allow_8bit) for
 * UTF-8 text that is otherwise like that; base64 for binary classes, NULs
 * and text that is mostly 8-bit and not UTF-8; quoted-printable for the
 * rest.  For MIME_CLASS_MESSAGE only 7bit, 8bit or, when neither will do,
 * base64 (the caller must then label it application/octet-stream).
 */
enum mime_cte mime_choose(const struct mime_sniff *s, enum mime_class cls,
	    int allow_8bit);

/*
 * The charset parameter for sniffed text: "us-ascii", "utf-8", else
 * magic_cs (libmagic's guess, may be NULL) when it names a real charset,
 * else "unknown-8bit"; NULL when the content has NULs and is not UTF-16
 * or UTF-32 by libmagic.
 */
const char *mime_charset(const struct mime_sniff *s, const char *magic_cs);

/*
 * Quoted-printable (RFC 2045 6.7), streaming.  Lines of at most 76
 * characters with soft breaks; '=', controls, 8-bit bytes and white space
 * before a line end are encoded; at the start of an encoded line '-',
 * 'F' and '.' are encoded too, so no line can begin a boundary, an mbox
 * "From " line or an SMTP end of data.  With lf_breaks a bare LF is a
 * line break (text files); without it only CRLF is, and a bare LF or CR
 * is encoded, so decoding gives back the exact bytes.
 */
struct mime_qp {
	unsigned col;
	int	 wsp;		/* held blank (' ' or '\t'), 0 for none */
	int	 cr;		/* held CR */
	int	 lf_breaks;
};

/* Output room mime_qp_encode needs for n input bytes (and _finish for 0). */
#define MIME_QP_MAX(n)	(4 * (n) + 16)

void	 mime_qp_init(struct mime_qp *q, int lf_breaks);
size_t	 mime_qp_encode(struct mime_qp *q, const void *in, size_t n,
	    char *out);
size_t	 mime_qp_finish(struct mime_qp *q, char *out);

/* ------------------------------------------------------------ structure */

/* "=_" and 28 random letters and digits: "=_" cannot occur in
   quoted-printable or base64 output. */
#define MIME_BOUNDARY_LEN	30

/* Writes a new boundary and its terminator; 0, or -1 (errno). */
int	 mime_boundary(char out[MIME_BOUNDARY_LEN + 1]);

/*
 * Appends the parameter ";name=value" to the header field that out ends
 * with, folding before it when the line would pass 78 columns.  A value
 * that is printable ASCII and fits is a token, or a quoted-string when it
 * is not one or when fallback (a file name); otherwise RFC 2231:
 * name*=utf-8''%XX..., as continuations name*0*=, name*1*= ... when long,
 * then, when fallback, a plain name="..." with '_' for each non-ASCII
 * character for clients that know no RFC 2231.  -1 if out's cap is hit or
 * value is not valid UTF-8.
 */
int	 mime_param(struct buf *out, const char *name, const char *value,
	    int fallback);

/*
 * Appends a Content-ID value "<...>" for an inline file name: the name
 * itself, with bytes outside RFC 5322 atext and '.' written %XX, so
 * that an HTML part refers to it as "cid:NAME".  -1 on cap.
 */
int	 mime_content_id(struct buf *out, const char *name);

/* ------------------------------------------------------------ downgrade */

/*
 * The 8BITMIME downgrade.  A stored message (CRLF text) goes through two
 * passes.  The scan learns, for every MIME entity, whether its body holds
 * 8-bit data; the converter then re-encodes as quoted-printable each leaf
 * that is declared 8bit or binary or that holds 8-bit data without a
 * declared encoding (a message without MIME gets MIME-Version and
 * Content-Type: text/plain; charset=utf-8, or unknown-8bit when its body
 * is not UTF-8), fixes Content-Transfer-Encoding, and leaves everything
 * else byte for byte: header fields, structure, base64 and
 * quoted-printable parts, 7-bit parts.  Multiparts nest (to a depth of
 * 32), message/rfc822 parts are entered; lines, boundaries and header
 * values are parsed with capped buffers, and malformed input is passed
 * through, never refused.
 */
struct mime_dg_plan;
struct mime_dg;

/* Called with output; 0, or -1 with e filled (then feed fails too). */
typedef int (*mime_dg_emit)(void *arg, const char *p, size_t n,
    struct err *e);

struct mime_dg_plan *mime_dg_plan_new(void);
void	 mime_dg_plan_free(struct mime_dg_plan *plan);

/* A filter that scans into plan (no output). */
struct mime_dg *mime_dg_scanner(struct mime_dg_plan *plan);
/* A filter that converts according to plan, calling emit with blocks of
   up to 64 KiB. */
struct mime_dg *mime_dg_converter(const struct mime_dg_plan *plan,
	    mime_dg_emit emit, void *arg);
/* Feeds input; -1 only when emit failed. */
int	 mime_dg_feed(struct mime_dg *d, const void *p, size_t n,
	    struct err *e);
/* Input ended: flushes the rest; -1 only when emit failed. */
int	 mime_dg_finish(struct mime_dg *d, struct err *e);
void	 mime_dg_free(struct mime_dg *d);

/*
 * Both dry passes over the stored message fd[0..size): a new plan into
 * *plan (caller frees) and the exact size of the converted message into
 * *outsize (for SIZE= and BDAT).  -1 with ERR_IO on a read error.
 */
int	 mime_dg_plan_fd(int fd, off_t size, struct mime_dg_plan **plan,
	    off_t *outsize, struct err *e);
/*
 * What a plan converts (mime_dg_plan_mode before the scan; the default
 * is MIME_DG_8BIT): leaves with 8-bit data or an 8bit/binary label
 * (for a server without 8BITMIME), and leaves, but base64 and
 * quoted-printable ones, with a line over 998 octets (MIME_DG_LONG:
 * what no server need take).  A leaf under a multipart/signed is not
 * converted for its long lines, since that would break the signature;
 * mime_dg_plan_signed then names the first such part ("part 3
 * (text/plain) of a multipart/signed, with a line of 5000 octets"), or
 * is NULL.
 */
#define MIME_DG_8BIT	0x01
#define MIME_DG_LONG	0x02
void	 mime_dg_plan_mode(struct mime_dg_plan *plan, unsigned mode);
const char *mime_dg_plan_signed(const struct mime_dg_plan *plan);
/* mime_dg_plan_fd with a mode. */
int	 mime_dg_plan_fd_mode(int fd, off_t size, unsigned mode,
	    struct mime_dg_plan **plan, off_t *outsize, struct err *e);

/* For tests: what each stretch of output is made of. */
enum mime_dg_span {
	MIME_DG_HEADER,		/* header lines, copied */
	MIME_DG_STRUCT,		/* blank lines, delimiters, copied */
	MIME_DG_TEXT,		/* body of a 7-bit leaf, copied */
	MIME_DG_OPAQUE,		/* preamble, epilogue, encoded leaf, copied */
	MIME_DG_DROP,		/* input left out (old encoding field) */
	MIME_DG_ADD,		/* output made up (new header fields) */
	MIME_DG_QP,		/* input re-encoded as quoted-printable */
};
typedef void (*mime_dg_trace)(void *arg, enum mime_dg_span kind,
    off_t in_off, off_t in_len, off_t out_off, off_t out_len);
void	 mime_dg_set_trace(struct mime_dg *d, mime_dg_trace fn, void *arg);

#endif
