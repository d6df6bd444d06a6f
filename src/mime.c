/*
 * mime owns what MIME means to posthorn: looking at content (sniffing it
 * in one pass, asking libmagic for its type), the transfer encodings and
 * the rule that picks one, the pieces of a multipart message that are not
 * content (boundaries, RFC 2231 parameters, Content-IDs), and the
 * 8BITMIME downgrade filter.  Nothing here does I/O except reading the
 * file a caller names for sniffing or scanning; compose decides what goes
 * where, smtp decides when to downgrade.
 */
#include "config.h"

#include <errno.h>
#include <magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "err.h"
#include "hdr.h"
#include "mime.h"
#include "msg.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/rand.h"
#include "util/str.h"

#define SNIFF_BLOCK	(256 * 1024)
#define FOLD_COL	78

static const char hexdig[] = "0123456789ABCDEF";

/* ------------------------------------------------------------ sniffing */

#define P_DASH	0x1
#define P_FROM	0x2
#define P_AVOID	0x4

static unsigned
sniff_all(const struct mime_sniff *s)
{
	return P_DASH | P_FROM | (s->avoidlen > 0 ? P_AVOID : 0);
}

void
mime_sniff_init(struct mime_sniff *s, const char *avoid)
{
	memset(s, 0, sizeof(*s));
	s->utf8 = 1;
	s->final_nl = 1;
	if (avoid != NULL) {
		s->avoidlen = strlen(avoid);
		if (s->avoidlen > MIME_AVOID_MAX)
			s->avoidlen = MIME_AVOID_MAX;
		memcpy(s->avoid, avoid, s->avoidlen);
	}
	s->live = sniff_all(s);
}

/* Line-start patterns: c is the byte at column s->col. */
static void
sniff_prefix(struct mime_sniff *s, unsigned char c)
{
	size_t col = s->col;

	if (s->live & P_DASH) {
		if (c != '-')
			s->live &= ~P_DASH;
		else if (col == 1) {
			s->dash_line = 1;
			s->live &= ~P_DASH;
		}
	}
	if (s->live & P_FROM) {
		if (c != (unsigned char)"From "[col])
			s->live &= ~P_FROM;
		else if (col == 4) {
			s->from_line = 1;
			s->live &= ~P_FROM;
		}
	}
	if (s->live & P_AVOID) {
		if (c != (unsigned char)s->avoid[col])
			s->live &= ~P_AVOID;
		else if (col + 1 == s->avoidlen) {
			s->avoid_line = 1;
			s->live &= ~P_AVOID;
		}
	}
}

static void
sniff_eol(struct mime_sniff *s)
{
	if (s->col > s->longest)
		s->longest = s->col;
	s->col = 0;
	s->lines++;
	s->live = sniff_all(s);
}

/* One byte >= 0x80 of a UTF-8 check still going. */
static void
sniff_utf8(struct mime_sniff *s, unsigned char c)
{
	if (s->need > 0) {
		if (c < s->lo || c > s->hi_b) {
			s->utf8 = 0;
			s->need = 0;
			return;
		}
		s->need--;
		s->lo = 0x80;
		s->hi_b = 0xbf;
		return;
	}
	s->lo = 0x80;
	s->hi_b = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		s->need = 1;
	else if (c == 0xe0) {
		s->need = 2;
		s->lo = 0xa0;
	} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
		s->need = 2;
	else if (c == 0xed) {
		s->need = 2;
		s->hi_b = 0x9f;
	} else if (c == 0xf0) {
		s->need = 3;
		s->lo = 0x90;
	} else if (c >= 0xf1 && c <= 0xf3)
		s->need = 3;
	else if (c == 0xf4) {
		s->need = 3;
		s->hi_b = 0x8f;
	} else
		s->utf8 = 0;
}

void
mime_sniff_feed(struct mime_sniff *s, const void *p, size_t n)
{
	const unsigned char *b = p, *end = b + n;
	unsigned char c;
	uint64_t x;

	if (n == 0)
		return;
	s->size += (off_t)n;
	s->last = end[-1];
	while (b < end) {
		if (s->cr) {
			s->cr = 0;
			if (*b == '\n') {
				b++;
				continue;
			}
			s->bare_cr++;
		}
		if (s->live == 0 && s->need == 0) {
			/* Runs of bytes 0x20..0x7f, eight at a time. */
			while (end - b >= 8) {
				memcpy(&x, b, 8);
				if (((x - 0x2020202020202020ULL) | x) &
				    0x8080808080808080ULL)
					break;
				b += 8;
				s->col += 8;
			}
			if (b == end)
				break;
		}
		c = *b++;
		if (s->live)
			sniff_prefix(s, c);
		if (c >= 0x80) {
			s->hi++;
			if (s->utf8)
				sniff_utf8(s, c);
			s->col++;
			continue;
		}
		if (s->need > 0) {
			s->utf8 = 0;
			s->need = 0;
		}
		if (c == '\n') {
			s->bare_lf++;
			sniff_eol(s);
		} else if (c == '\r') {
			s->cr = 1;
			sniff_eol(s);
		} else {
			if (c == '\0')
				s->nul++;
			s->col++;
		}
	}
}

void
mime_sniff_end(struct mime_sniff *s)
{
	if (s->cr) {
		s->cr = 0;
		s->bare_cr++;
	}
	if (s->need > 0) {
		s->utf8 = 0;
		s->need = 0;
	}
	if (s->col > s->longest)
		s->longest = s->col;
	s->final_nl = s->size == 0 || s->last == '\n' || s->last == '\r';
}

int
mime_sniff_fd(struct mime_sniff *s, int fd, off_t off, off_t len,
    const char *what, struct err *e)
{
	char *b = xmalloc(SNIFF_BLOCK);
	ssize_t r;
	size_t want;

	while (len > 0) {
		want = len > SNIFF_BLOCK ? SNIFF_BLOCK : (size_t)len;
		r = pread(fd, b, want, off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(b);
			return err_set(e, ERR_NOINPUT, "cannot read %s: %s",
			    what, r == 0 ? "it became shorter while being "
			    "read" : strerror(errno));
		}
		mime_sniff_feed(s, b, (size_t)r);
		off += r;
		len -= r;
	}
	free(b);
	mime_sniff_end(s);
	return 0;
}

/* ------------------------------------------------------------ types */

struct mime_magic {
	magic_t	 cookie;
	int	 tried;
};

struct mime_magic *
mime_magic_new(void)
{
	return xcalloc(1, sizeof(struct mime_magic));
}

void
mime_magic_free(struct mime_magic *m)
{
	if (m == NULL)
		return;
	if (m->cookie != NULL)
		magic_close(m->cookie);
	free(m);
}

/*
 * libmagic reads this much of a file.  5.44 reads 7 MiB by default, and
 * its text checks then take several times that in memory.  Types are told
 * by their start: 256 KiB covers every offset the database tests (the
 * deepest, file systems such as btrfs and ReiserFS, sit near 64 KiB), and
 * the CDF (old Office) reader follows its directory on the descriptor
 * itself.
 */
#define MAGIC_READ_MAX	(256 * 1024)

/*
 * Built-in tests that cannot change a MIME answer: decompression only
 * runs with MAGIC_COMPRESS (never set here), the ELF reader only adds
 * description text (the MIME type of an ELF file comes from the
 * database), the application-type test is OS/2's.  Text, encoding, CDF,
 * tar, JSON and CSV stay: each decides a type or text against binary.
 *
 * What bounds the peak memory is not these: a file the database does not
 * know makes libmagic walk every entry of its compiled database (8 MiB in
 * 5.44, mapped), and those pages count as resident.  compose.c closes the
 * handle before its own buffers are allocated.
 */
#define MAGIC_FLAGS	(MAGIC_MIME_TYPE | MAGIC_MIME_ENCODING | \
	MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_NO_CHECK_APPTYPE)

static int
magic_ready(struct mime_magic *m)
{
	size_t max = MAGIC_READ_MAX;

	if (!m->tried) {
		m->tried = 1;
		m->cookie = magic_open(MAGIC_FLAGS);
		if (m->cookie != NULL)
			(void)magic_setparam(m->cookie, MAGIC_PARAM_BYTES_MAX,
			    &max);
		if (m->cookie != NULL && magic_load(m->cookie, NULL) == -1) {
			magic_close(m->cookie);
			m->cookie = NULL;
		}
	}
	return m->cookie != NULL;
}

/* Splits libmagic's "type/sub; charset=x" into its two halves. */
static int
magic_split(const char *r, char *type, char *charset)
{
	const char *semi, *cs;
	size_t n, i;

	strcpy(type, "application/octet-stream");
	charset[0] = '\0';
	if (r == NULL)
		return -1;
	semi = strchr(r, ';');
	n = semi != NULL ? (size_t)(semi - r) : strlen(r);
	while (n > 0 && (r[n - 1] == ' ' || r[n - 1] == '\t'))
		n--;
	if (n > 0 && n < MIME_TYPE_MAX) {
		for (i = 0; i < n; i++)
			type[i] = (char)((r[i] >= 'A' && r[i] <= 'Z') ?
			    r[i] - 'A' + 'a' : r[i]);
		type[n] = '\0';
		if (!mime_type_valid(type) || strncmp(type, "inode/", 6) == 0 ||
		    strcmp(type, "application/x-empty") == 0)
			strcpy(type, "application/octet-stream");
	}
	if (semi != NULL && (cs = strstr(semi, "charset=")) != NULL) {
		cs += 8;
		n = strcspn(cs, " ;\t");
		if (n < MIME_TYPE_MAX) {
			for (i = 0; i < n; i++)
				charset[i] = (char)((cs[i] >= 'A' &&
				    cs[i] <= 'Z') ? cs[i] - 'A' + 'a' : cs[i]);
			charset[n] = '\0';
		}
	}
	return 0;
}

int
mime_type_of(struct mime_magic *m, int fd, char *type, char *charset)
{
	const char *r = NULL;

	/* libmagic reads from the descriptor's offset. */
	if (magic_ready(m) && lseek(fd, 0, SEEK_SET) == 0) {
		r = magic_descriptor(m->cookie, fd);
		(void)lseek(fd, 0, SEEK_SET);
	}
	return magic_split(r, type, charset);
}

int
mime_type_of_buf(struct mime_magic *m, const void *p, size_t n, char *type,
    char *charset)
{
	const char *r = NULL;

	if (magic_ready(m))
		r = magic_buffer(m->cookie, p, n);
	return magic_split(r, type, charset);
}

/* RFC 2045 token characters. */
static int
is_token(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

int
mime_type_valid(const char *s)
{
	size_t i = 0, n = 0;

	while (is_token((unsigned char)s[i]))
		i++;
	if (i == 0 || s[i] != '/')
		return 0;
	i++;
	while (is_token((unsigned char)s[i + n]))
		n++;
	return n > 0 && s[i + n] == '\0' && i + n < MIME_TYPE_MAX;
}

/* ------------------------------------------------------------ encodings */

const char *
mime_cte_name(enum mime_cte cte)
{
	switch (cte) {
	case MIME_7BIT:
		return "7bit";
	case MIME_8BIT:
		return "8bit";
	case MIME_QP:
		return "quoted-printable";
	case MIME_BASE64:
		break;
	}
	return "base64";
}

enum mime_class
mime_class_of(const char *type)
{
	static const char *const textual[] = {
		"application/json", "application/xml", "application/javascript",
		"application/ecmascript", "application/x-sh",
		"application/x-shellscript", "application/x-csh",
		"application/postscript", "application/x-perl",
		"application/x-python", "application/x-ruby",
		"application/x-tex", "application/x-latex",
		"application/x-troff", "application/x-httpd-php",
		"application/sql", "application/toml",
		"application/yaml", "application/x-yaml", "application/mbox",
		"image/svg+xml", "image/x-xpixmap", "image/x-xbitmap",
	};
	size_t i, n = strlen(type);

	if (strncasecmp(type, "text/", 5) == 0)
		return MIME_CLASS_TEXT;
	if (strncasecmp(type, "message/", 8) == 0)
		return MIME_CLASS_MESSAGE;
	for (i = 0; i < sizeof(textual) / sizeof(textual[0]); i++)
		if (strcasecmp(type, textual[i]) == 0)
			return MIME_CLASS_TEXT;
	if (n > 5 && (strcasecmp(type + n - 5, "+json") == 0 ||
	    strcasecmp(type + n - 4, "+xml") == 0))
		return MIME_CLASS_TEXT;
	return MIME_CLASS_BINARY;
}

enum mime_cte
mime_choose(const struct mime_sniff *s, enum mime_class cls, int allow_8bit)
{
	int clean = s->nul == 0 && s->bare_cr == 0 &&
	    s->longest <= MIME_LINE_MAX && !s->avoid_line;

	if (cls == MIME_CLASS_BINARY || s->nul > 0)
		return MIME_BASE64;
	if (s->hi == 0) {
		if (clean)
			return MIME_7BIT;
		return cls == MIME_CLASS_MESSAGE ? MIME_BASE64 : MIME_QP;
	}
	if (clean && allow_8bit && (s->utf8 || cls == MIME_CLASS_MESSAGE))
		return MIME_8BIT;
	if (cls == MIME_CLASS_MESSAGE)
		return MIME_BASE64;
	/* Mostly 8-bit and not UTF-8: base64 is shorter and no less legible. */
	if (!s->utf8 && s->hi * 3 > s->size)
		return MIME_BASE64;
	return MIME_QP;
}

const char *
mime_charset(const struct mime_sniff *s, const char *magic_cs)
{
	static const char *const not_real[] = {
		"", "binary", "us-ascii", "utf-8", "unknown-8bit", "ebcdic",
		"international",
	};
	size_t i;

	if (s->nul > 0) {
		if (magic_cs != NULL && (strncmp(magic_cs, "utf-16", 6) == 0 ||
		    strncmp(magic_cs, "utf-32", 6) == 0))
			return magic_cs;
		return NULL;
	}
	if (s->hi == 0)
		return "us-ascii";
	if (s->utf8)
		return "utf-8";
	if (magic_cs == NULL)
		return "unknown-8bit";
	for (i = 0; i < sizeof(not_real) / sizeof(not_real[0]); i++)
		if (strcmp(magic_cs, not_real[i]) == 0)
			return "unknown-8bit";
	return magic_cs;
}

/* ---------------------------------------------------- quoted-printable */

void
mime_qp_init(struct mime_qp *q, int lf_breaks)
{
	memset(q, 0, sizeof(*q));
	q->lf_breaks = lf_breaks;
}

/* One character: literal when lit and allowed where it falls, else =XX;
   a soft break first when it would pass column 75. */
static char *
qp_char(struct mime_qp *q, char *o, unsigned char c, int lit)
{
	int enc;

	for (;;) {
		enc = !lit || (q->col == 0 && (c == '-' || c == 'F' ||
		    c == '.'));
		if (q->col + (enc ? 3 : 1) <= MIME_QP_LINE - 1)
			break;
		*o++ = '=';
		*o++ = '\r';
		*o++ = '\n';
		q->col = 0;
	}
	if (enc) {
		*o++ = '=';
		*o++ = hexdig[c >> 4];
		*o++ = hexdig[c & 15];
		q->col += 3;
	} else {
		*o++ = (char)c;
		q->col++;
	}
	return o;
}

/* The held blank: encoded when a line break follows it. */
static char *
qp_wsp(struct mime_qp *q, char *o, int at_eol)
{
	if (q->wsp) {
		o = qp_char(q, o, (unsigned char)q->wsp, !at_eol);
		q->wsp = 0;
	}
	return o;
}

static char *
qp_break(struct mime_qp *q, char *o)
{
	o = qp_wsp(q, o, 1);
	*o++ = '\r';
	*o++ = '\n';
	q->col = 0;
	return o;
}

size_t
mime_qp_encode(struct mime_qp *q, const void *in, size_t n, char *out)
{
	const unsigned char *p = in, *end = p + n;
	unsigned char c;
	char *o = out;

	while (p < end) {
		c = *p++;
		if (q->cr) {
			q->cr = 0;
			if (c == '\n') {
				o = qp_break(q, o);
				continue;
			}
			o = qp_wsp(q, o, 0);
			o = qp_char(q, o, '\r', 0);
		}
		switch (c) {
		case '\r':
			q->cr = 1;
			break;
		case '\n':
			if (q->lf_breaks)
				o = qp_break(q, o);
			else {
				o = qp_wsp(q, o, 0);
				o = qp_char(q, o, c, 0);
			}
			break;
		case ' ':
		case '\t':
			o = qp_wsp(q, o, 0);
			q->wsp = c;
			break;
		default:
			if (q->wsp)
				o = qp_wsp(q, o, 0);
			o = qp_char(q, o, c, c >= 33 && c <= 126 && c != '=');
			break;
		}
	}
	return (size_t)(o - out);
}

size_t
mime_qp_finish(struct mime_qp *q, char *out)
{
	char *o = out;

	if (q->cr) {
		q->cr = 0;
		o = qp_wsp(q, o, 0);
		o = qp_char(q, o, '\r', 0);
	}
	o = qp_wsp(q, o, 1);
	return (size_t)(o - out);
}

/* ------------------------------------------------------------ structure */

int
mime_boundary(char out[MIME_BOUNDARY_LEN + 1])
{
	out[0] = '=';
	out[1] = '_';
	return rand_alnum(out + 2, MIME_BOUNDARY_LEN - 2);
}

/* Column where out ends. */
static size_t
buf_col(const struct buf *out)
{
	size_t i = out->len;

	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return out->len - i;
}

/* "; " or ";" and a fold, before a parameter of need columns. */
static int
param_sep(struct buf *out, size_t need)
{
	if (buf_addc(out, ';') == -1)
		return -1;
	if (buf_col(out) + 1 + need > FOLD_COL)
		return buf_adds(out, "\r\n ");
	return buf_addc(out, ' ');
}

/* RFC 2231 attribute-char (RFC 5987's list). */
static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~", c)
	    != NULL);
}

static size_t
utf8_len(const unsigned char *s)
{
	if (*s < 0x80)
		return 1;
	if (*s < 0xe0)
		return 2;
	if (*s < 0xf0)
		return 3;
	return 4;
}

static size_t
pct_len(const unsigned char *s, size_t k)
{
	size_t i, n = 0;

	for (i = 0; i < k; i++)
		n += attr_char(s[i]) ? 1 : 3;
	return n;
}

static int
pct_put(struct buf *out, const unsigned char *s, size_t k)
{
	size_t i;
	int r;

	for (i = 0; i < k; i++) {
		if (attr_char(s[i]))
			r = buf_addc(out, s[i]);
		else
			r = buf_printf(out, "%%%c%c", hexdig[s[i] >> 4],
			    hexdig[s[i] & 15]);
		if (r == -1)
			return -1;
	}
	return 0;
}

/* A quoted-string of value, non-ASCII characters as '_'. */
static int
quoted_put(struct buf *out, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;

	if (buf_addc(out, '"') == -1)
		return -1;
	while (*s != '\0') {
		if (*s >= 0x80) {
			if (buf_addc(out, '_') == -1)
				return -1;
			s += utf8_len(s);
			continue;
		}
		if ((*s == '"' || *s == '\\') && buf_addc(out, '\\') == -1)
			return -1;
		if (buf_addc(out, *s++) == -1)
			return -1;
	}
	return buf_addc(out, '"');
}

int
mime_param(struct buf *out, const char *name, const char *value,
    int fallback)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t old = out->len, n = strlen(value), nl = strlen(name);
	size_t i, q = 2, k, seg, room, ch;
	int plain = 1;

	if (!hdr_utf8_valid(value, n))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			plain = 0;
		q += (s[i] == '"' || s[i] == '\\') ? 2 : 1;
	}
	if (plain && nl + 1 + q < FOLD_COL - 2) {
		/* A token goes bare, except a file name (custom). */
		for (i = 0; i < n && !fallback && is_token(s[i]); i++)
			;
		if (n > 0 && i == n) {
			if (param_sep(out, nl + 1 + n) == -1 ||
			    buf_printf(out, "%s=%s", name, value) == -1)
				goto fail;
			return 0;
		}
		if (param_sep(out, nl + 1 + q) == -1 ||
		    buf_printf(out, "%s=", name) == -1 ||
		    quoted_put(out, value) == -1)
			goto fail;
		return 0;
	}
	if (nl + 9 + pct_len(s, n) < FOLD_COL - 2) {
		/* name*=utf-8''... on one line. */
		if (param_sep(out, nl + 9 + pct_len(s, n)) == -1 ||
		    buf_printf(out, "%s*=utf-8''", name) == -1 ||
		    pct_put(out, s, n) == -1)
			goto fail;
	} else {
		/* Continuations, each on its own line, whole characters. */
		for (i = 0, seg = 0; i < n; seg++) {
			if (buf_printf(out, ";\r\n %s*%zu*=%s", name, seg,
			    seg == 0 ? "utf-8''" : "") == -1)
				goto fail;
			room = FOLD_COL - 2 - buf_col(out);
			for (k = 0; i < n; i += ch) {
				ch = utf8_len(s + i);
				if (ch > n - i)
					ch = n - i;
				if (k > 0 && k + pct_len(s + i, ch) > room)
					break;
				if (pct_put(out, s + i, ch) == -1)
					goto fail;
				k += pct_len(s + i, ch);
			}
		}
	}
	if (fallback) {
		if (param_sep(out, nl + 1 + q) == -1 ||
		    buf_printf(out, "%s=", name) == -1 ||
		    quoted_put(out, value) == -1)
			goto fail;
	}
	return 0;
fail:
	buf_truncate(out, old);
	return -1;
}

int
mime_content_id(struct buf *out, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t old = out->len;
	int r;

	if (buf_addc(out, '<') == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') ||
		    strchr("!#$&'*+-/=?^_`{|}~.", *s) != NULL)
			r = buf_addc(out, *s);
		else
			r = buf_printf(out, "%%%c%c", hexdig[*s >> 4],
			    hexdig[*s & 15]);
		if (r == -1) {
			buf_truncate(out, old);
			return -1;
		}
	}
	if (buf_addc(out, '>') == -1) {
		buf_truncate(out, old);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ downgrade */

#define DG_LINE_MAX	1024	/* longer lines are handled in pieces */
#define DG_BOUNDARY_MAX	200
#define DG_DEPTH_MAX	32	/* multiparts and messages, nested */
/* A header field held whole: what msg lets through, and its CRLF. */
#define DG_HOLD_MAX	(MSG_FIELD_MAX + 2)
#define DG_PLAN_MAX	(1024 * 1024)	/* entities the plan remembers */
#define DG_VALUE_MAX	2048	/* Content-Type, -Transfer-Encoding kept */
#define DG_OUT_BLOCK	65536
#define DG_READ_BLOCK	(256 * 1024)

/* What the plan says about an entity. */
enum {
	DGF_CONVERT	= 0x01,	/* body to quoted-printable */
	DGF_CTE7	= 0x02,	/* container: its 8bit/binary label to 7bit */
	DGF_ADD_VER	= 0x04,	/* add MIME-Version */
	DGF_ADD_TYPE	= 0x08,	/* add Content-Type: text/plain */
	DGF_UTF8	= 0x10,	/* ... charset=utf-8 (else unknown-8bit) */
};

enum dg_state { DG_HEADER, DG_LEAF, DG_PREAMBLE, DG_EPILOGUE };
enum dg_field { DGH_NONE, DGH_OTHER, DGH_CT, DGH_CTE };
enum dg_cte { CTE_NONE, CTE_7BIT, CTE_8BIT, CTE_BINARY, CTE_ENCODED };

struct mime_dg_plan {
	unsigned char	*flags;
	size_t		 n;
	size_t		 cap;
	unsigned	 mode;		/* MIME_DG_8BIT | MIME_DG_LONG */
	char		 signed_part[160]; /* a signed part, long lines */
};

struct dg_value {
	char	 v[DG_VALUE_MAX];
	size_t	 len;
	int	 over;
};

struct dg_level {
	char	 b[DG_BOUNDARY_MAX];
	size_t	 len;
	int	 digest;	/* children default to message/rfc822 */
	int	 sig;		/* multipart/signed: parts stay as they are */
	size_t	 msgdepth;	/* messages entered when it began */
};

struct mime_dg {
	int			 scan;
	struct mime_dg_plan	*wplan;		/* scan: filled */
	const struct mime_dg_plan *rplan;	/* convert: followed */
	mime_dg_emit		 emit;
	void			*arg;
	struct err		*e;
	int			 failed;
	mime_dg_trace		 trace;
	void			*targ;

	char			*out;		/* output block */
	size_t			 outlen;
	off_t			 inoff;		/* input accounted for */
	off_t			 outoff;	/* output produced */

	char			 line[DG_LINE_MAX];
	size_t			 linelen;
	int			 cont;		/* a line goes on */

	struct dg_level		 stack[DG_DEPTH_MAX];
	size_t			 depth;
	size_t			 msgdepth;

	/* The current entity. */
	enum dg_state		 state;
	size_t			 entities;	/* begun so far */
	size_t			 cur;
	unsigned		 flags;
	int			 in_plan;
	int			 msglevel;	/* a message's top entity */
	int			 digest_child;
	enum dg_field		 field;
	int			 seen_ct, seen_cte, seen_ver;
	int			 acc_ct, acc_cte;	/* first of its kind */
	struct dg_value		 ct, cte;
	enum dg_cte		 cte_kind;

	/* The current leaf. */
	enum mime_dg_span	 leaf_span;
	int			 converting;
	struct mime_qp		 qp;
	char			 term[2];	/* held line end */
	size_t			 termlen;
	off_t			 qp_in, qp_out;
	struct mime_sniff	 body;		/* scan */
	char			*qpbuf;

	/* The current header field, held until it ends (see dg_hold). */
	struct buf		 hold;
	int			 hold_hi;	/* it has 8-bit bytes */
	int			 hold_pass;	/* too long to hold: copied */
	char			 hold_name[65];	/* its name, then */
};

struct mime_dg_plan *
mime_dg_plan_new(void)
{
	struct mime_dg_plan *p = xcalloc(1, sizeof(struct mime_dg_plan));

	p->mode = MIME_DG_8BIT;
	return p;
}

void
mime_dg_plan_mode(struct mime_dg_plan *plan, unsigned mode)
{
	plan->mode = mode;
}

const char *
mime_dg_plan_signed(const struct mime_dg_plan *plan)
{
	return plan->signed_part[0] != '\0' ? plan->signed_part : NULL;
}

/* Names the current leaf in plan->signed_part: its number, its type. */
static void
dg_name_signed(struct mime_dg *d)
{
	const char *t = "text/plain", *end;
	size_t n = 10;

	if (d->seen_ct && !d->ct.over) {
		t = d->ct.v;
		end = d->ct.v + d->ct.len;
		while (t < end && (*t == ' ' || *t == '\t'))
			t++;
		for (n = 0; t + n < end && n < 80 && t[n] != ';' &&
		    t[n] != ' ' && t[n] != '\t' && t[n] != '\r' &&
		    t[n] != '\n'; n++)
			;
	}
	snprintf(d->wplan->signed_part, sizeof(d->wplan->signed_part),
	    "part %zu (%.*s) of a multipart/signed, with a line of %zu "
	    "octets", d->cur + 1, (int)n, t, d->body.longest);
}

/* 1 when the current entity is inside a multipart/signed. */
static int
dg_in_signed(const struct mime_dg *d)
{
	size_t i;

	for (i = 0; i < d->depth; i++)
		if (d->stack[i].sig)
			return 1;
	return 0;
}

void
mime_dg_plan_free(struct mime_dg_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->flags);
	free(plan);
}

static void
plan_set(struct mime_dg *d, size_t idx, unsigned flags)
{
	struct mime_dg_plan *p = d->wplan;

	if (idx >= DG_PLAN_MAX)
		return;
	if (idx >= p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;

		while (cap <= idx)
			cap *= 2;
		if (cap > DG_PLAN_MAX)
			cap = DG_PLAN_MAX;
		p->flags = xrealloc(p->flags, cap);
		memset(p->flags + p->cap, 0, cap - p->cap);
		p->cap = cap;
	}
	if (idx >= p->n)
		p->n = idx + 1;
	p->flags[idx] = (unsigned char)flags;
}

/* ---- output */

static void
dg_flush(struct mime_dg *d)
{
	if (d->outlen > 0 && !d->failed &&
	    d->emit(d->arg, d->out, d->outlen, d->e) == -1)
		d->failed = 1;
	d->outlen = 0;
}

static void
dg_out(struct mime_dg *d, const char *p, size_t n)
{
	size_t k;

	d->outoff += (off_t)n;
	if (d->scan)
		return;
	while (n > 0) {
		k = DG_OUT_BLOCK - d->outlen;
		if (k > n)
			k = n;
		memcpy(d->out + d->outlen, p, k);
		d->outlen += k;
		p += k;
		n -= k;
		if (d->outlen == DG_OUT_BLOCK)
			dg_flush(d);
	}
}

static void
dg_span(struct mime_dg *d, enum mime_dg_span kind, off_t in_off,
    off_t in_len, off_t out_off, off_t out_len)
{
	if (d->trace != NULL && (in_len > 0 || out_len > 0))
		d->trace(d->targ, kind, in_off, in_len, out_off, out_len);
}

/* Input copied to the output as it is. */
static void
dg_copy(struct mime_dg *d, enum mime_dg_span kind, const char *s, size_t n)
{
	dg_span(d, kind, d->inoff, (off_t)n, d->outoff, (off_t)n);
	dg_out(d, s, n);
	d->inoff += (off_t)n;
}

static void
dg_drop(struct mime_dg *d, size_t n)
{
	dg_span(d, MIME_DG_DROP, d->inoff, (off_t)n, d->outoff, 0);
	d->inoff += (off_t)n;
}

static void
dg_add(struct mime_dg *d, const char *s)
{
	size_t n = strlen(s);

	dg_span(d, MIME_DG_ADD, d->inoff, 0, d->outoff, (off_t)n);
	dg_out(d, s, n);
}

/* Input fed to the quoted-printable encoder. */
static void
dg_qp(struct mime_dg *d, const char *s, size_t n)
{
	size_t k = mime_qp_encode(&d->qp, s, n, d->qpbuf);

	dg_out(d, d->qpbuf, k);
	d->inoff += (off_t)n;
}

/* ---- header values */

static void
dg_value_add(struct dg_value *v, const char *s, size_t n)
{
	if (v->over)
		return;
	if (n > DG_VALUE_MAX - v->len) {
		v->over = 1;
		return;
	}
	memcpy(v->v + v->len, s, n);
	v->len += n;
}

static const char *
dg_skip_cfws(const char *p, const char *end)
{
	int depth;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p != '(')
			return p;
		for (depth = 0; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

static size_t
dg_token(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && is_token((unsigned char)p[n]))
		n++;
	return n;
}

static int
dg_tok_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/*
 * The Content-Type value: whether it is multipart (and its boundary,
 * whether digest), or message/rfc822 or message/global.
 */
static void
dg_parse_ct(const struct dg_value *v, int *multi, int *digest, int *message,
    struct dg_level *lv)
{
	const char *p = v->v, *end = v->v + v->len, *t, *s;
	size_t tn, sn, an;

	*multi = *digest = *message = 0;
	lv->len = 0;
	lv->sig = 0;
	if (v->over)
		return;
	p = dg_skip_cfws(p, end);
	t = p;
	p += tn = dg_token(p, end);
	p = dg_skip_cfws(p, end);
	if (tn == 0 || p == end || *p != '/')
		return;
	p = dg_skip_cfws(p + 1, end);
	s = p;
	p += sn = dg_token(p, end);
	if (sn == 0)
		return;
	if (dg_tok_is(t, tn, "message"))
		*message = dg_tok_is(s, sn, "rfc822") ||
		    dg_tok_is(s, sn, "global");
	if (!dg_tok_is(t, tn, "multipart"))
		return;
	*digest = dg_tok_is(s, sn, "digest");
	lv->sig = dg_tok_is(s, sn, "signed");
	/* Parameters: the first boundary. */
	for (;;) {
		const char *a;

		p = dg_skip_cfws(p, end);
		if (p == end || *p != ';')
			return;
		p = dg_skip_cfws(p + 1, end);
		a = p;
		p += an = dg_token(p, end);
		p = dg_skip_cfws(p, end);
		if (an == 0 || p == end || *p != '=')
			return;
		p = dg_skip_cfws(p + 1, end);
		lv->len = 0;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (lv->len == DG_BOUNDARY_MAX)
					return;
				lv->b[lv->len++] = *p;
			}
			if (p == end)
				return;
			p++;
		} else {
			sn = dg_token(p, end);
			if (sn > DG_BOUNDARY_MAX)
				return;
			memcpy(lv->b, p, sn);
			lv->len = sn;
			p += sn;
		}
		if (dg_tok_is(a, an, "boundary"))
			break;
		lv->len = 0;
	}
	/* Printable ASCII, not ending in a space. */
	for (sn = 0; sn < lv->len; sn++)
		if ((unsigned char)lv->b[sn] < 0x20 ||
		    (unsigned char)lv->b[sn] > 0x7e)
			return;
	if (lv->len > 0 && lv->b[lv->len - 1] != ' ')
		*multi = 1;
}

static enum dg_cte
dg_parse_cte(const struct dg_value *v)
{
	const char *p, *end = v->v + v->len;
	size_t n;

	if (v->over)
		return CTE_ENCODED;
	p = dg_skip_cfws(v->v, end);
	n = dg_token(p, end);
	if (dg_tok_is(p, n, "7bit"))
		return CTE_7BIT;
	if (dg_tok_is(p, n, "8bit"))
		return CTE_8BIT;
	if (dg_tok_is(p, n, "binary"))
		return CTE_BINARY;
	if (n == 0 && dg_skip_cfws(p, end) == end)
		return CTE_NONE;
	return CTE_ENCODED;
}

/* ---- entities */

static void dg_field_end(struct mime_dg *);

static void
dg_begin(struct mime_dg *d, int msglevel, int digest_child)
{
	d->cur = d->entities++;
	d->state = DG_HEADER;
	d->msglevel = msglevel;
	d->digest_child = digest_child;
	d->field = DGH_NONE;
	d->seen_ct = d->seen_cte = d->seen_ver = 0;
	d->acc_ct = d->acc_cte = 0;
	d->ct.len = d->cte.len = 0;
	d->ct.over = d->cte.over = 0;
	d->cte_kind = CTE_NONE;
	d->flags = 0;
	d->in_plan = 0;
	if (!d->scan && d->cur < d->rplan->n) {
		d->in_plan = 1;
		d->flags = d->rplan->flags[d->cur];
	}
}

static void
dg_leaf_begin(struct mime_dg *d)
{
	d->state = DG_LEAF;
	d->termlen = 0;
	d->converting = !d->scan && (d->flags & DGF_CONVERT);
	d->leaf_span = d->in_plan && (d->cte_kind == CTE_NONE ||
	    d->cte_kind == CTE_7BIT) ? MIME_DG_TEXT : MIME_DG_OPAQUE;
	if (d->scan)
		mime_sniff_init(&d->body, NULL);
	if (d->converting) {
		mime_qp_init(&d->qp, 0);
		d->qp_in = d->inoff;
		d->qp_out = d->outoff;
	}
}

static void
dg_leaf_end(struct mime_dg *d, int eof)
{
	unsigned f = 0;
	size_t k;

	if (d->scan) {
		unsigned mode = d->wplan->mode;
		int eight, lng;

		mime_sniff_end(&d->body);
		eight = (mode & MIME_DG_8BIT) && (d->cte_kind == CTE_8BIT ||
		    d->cte_kind == CTE_BINARY || ((d->cte_kind == CTE_NONE ||
		    d->cte_kind == CTE_7BIT) && d->body.hi > 0));
		/* Lines over 998 octets in a part not base64 or QP: quoted-
		   printable carries them, unless a signature covers them. */
		lng = (mode & MIME_DG_LONG) && d->cte_kind != CTE_ENCODED &&
		    d->body.longest > MIME_LINE_MAX;
		if (lng && dg_in_signed(d)) {
			if (d->wplan->signed_part[0] == '\0')
				dg_name_signed(d);
			lng = 0;
		}
		if (eight || lng) {
			f = DGF_CONVERT;
			if (d->msglevel && !d->seen_ver)
				f |= DGF_ADD_VER;
			if (!d->seen_ct)
				f |= DGF_ADD_TYPE |
				    (d->body.utf8 ? DGF_UTF8 : 0);
		}
		plan_set(d, d->cur, f);
		return;
	}
	if (!d->converting)
		return;
	if (eof && d->termlen > 0) {
		/* No delimiter follows: the last line end is content. */
		dg_qp(d, d->term, d->termlen);
		d->termlen = 0;
	}
	k = mime_qp_finish(&d->qp, d->qpbuf);
	dg_out(d, d->qpbuf, k);
	dg_span(d, MIME_DG_QP, d->qp_in, d->inoff - d->qp_in, d->qp_out,
	    d->outoff - d->qp_out);
	if (d->termlen > 0)
		dg_copy(d, MIME_DG_STRUCT, d->term, d->termlen);
	d->termlen = 0;
	d->converting = 0;
}

/* The current entity ends (a delimiter or the end of input). */
static void
dg_end(struct mime_dg *d, int eof)
{
	if (d->state == DG_HEADER)
		dg_field_end(d);
	if (d->state == DG_LEAF)
		dg_leaf_end(d, eof);
	else if (d->state == DG_HEADER && d->scan)
		plan_set(d, d->cur, 0);
	d->state = DG_EPILOGUE;
}

/*
 * The header section ended: with the blank line s[0..n) when blank, else
 * at a line that is not a header line (which the caller then treats as
 * the first body line).
 */
static void
dg_header_end(struct mime_dg *d, int blank, const char *s, size_t n)
{
	struct dg_level lv;
	int multi, digest, message, added = 0;

	dg_field_end(d);
	d->field = DGH_NONE;
	d->cte_kind = d->seen_cte ? dg_parse_cte(&d->cte) : CTE_NONE;
	if (d->seen_ct)
		dg_parse_ct(&d->ct, &multi, &digest, &message, &lv);
	else {
		multi = digest = 0;
		message = d->digest_child;
	}
	if (d->depth + d->msgdepth >= DG_DEPTH_MAX)
		multi = message = 0;
	if (message && d->cte_kind == CTE_ENCODED)
		message = 0;
	if (d->scan && (multi || message))
		plan_set(d, d->cur, d->cte_kind == CTE_8BIT ||
		    d->cte_kind == CTE_BINARY ? DGF_CTE7 : 0);

	if (d->flags & DGF_CONVERT) {
		if (d->flags & DGF_ADD_VER)
			dg_add(d, "MIME-Version: 1.0\r\n");
		if (d->flags & DGF_ADD_TYPE)
			dg_add(d, d->flags & DGF_UTF8 ? "Content-Type: "
			    "text/plain; charset=utf-8\r\n" : "Content-Type: "
			    "text/plain; charset=unknown-8bit\r\n");
		dg_add(d, "Content-Transfer-Encoding: quoted-printable\r\n");
		added = 1;
	} else if (d->flags & DGF_CTE7) {
		dg_add(d, "Content-Transfer-Encoding: 7bit\r\n");
		added = 1;
	}
	if (blank)
		dg_copy(d, MIME_DG_STRUCT, s, n);
	else if (added)
		dg_add(d, "\r\n");

	if (multi) {
		lv.digest = digest;
		lv.msgdepth = d->msgdepth;
		d->stack[d->depth++] = lv;
		d->state = DG_PREAMBLE;
	} else if (message) {
		d->msgdepth++;
		dg_begin(d, 1, 0);
	} else
		dg_leaf_begin(d);
}

/* ---- 8-bit header fields */

static int
dg_has_hi(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static size_t
dg_count_hi(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += (unsigned char)s[i] >= 0x80;
	return k;
}

/* Stops the conversion: the message cannot be sent 7-bit. */
static void
dg_refuse(struct mime_dg *d, const char *name, size_t namelen,
    const char *why)
{
	if (d->failed)
		return;
	d->failed = 1;
	if (d->e != NULL)
		err_set(d->e, ERR_DATA, "the server offers neither 8BITMIME "
		    "nor SMTPUTF8, and the %.*s header cannot be made 7-bit: "
		    "%s", (int)(namelen > 64 ? 64 : namelen), name, why);
}

/* Fields whose 8-bit text could be encoded only by changing what they
   mean (RFC 2047 5: no encoded-word in a structured field but phrases
   and comments). */
static int
dg_structured(const char *name, size_t n)
{
	static const char *const names[] = {
		"message-id", "in-reply-to", "references", "date",
		"resent-date", "resent-message-id", "received", "return-path",
		"mime-version", "content-type", "content-transfer-encoding",
		"content-disposition", "content-id", "content-location",
		"dkim-signature", "authentication-results", "list-id",
		"list-unsubscribe", "list-post", "list-help",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_caseeqn(name, n, names[i]))
			return 1;
	return 0;
}

static int
dg_address_field(const char *name, size_t n)
{
	static const char *const names[] = {
		"from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-to", "resent-cc",
		"resent-bcc", "disposition-notification-to", "mail-followup-to",
		"mail-reply-to", "return-receipt-to", "errors-to",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_caseeqn(name, n, names[i]))
			return 1;
	return 0;
}

/*
 * "Name: words" for text that is not UTF-8: encoded-words in the
 * unknown-8bit charset (RFC 1428), 45 octets each, one a line.
 */
static int
dg_unknown_8bit(struct buf *out, const char *name, const char *v, size_t n)
{
	char b64[B64_LEN(45) + 1];
	size_t k;

	if (buf_printf(out, "%s:", name) == -1)
		return -1;
	while (n > 0) {
		k = n > 45 ? 45 : n;
		b64_encode(v, k, b64);
		if (buf_printf(out, "%s=?UNKNOWN-8BIT?B?%s?=",
		    out->len > 0 && out->data[out->len - 1] == ':' ? " " :
		    "\r\n ", b64) == -1)
			return -1;
		v += k;
		n -= k;
	}
	return buf_adds(out, "\r\n");
}

/*
 * An address field with 8-bit bytes, written again: display names as
 * encoded-words, domains as A-labels.  Refused when an 8-bit byte is
 * anywhere else (a comment, a group name: they would be lost), when a
 * local part is 8-bit (only SMTPUTF8 carries it), or when the field does
 * not parse.  Returns 0, or -1 with *why.
 */
static int
dg_rewrite_addr(struct buf *out, const char *name, const char *v,
    size_t n, const char **why)
{
	struct addr_list l;
	struct err ign;
	struct buf item;
	size_t i, covered = 0, col;
	char *spec, *ascii;
	int rv = -1;

	addr_list_init(&l);
	if (addr_parse_list(v, n, &l, &ign) == -1) {
		*why = "it does not parse as an address list";
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (l.v[i].in_group) {
			*why = "it holds a group";
			goto out;
		}
		if (l.v[i].display != NULL)
			covered += dg_count_hi(l.v[i].display,
			    strlen(l.v[i].display));
		covered += dg_count_hi(v + l.v[i].spec_start,
		    l.v[i].spec_end - l.v[i].spec_start);
	}
	if (covered != dg_count_hi(v, n)) {
		*why = "a comment or a group name holds non-ASCII text";
		goto out;
	}
	if (buf_printf(out, "%s:", name) == -1)
		goto toolong;
	for (i = 0; i < l.n; i++) {
		spec = addr_spec(&l.v[i]);
		if (addr_to_ascii(spec, &ascii, &ign) == -1) {
			free(spec);
			*why = "an address has a non-ASCII local part, which "
			    "only SMTPUTF8 can carry";
			goto out;
		}
		free(spec);
		buf_init(&item, 0);
		if (l.v[i].display != NULL && *l.v[i].display != '\0') {
			if (hdr_write_phrase(&item, l.v[i].display) == -1) {
				free(ascii);
				buf_release(&item);
				*why = "a display name is not UTF-8";
				goto out;
			}
			buf_printf(&item, " <%s>", ascii);
		} else
			buf_adds(&item, ascii);
		free(ascii);
		/* Fold between addresses; the phrase folds itself. */
		col = 0;
		while (col < out->len && out->data[out->len - 1 - col] != '\n')
			col++;
		if ((i > 0 && buf_addc(out, ',') == -1) ||
		    (i > 0 && col + 2 + item.len > FOLD_COL ?
		    buf_adds(out, "\r\n ") : buf_addc(out, ' ')) == -1 ||
		    buf_add(out, item.data, item.len) == -1) {
			buf_release(&item);
			goto toolong;
		}
		buf_release(&item);
	}
	if (buf_adds(out, "\r\n") == -1)
		goto toolong;
	rv = 0;
	goto out;
toolong:
	*why = "it would be too long";
out:
	addr_list_release(&l);
	return rv;
}

/* The held field f[0..n) (line ends included) has 8-bit bytes. */
static void
dg_rewrite(struct mime_dg *d, const char *f, size_t n)
{
	struct buf out, unf;
	const char *why = NULL, *v;
	size_t nl, colon, vn, total = n;
	char *name;

	if (n >= 2 && f[n - 2] == '\r' && f[n - 1] == '\n')
		n -= 2;
	else if (n >= 1 && f[n - 1] == '\n')
		n--;
	nl = hdr_name_len(f, n);
	if (nl == 0) {
		dg_refuse(d, "?", 1, "it is not a header field");
		return;
	}
	for (colon = nl; f[colon] != ':'; colon++)
		;
	v = f + colon + 1;
	vn = n - colon - 1;
	name = xstrndup(f, nl);
	buf_init(&out, 4 * MSG_FIELD_MAX);
	buf_init(&unf, MSG_FIELD_MAX);
	if (dg_structured(f, nl))
		why = "it is a structured field, where RFC 2047 allows no "
		    "encoded-word";
	else if (dg_address_field(f, nl))
		(void)dg_rewrite_addr(&out, name, v, vn, &why);
	else if (hdr_unfold(v, vn, &unf) == -1)
		why = "it is too long";
	else if (hdr_utf8_valid(unf.data != NULL ? unf.data : "", unf.len)) {
		if (hdr_write_unstructured(&out, name, buf_str(&unf)) == -1)
			why = "it would be too long";
	} else if (dg_unknown_8bit(&out, name, buf_str(&unf), unf.len) == -1)
		why = "it would be too long";
	if (why != NULL)
		dg_refuse(d, f, nl, why);
	else {
		/* The field as it was goes, its 7-bit form comes in. */
		dg_drop(d, total);
		dg_span(d, MIME_DG_ADD, d->inoff, 0, d->outoff,
		    (off_t)out.len);
		dg_out(d, out.data, out.len);
	}
	buf_release(&out);
	buf_release(&unf);
	free(name);
}

/*
 * The current field ended: what was held goes out, as it was, or written
 * again when it has 8-bit bytes (the converter; the scanner only counts).
 */
static void
dg_field_end(struct mime_dg *d)
{
	if (d->hold.len > 0) {
		if (!d->hold_hi || d->scan)
			dg_copy(d, MIME_DG_HEADER, d->hold.data, d->hold.len);
		else
			dg_rewrite(d, d->hold.data, d->hold.len);
	}
	buf_reset(&d->hold);
	d->hold_hi = 0;
	d->hold_pass = 0;
}

/* Bytes of a header field line (or piece of one). */
static void
dg_field_bytes(struct mime_dg *d, const char *s, size_t n, size_t vstart,
    size_t vend)
{
	size_t nl;
	int hi;

	if (d->field == DGH_CT && d->acc_ct)
		dg_value_add(&d->ct, s + vstart, vend - vstart);
	else if (d->field == DGH_CTE && d->acc_cte)
		dg_value_add(&d->cte, s + vstart, vend - vstart);
	if (d->field == DGH_CTE && (d->flags & (DGF_CONVERT | DGF_CTE7))) {
		dg_drop(d, n);
		return;
	}
	/*
	 * A field is held until it ends, so that one with 8-bit bytes can
	 * be written again whole (dg_field_end); a field too long to hold
	 * goes as it comes, and cannot have any.
	 */
	hi = dg_has_hi(s, n);
	if (d->hold_pass) {
		if (hi)
			dg_refuse(d, d->hold_name, strlen(d->hold_name),
			    "it is too long to encode");
		dg_copy(d, MIME_DG_HEADER, s, n);
		return;
	}
	if (buf_add(&d->hold, s, n) == -1) {
		if (d->hold_hi || hi) {
			dg_refuse(d, d->hold.data, hdr_name_len(d->hold.data,
			    d->hold.len), "it is too long to encode");
			buf_reset(&d->hold);
			return;
		}
		nl = hdr_name_len(d->hold.data, d->hold.len);
		if (nl >= sizeof(d->hold_name))
			nl = sizeof(d->hold_name) - 1;
		memcpy(d->hold_name, d->hold.data, nl);
		d->hold_name[nl] = '\0';
		dg_copy(d, MIME_DG_HEADER, d->hold.data, d->hold.len);
		buf_reset(&d->hold);
		dg_copy(d, MIME_DG_HEADER, s, n);
		d->hold_pass = 1;
		return;
	}
	d->hold_hi |= hi;
}

static void dg_dispatch(struct mime_dg *, const char *, size_t, size_t);

/* A line (or piece) in the header section; tl is its line end's length. */
static void
dg_header_line(struct mime_dg *d, const char *s, size_t n, size_t tl)
{
	size_t cl = n - tl, nl;

	if (d->cont) {
		dg_field_bytes(d, s, n, 0, cl);
		return;
	}
	if (cl == 0 && tl > 0) {
		dg_header_end(d, 1, s, n);
		return;
	}
	if ((s[0] == ' ' || s[0] == '\t') && d->field != DGH_NONE) {
		dg_field_bytes(d, s, n, 0, cl);
		return;
	}
	nl = hdr_name_len(s, cl);
	if (nl > 0) {
		size_t colon = nl;

		dg_field_end(d);
		while (s[colon] != ':')
			colon++;
		d->field = DGH_OTHER;
		if (dg_tok_is(s, nl, "content-type")) {
			d->field = DGH_CT;
			d->acc_ct = !d->seen_ct;
			d->seen_ct = 1;
		} else if (dg_tok_is(s, nl, "content-transfer-encoding")) {
			d->field = DGH_CTE;
			d->acc_cte = !d->seen_cte;
			d->seen_cte = 1;
		} else if (dg_tok_is(s, nl, "mime-version"))
			d->seen_ver = 1;
		dg_field_bytes(d, s, n, colon + 1, cl);
		return;
	}
	/* Not a header line: the section ends and this is body. */
	dg_header_end(d, 0, NULL, 0);
	dg_dispatch(d, s, n, tl);
}

/* A line (or piece) of a leaf's body. */
static void
dg_leaf_line(struct mime_dg *d, const char *s, size_t n, size_t tl)
{
	if (d->scan) {
		mime_sniff_feed(&d->body, s, n);
		d->inoff += (off_t)n;
		return;
	}
	if (!d->converting) {
		dg_copy(d, d->leaf_span, s, n);
		return;
	}
	/* The line end before a delimiter is not content: hold it. */
	if (d->termlen > 0) {
		dg_qp(d, d->term, d->termlen);
		d->termlen = 0;
	}
	dg_qp(d, s, n - tl);
	memcpy(d->term, s + n - tl, tl);
	d->termlen = tl;
}

static void
dg_dispatch(struct mime_dg *d, const char *s, size_t n, size_t tl)
{
	switch (d->state) {
	case DG_HEADER:
		dg_header_line(d, s, n, tl);
		break;
	case DG_LEAF:
		dg_leaf_line(d, s, n, tl);
		break;
	case DG_PREAMBLE:
	case DG_EPILOGUE:
		dg_copy(d, MIME_DG_OPAQUE, s, n);
		break;
	}
}

/* Whether s[0..n) (no line end) is a delimiter of an open multipart. */
static int
dg_delimiter(const struct mime_dg *d, const char *s, size_t n, size_t *level,
    int *close)
{
	const struct dg_level *lv;
	size_t i, p;

	for (i = d->depth; i-- > 0; ) {
		lv = &d->stack[i];
		if (n < 2 + lv->len || memcmp(s + 2, lv->b, lv->len) != 0)
			continue;
		p = 2 + lv->len;
		*close = n - p >= 2 && s[p] == '-' && s[p + 1] == '-';
		if (*close)
			p += 2;
		while (p < n && (s[p] == ' ' || s[p] == '\t'))
			p++;
		if (p == n) {
			*level = i;
			return 1;
		}
	}
	return 0;
}

/*
 * One line: s[0..n) ends with LF when lf; eof says it is the last
 * (unterminated) one.  A line longer than DG_LINE_MAX comes in pieces,
 * d->cont set for all but the first.
 */
static void
dg_line(struct mime_dg *d, const char *s, size_t n, int lf, int eof)
{
	size_t tl = 0, level;
	int close;

	if (lf)
		tl = n >= 2 && s[n - 2] == '\r' ? 2 : 1;
	if (!d->cont && (lf || eof) && d->depth > 0 && n - tl >= 2 &&
	    s[0] == '-' && s[1] == '-' &&
	    dg_delimiter(d, s, n - tl, &level, &close)) {
		dg_end(d, 0);
		d->msgdepth = d->stack[level].msgdepth;
		d->depth = level + 1;
		dg_copy(d, MIME_DG_STRUCT, s, n);
		if (close) {
			d->depth = level;
			d->state = DG_EPILOGUE;
		} else
			dg_begin(d, 0, d->stack[level].digest);
	} else
		dg_dispatch(d, s, n, tl);
	d->cont = !lf;
}

static struct mime_dg *
dg_new(int scan)
{
	struct mime_dg *d = xcalloc(1, sizeof(*d));

	d->scan = scan;
	buf_init(&d->hold, DG_HOLD_MAX);
	if (!scan) {
		d->out = xmalloc(DG_OUT_BLOCK);
		d->qpbuf = xmalloc(MIME_QP_MAX(DG_LINE_MAX));
	}
	return d;
}

struct mime_dg *
mime_dg_scanner(struct mime_dg_plan *plan)
{
	struct mime_dg *d = dg_new(1);

	d->wplan = plan;
	dg_begin(d, 1, 0);
	return d;
}

struct mime_dg *
mime_dg_converter(const struct mime_dg_plan *plan, mime_dg_emit emit,
    void *arg)
{
	struct mime_dg *d = dg_new(0);

	d->rplan = plan;
	d->emit = emit;
	d->arg = arg;
	dg_begin(d, 1, 0);
	return d;
}

void
mime_dg_set_trace(struct mime_dg *d, mime_dg_trace fn, void *arg)
{
	d->trace = fn;
	d->targ = arg;
}

void
mime_dg_free(struct mime_dg *d)
{
	if (d == NULL)
		return;
	free(d->out);
	free(d->qpbuf);
	buf_release(&d->hold);
	free(d);
}

int
mime_dg_feed(struct mime_dg *d, const void *p, size_t n, struct err *e)
{
	const char *s = p, *nl;
	size_t k, room;

	d->e = e;
	while (n > 0 && !d->failed) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) + 1 : n;
		if (d->linelen == 0 && nl != NULL && k <= DG_LINE_MAX) {
			/* A whole line in the input: no copy. */
			dg_line(d, s, k, 1, 0);
			s += k;
			n -= k;
			continue;
		}
		room = DG_LINE_MAX - d->linelen;
		if (k > room) {
			/* A piece of a long line; a CR at its end waits for
			   the next piece so CRLF stays whole. */
			memcpy(d->line + d->linelen, s, room);
			d->linelen += room;
			s += room;
			n -= room;
			k = d->linelen;
			if (d->line[k - 1] == '\r')
				k--;
			dg_line(d, d->line, k, 0, 0);
			memmove(d->line, d->line + k, d->linelen - k);
			d->linelen -= k;
			continue;
		}
		memcpy(d->line + d->linelen, s, k);
		d->linelen += k;
		s += k;
		n -= k;
		if (nl != NULL) {
			dg_line(d, d->line, d->linelen, 1, 0);
			d->linelen = 0;
		}
	}
	return d->failed ? -1 : 0;
}

int
mime_dg_finish(struct mime_dg *d, struct err *e)
{
	d->e = e;
	if (d->linelen > 0 && !d->failed) {
		dg_line(d, d->line, d->linelen, 0, 1);
		d->linelen = 0;
	}
	dg_end(d, 1);
	if (!d->scan)
		dg_flush(d);
	return d->failed ? -1 : 0;
}

static int
dg_count(void *arg, const char *p, size_t n, struct err *e)
{
	(void)p;
	(void)e;
	*(off_t *)arg += (off_t)n;
	return 0;
}

/* One pass of d over fd[0..size). */
static int
dg_pass(struct mime_dg *d, int fd, off_t size, char *b, struct err *e)
{
	off_t off = 0;
	ssize_t r;
	size_t want;

	while (off < size) {
		want = size - off > DG_READ_BLOCK ? DG_READ_BLOCK :
		    (size_t)(size - off);
		r = pread(fd, b, want, off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(e, ERR_IO, "cannot read the queued "
			    "message: %s", r == 0 ? "file is shorter than its "
			    "envelope says" : strerror(errno));
		if (mime_dg_feed(d, b, (size_t)r, e) == -1)
			return -1;
		off += r;
	}
	return mime_dg_finish(d, e);
}

int
mime_dg_plan_fd(int fd, off_t size, struct mime_dg_plan **planp,
    off_t *outsize, struct err *e)
{
	return mime_dg_plan_fd_mode(fd, size, MIME_DG_8BIT, planp, outsize,
	    e);
}

int
mime_dg_plan_fd_mode(int fd, off_t size, unsigned mode,
    struct mime_dg_plan **planp, off_t *outsize, struct err *e)
{
	struct mime_dg_plan *plan = mime_dg_plan_new();
	struct mime_dg *d;
	char *b = xmalloc(DG_READ_BLOCK);
	off_t total = 0;
	int r;

	plan->mode = mode;
	d = mime_dg_scanner(plan);
	r = dg_pass(d, fd, size, b, e);
	mime_dg_free(d);
	if (r == 0) {
		d = mime_dg_converter(plan, dg_count, &total);
		r = dg_pass(d, fd, size, b, e);
		mime_dg_free(d);
	}
	free(b);
	if (r == -1) {
		mime_dg_plan_free(plan);
		return -1;
	}
	*planp = plan;
	*outsize = total;
	return 0;
}
