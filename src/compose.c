/*
 * compose owns the messages posthorn writes itself: compose mode (-s,
 * --body, --html with -a, -c, --bcc, --reply-to, -H, --inline) and -a on a
 * message read from standard input.  Files are checked first (readable,
 * names valid), then each becomes a leaf with its type (libmagic, or the
 * one forced with FILE:type/sub), charset and transfer encoding (mime
 * decides from one sniffing pass), and the whole message is generated as
 * a list of steps — short texts (header fields, delimiters) and leaves —
 * that a msg_source pulls chunk by chunk, files read and encoded in large
 * blocks, so memory does not depend on their size.  Choosing an encoding
 * takes a pass over the content before the pass that sends it, so input
 * that is not a regular file (a pipe on standard input, -a <(cmd)) is
 * kept: in memory up to 64 KiB, else in an unlinked temporary file in
 * $TMPDIR (or /tmp).  From, Date and Message-ID are msg's to add;
 * compose writes To, Cc, Bcc, Reply-To, Subject, -H fields and the MIME
 * structure.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "compose.h"
#include "err.h"
#include "hdr.h"
#include "mime.h"
#include "msg.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/str.h"

#define GEN_OUT		(512 * 1024)	/* staging: output waiting for msg */
#define B64_BLOCK	(B64_LINE_IN * 2048)	/* input per base64 block */
#define QP_BLOCK	(32 * 1024)
#define RAW_BLOCK	(256 * 1024)
#define COPY_BLOCK	(256 * 1024)
#define HEAD_MAX	(4 * 1024 * 1024)	/* the header block we write */
#define HELD_MAX	(256 * 1024)	/* a wrapped message's Content-* */
#define MEM_MAX		(64 * 1024)	/* input from a pipe kept in memory */
#define FOLD		78

enum disp { D_NONE, D_INLINE, D_ATTACH };

struct leaf {
	char		*what;		/* for messages: "'path'" */
	int		 fd;		/* -1 when empty or in memory */
	int		 own;		/* fd is ours to close */
	char		*mem;		/* the content, when short and piped */
	off_t		 off;
	off_t		 len;
	char		 type[MIME_TYPE_MAX];
	char		 magic_cs[MIME_TYPE_MAX];
	const char	*charset;	/* NULL: none */
	enum mime_cte	 cte;
	int		 raw;		/* passed as it is (a wrapped body) */
	enum disp	 disp;
	char		*filename;	/* base name, for name= and filename= */
	int		 cid;		/* Content-ID from the file name */
};

enum step_kind { S_TEXT, S_LEAF, S_WRAP };

struct step {
	enum step_kind	 kind;
	char		*text;
	size_t		 len;
	struct leaf	*leaf;
};

/* -a on a message from standard input: reading its header section. */
struct wrap {
	int		 in;
	off_t		 base;		/* offset of the stream start in in, or
					   -1 when in is not a regular file */
	off_t		 consumed;	/* stream bytes before blk */
	char		*blk;
	size_t		 blen, bpos;
	int		 eof;
	int		 cr;		/* the last line ended with CR */
	int		 bare_cr;	/* ... and no LF came after it */
	struct buf	 line;
	off_t		 line_start;	/* stream offset of line's first byte */
	unsigned long	 lineno;
	int		 fields;	/* header lines seen */
	enum { F_NONE, F_PASS, F_HOLD, F_DROP } field;
	struct buf	 held;		/* Content-* fields, for part one */
	int		 have_type;	/* Content-Type or -Transfer-Encoding */
};

struct gen {
	const struct cli	*c;
	struct mime_magic	*magic;
	struct step		*steps;
	size_t			 nsteps, capsteps, cur;
	size_t			 tpos;		/* in a text step */
	off_t			 lpos;		/* in a leaf step */
	int			 lstarted;
	struct mime_qp		 qp;
	char			*out;
	size_t			 olen, opos;
	char			*in;		/* input block for encoders */
	struct leaf		**leaves;
	size_t			 nleaves;
	struct wrap		*w;
	struct leaf		**attach;	/* -a, in order */
	size_t			 nattach;
};

/* ------------------------------------------------------------ files */

/*
 * Splits "-a FILE:type/sub": at the last ':' when what follows is a
 * valid type/subtype and what precedes names an existing file; otherwise
 * the whole argument is the path.  *type is NULL or points into the
 * returned path's allocation (caller frees the path only).
 */
static char *
split_attach(const char *arg, const char **type)
{
	const char *colon = strrchr(arg, ':');
	struct stat st;
	char *path;

	*type = NULL;
	if (colon != NULL && colon != arg && mime_type_valid(colon + 1)) {
		path = xstrdup(arg);
		path[colon - arg] = '\0';
		if (stat(path, &st) == 0) {
			*type = path + (colon - arg) + 1;
			return path;
		}
		/* Neither exists: name the file the user meant. */
		if (stat(arg, &st) == -1 && errno == ENOENT) {
			*type = path + (colon - arg) + 1;
			return path;
		}
		free(path);
	}
	return xstrdup(arg);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL && s[1] != '\0' ? s + 1 : path;
}

/* Opens a file named on the command line: ERR_NOINPUT naming it. */
static int
open_named(const char *path, int check, struct err *e)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    (check ? O_NONBLOCK : 0));
	if (fd == -1)
		return err_set(e, ERR_NOINPUT, "cannot read '%s': %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || S_ISDIR(st.st_mode)) {
		err_set(e, ERR_NOINPUT, "cannot read '%s': %s", path,
		    S_ISDIR(st.st_mode) ? "it is a directory" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* An unlinked temporary file in $TMPDIR or /tmp. */
static int
spill_open(struct err *e)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
#endif
	path = xasprintf("%s/posthorn.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd == -1) {
		err_set(e, ERR_IO, "cannot create a temporary file in '%s': "
		    "%s", dir, strerror(errno));
		free(path);
		return -1;
	}
	unlink(path);
	free(path);
	return fd;
}

/*
 * Copies pre[0..npre) and then the rest of in (none when in is -1) to a
 * new temporary file, sniffing what it copies into s when s is not NULL.
 * Returns the file, its length in *len; -1 with ERR_IO.
 */
static int
spill(int in, const char *pre, size_t npre, struct mime_sniff *s,
    off_t *len, const char *what, struct err *e)
{
	char *b;
	ssize_t r;
	int fd;

	if ((fd = spill_open(e)) == -1)
		return -1;
	b = xmalloc(COPY_BLOCK);
	*len = 0;
	for (;;) {
		if (npre > 0) {
			r = (ssize_t)npre;
			if (fsio_write_all(fd, pre, npre) == -1)
				goto wfail;
			if (s != NULL)
				mime_sniff_feed(s, pre, npre);
			*len += r;
			npre = 0;
			continue;
		}
		if (in == -1)
			break;
		if ((r = fsio_read_wait(in, b, COPY_BLOCK)) == -1) {
			err_set(e, ERR_IO, "cannot read %s: %s", what,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		if (fsio_write_all(fd, b, (size_t)r) == -1)
			goto wfail;
		if (s != NULL)
			mime_sniff_feed(s, b, (size_t)r);
		*len += r;
	}
	free(b);
	return fd;
wfail:
	err_set(e, ERR_IO, "cannot write a temporary copy of %s: %s", what,
	    strerror(errno));
fail:
	free(b);
	close(fd);
	return -1;
}

/*
 * Makes pre[0..npre) and the rest of in (none when in is -1) the content
 * of lf: in memory when it all comes to MEM_MAX bytes at most (a short
 * body needs no temporary file), else in a temporary file.  Sniffs it
 * into s (not ended).
 */
static int
take_rest(int in, const char *pre, size_t npre, struct mime_sniff *s,
    struct leaf *lf, const char *what, struct err *e)
{
	struct buf m;
	char b[16384];
	ssize_t r;

	buf_init(&m, 0);
	if (npre <= MEM_MAX) {
		buf_add(&m, pre, npre);
		while (in != -1 && m.len <= MEM_MAX) {
			if ((r = fsio_read_wait(in, b, sizeof(b))) == -1) {
				buf_release(&m);
				return err_set(e, ERR_IO, "cannot read %s: %s",
				    what, strerror(errno));
			}
			if (r == 0)
				in = -1;
			buf_add(&m, b, (size_t)r);
		}
		if (in == -1) {
			mime_sniff_feed(s, m.data, m.len);
			lf->len = (off_t)m.len;
			lf->mem = buf_detach(&m);
			return 0;
		}
		pre = m.data;
		npre = m.len;
	}
	lf->fd = spill(in, pre, npre, s, &lf->len, what, e);
	buf_release(&m);
	if (lf->fd == -1)
		return -1;
	lf->own = 1;
	return 0;
}

static struct leaf *
leaf_new(struct gen *g, const char *what)
{
	struct leaf *lf = xcalloc(1, sizeof(*lf));

	lf->fd = -1;
	lf->what = xstrdup(what);
	g->leaves = xreallocarray(g->leaves, g->nleaves + 1,
	    sizeof(*g->leaves));
	g->leaves[g->nleaves++] = lf;
	return lf;
}

static void
leaf_free(struct leaf *lf)
{
	if (lf->own && lf->fd != -1)
		close(lf->fd);
	free(lf->mem);
	free(lf->what);
	free(lf->filename);
	free(lf);
}

/*
 * Type, charset and encoding of a leaf whose content is in place, from
 * one sniffing pass (binary types need none).  forced: a type given on
 * the command line.
 */
static int
classify(struct gen *g, struct leaf *lf, const char *forced,
    const struct mime_sniff *done, struct err *e)
{
	struct mime_sniff s;
	enum mime_class cls;
	char ignore[MIME_TYPE_MAX];

	if (forced != NULL)
		str_lower(strcpy(lf->type, forced));
	else if (lf->len == 0)
		strcpy(lf->type, "application/octet-stream");
	else
		mime_type_of(g->magic, lf->fd, lf->type, lf->magic_cs);
	cls = mime_class_of(lf->type);
	if (cls == MIME_CLASS_BINARY) {
		lf->cte = MIME_BASE64;
		return 0;
	}
	if (done != NULL)
		s = *done;
	else {
		mime_sniff_init(&s, "--=_");
		if (mime_sniff_fd(&s, lf->fd, lf->off, lf->len, lf->what,
		    e) == -1)
			return -1;
	}
	/* A signed text must survive a 7-bit relay: no 8bit. */
	lf->cte = mime_choose(&s, cls, !g->c->sign);
	if (cls == MIME_CLASS_MESSAGE && lf->cte == MIME_BASE64)
		strcpy(lf->type, "application/octet-stream");
	if (strncmp(lf->type, "text/", 5) == 0) {
		/* libmagic's charset guess matters only for 8-bit text that
		   is not UTF-8. */
		if (s.hi > 0 && !s.utf8 && s.nul == 0 &&
		    lf->magic_cs[0] == '\0') {
			if (lf->mem != NULL)
				mime_type_of_buf(g->magic, lf->mem,
				    (size_t)lf->len, ignore, lf->magic_cs);
			else if (lf->fd != -1)
				mime_type_of(g->magic, lf->fd, ignore,
				    lf->magic_cs);
		}
		lf->charset = mime_charset(&s, lf->magic_cs);
	}
	return 0;
}

/* A leaf for a file named on the command line. */
static struct leaf *
leaf_file(struct gen *g, const char *path, const char *forced,
    enum disp disp, struct err *e)
{
	struct leaf *lf;
	struct stat st;
	char *what = xasprintf("'%s'", path);
	int fd;

	lf = leaf_new(g, what);
	free(what);
	lf->disp = disp;
	if (disp != D_NONE)
		lf->filename = xstrdup(base_name(path));
	if ((fd = open_named(path, 0, e)) == -1)
		return NULL;
	lf->fd = fd;
	lf->own = 1;
	if (fstat(fd, &st) == -1) {
		err_set(e, ERR_NOINPUT, "cannot read '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	if (S_ISREG(st.st_mode))
		lf->len = st.st_size;
	else {
		/* A pipe or a device: keep a copy to read twice. */
		lf->fd = spill(fd, NULL, 0, NULL, &lf->len, lf->what, e);
		close(fd);
		if (lf->fd == -1)
			return NULL;
	}
	if (classify(g, lf, forced, NULL, e) == -1)
		return NULL;
	return lf;
}

/*
 * The text on fd in from its current offset (standard input): a leaf of
 * type text/plain, the content kept in place when in is a regular file.
 */
static struct leaf *
leaf_stdin_text(struct gen *g, int in, struct err *e)
{
	struct leaf *lf = leaf_new(g, "the message body (standard input)");
	struct mime_sniff s;
	struct stat st;
	off_t here;

	mime_sniff_init(&s, "--=_");
	if (fstat(in, &st) == 0 && S_ISREG(st.st_mode) &&
	    (here = lseek(in, 0, SEEK_CUR)) != -1) {
		lf->fd = in;
		lf->off = here;
		lf->len = st.st_size > here ? st.st_size - here : 0;
		if (mime_sniff_fd(&s, in, lf->off, lf->len, lf->what, e) == -1)
			return NULL;
	} else {
		if (take_rest(in, NULL, 0, &s, lf,
		    "the message body (standard input)", e) == -1)
			return NULL;
		mime_sniff_end(&s);
	}
	if (classify(g, lf, "text/plain", &s, e) == -1)
		return NULL;
	return lf;
}

/* ------------------------------------------------------------ headers */

static size_t
col_of(const struct buf *b)
{
	size_t i = b->len;

	while (i > 0 && b->data[i - 1] != '\n')
		i--;
	return b->len - i;
}

static int
is_ascii_str(const char *s)
{
	return str_is_ascii(s, strlen(s));
}

/*
 * One item of an address field: a word as given when it is short ASCII,
 * else each of its mailboxes rewritten, the display name encoded.
 */
static int
addr_items(const char *word, struct strv *items, struct err *e)
{
	struct addr_list l;
	struct buf b;
	size_t i, n;
	char *spec;
	int r;

	while (*word == ' ' || *word == '\t')
		word++;
	n = strlen(word);
	while (n > 0 && (word[n - 1] == ' ' || word[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 0;
	addr_list_init(&l);
	if (addr_parse_list(word, n, &l, e) == -1) {
		addr_list_release(&l);
		e->kind = ERR_USAGE;
		return err_prefix(e, "address '%.*s': ", (int)n, word);
	}
	if (str_is_ascii(word, n) && n <= FOLD - 2) {
		strv_take(items, xstrndup(word, n));
		addr_list_release(&l);
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		if (l.v[i].local[0] == '\0')
			continue;
		buf_init(&b, MSG_FIELD_MAX);
		spec = addr_spec(&l.v[i]);
		if (l.v[i].display != NULL && *l.v[i].display != '\0') {
			if (hdr_write_phrase(&b, l.v[i].display) == -1) {
				free(spec);
				buf_release(&b);
				addr_list_release(&l);
				return err_set(e, ERR_USAGE, "the name in "
				    "'%.*s' is not valid UTF-8 or is too long",
				    (int)n, word);
			}
			r = buf_printf(&b, " <%s>", spec);
		} else
			r = buf_adds(&b, spec);
		free(spec);
		if (r == -1) {
			buf_release(&b);
			addr_list_release(&l);
			return err_set(e, ERR_USAGE, "address '%.*s' is longer "
			    "than %d octets once written", (int)n, word,
			    MSG_FIELD_MAX);
		}
		strv_take(items, buf_detach(&b));
		buf_release(&b);
	}
	addr_list_release(&l);
	return 0;
}

/* "Name: a, b, ..." folded between items. */
static int
add_addr_field(struct buf *out, const char *name, char *const *words,
    size_t n, struct err *e)
{
	struct strv items = { NULL, 0 };
	size_t i, first;
	const char *nl;
	int r = -1;

	for (i = 0; i < n; i++)
		if (addr_items(words[i], &items, e) == -1)
			goto out;
	if (items.n == 0) {
		r = 0;
		goto out;
	}
	if (buf_printf(out, "%s:", name) == -1)
		goto cap;
	for (i = 0; i < items.n; i++) {
		nl = strchr(items.v[i], '\r');
		first = nl != NULL ? (size_t)(nl - items.v[i]) :
		    strlen(items.v[i]);
		if (i > 0 && buf_addc(out, ',') == -1)
			goto cap;
		if (i > 0 && col_of(out) + 1 + first > FOLD) {
			if (buf_adds(out, "\r\n ") == -1)
				goto cap;
		} else if (buf_addc(out, ' ') == -1)
			goto cap;
		if (buf_adds(out, items.v[i]) == -1)
			goto cap;
	}
	if (buf_adds(out, "\r\n") == -1)
		goto cap;
	r = 0;
	goto out;
cap:
	err_set(e, ERR_USAGE, "the %s header is too long", name);
out:
	strv_free(&items);
	return r;
}

static int
is_addr_header(const char *name)
{
	static const char *const names[] = {
		"from", "sender", "to", "cc", "bcc", "reply-to",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Splits -H "Name: value" into two new strings, trimmed. */
static void
split_header(const char *h, char **name, char **value)
{
	const char *colon = strchr(h, ':');
	size_t n = (size_t)(colon - h);

	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	*name = xstrndup(h, n);
	*value = str_trim(xstrdup(colon + 1));
}

/* Fields a -H may not set: compose writes the MIME structure. */
static const char *
header_refused(const char *name, const struct cli *c)
{
	if (strcasecmp(name, "mime-version") == 0 ||
	    (strncasecmp(name, "content-", 8) == 0 &&
	    strcasecmp(name, "content-language") != 0))
		return "compose mode writes the MIME structure itself";
	if (strncasecmp(name, "resent-", 7) == 0)
		return "compose mode writes a new message, not a resent one";
	if (c->subject != NULL && strcasecmp(name, "subject") == 0)
		return "the subject is given with -s";
	return NULL;
}

/*
 * "Name: value" for ASCII text, folded at its blanks before column 78 and
 * otherwise as it is: a Message-ID, References or List-Unsubscribe value
 * must not become encoded-words.  -1 if a line would pass 998, -2 if out's
 * cap is hit (out as it was, either way).
 */
static int
add_ascii_field(struct buf *out, const char *name, const char *value)
{
	size_t start = out->len, n, col;

	if (buf_printf(out, "%s:", name) == -1)
		goto cap;
	col = strlen(name) + 1;
	while (*value != '\0') {
		while (*value == ' ' || *value == '\t')
			value++;
		n = strcspn(value, " \t");
		if (n == 0)
			break;
		if (col > strlen(name) + 1 && col + 1 + n > FOLD) {
			if (buf_adds(out, "\r\n") == -1)
				goto cap;
			col = 0;
		}
		if (buf_addc(out, ' ') == -1 || buf_add(out, value, n) == -1)
			goto cap;
		col += 1 + n;
		if (col > MSG_LINE_MAX) {
			buf_truncate(out, start);
			return -1;
		}
		value += n;
	}
	if (buf_adds(out, "\r\n") == -1)
		goto cap;
	return 0;
cap:
	buf_truncate(out, start);
	return -2;
}

static int
add_user_header(struct buf *out, const char *h, struct err *e)
{
	char *name, *value;
	int r = 0;

	split_header(h, &name, &value);
	if (is_addr_header(name))
		r = add_addr_field(out, name, &value, 1, e);
	else if (is_ascii_str(value)) {
		if ((r = add_ascii_field(out, name, value)) == -1)
			r = err_set(e, ERR_USAGE, "header '%s': a line of the "
			    "value is longer than %d octets", name,
			    MSG_LINE_MAX);
		else if (r == -2)
			r = err_set(e, ERR_USAGE, "header '%s': the header "
			    "section would be longer than %d octets", name,
			    HEAD_MAX);
	} else if (hdr_write_unstructured(out, name, value) == -1)
		r = err_set(e, ERR_USAGE, "header '%s': the value is not "
		    "valid UTF-8 or is too long", name);
	free(name);
	free(value);
	return r;
}

/* Content-Type and the rest for a leaf, each field ending in CRLF. */
static int
leaf_headers(struct buf *b, const struct leaf *lf)
{
	if (buf_printf(b, "Content-Type: %s", lf->type) == -1)
		return -1;
	if (lf->charset != NULL && mime_param(b, "charset", lf->charset, 0)
	    == -1)
		return -1;
	if (lf->filename != NULL && mime_param(b, "name", lf->filename, 1)
	    == -1)
		return -1;
	if (buf_printf(b, "\r\nContent-Transfer-Encoding: %s\r\n",
	    mime_cte_name(lf->cte)) == -1)
		return -1;
	if (lf->disp != D_NONE) {
		if (buf_adds(b, lf->disp == D_INLINE ?
		    "Content-Disposition: inline" :
		    "Content-Disposition: attachment") == -1 ||
		    (lf->filename != NULL && mime_param(b, "filename",
		    lf->filename, 1) == -1) ||
		    buf_adds(b, "\r\n") == -1)
			return -1;
	}
	if (lf->cid && (buf_adds(b, "Content-ID: ") == -1 ||
	    mime_content_id(b, lf->filename) == -1 ||
	    buf_adds(b, "\r\n") == -1))
		return -1;
	return 0;
}

/* ------------------------------------------------------------ steps */

static struct step *
step_add(struct gen *g, enum step_kind kind)
{
	struct step *st;

	if (g->nsteps == g->capsteps) {
		g->capsteps = g->capsteps ? g->capsteps * 2 : 16;
		g->steps = xreallocarray(g->steps, g->capsteps,
		    sizeof(*g->steps));
	}
	st = &g->steps[g->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	return st;
}

/* Moves b's text into a new step; b is empty after. */
static void
step_text(struct gen *g, struct buf *b)
{
	struct step *st;

	if (b->len == 0)
		return;
	st = step_add(g, S_TEXT);
	st->len = b->len;
	st->text = buf_detach(b);
}

static void
step_leaf(struct gen *g, struct leaf *lf)
{
	step_add(g, S_LEAF)->leaf = lf;
}

/* A node of the MIME tree: a leaf, or a multipart of kids. */
struct node {
	struct leaf	*leaf;
	const char	*sub;		/* multipart subtype */
	const char	*type;		/* multipart/related's type= */
	struct node	**kids;
	size_t		 nkids;
};

static struct node *
node_leaf(struct leaf *lf)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->leaf = lf;
	return n;
}

static struct node *
node_multi(const char *sub, const char *type)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->sub = sub;
	n->type = type;
	return n;
}

static void
node_add(struct node *n, struct node *kid)
{
	n->kids = xreallocarray(n->kids, n->nkids + 1, sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
}

static void
node_free(struct node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n);
}

/*
 * Steps for node n, whose header fields go at the end of b (the
 * message's header block for the root).
 */
static int
emit_node(struct gen *g, struct buf *b, const struct node *n,
    struct err *e)
{
	char bd[MIME_BOUNDARY_LEN + 1];
	size_t i;

	if (n->leaf != NULL) {
		if (leaf_headers(b, n->leaf) == -1 || buf_adds(b, "\r\n") == -1)
			return err_set(e, ERR_USAGE, "the MIME headers are too "
			    "long");
		step_text(g, b);
		step_leaf(g, n->leaf);
		return 0;
	}
	if (mime_boundary(bd) == -1)
		return err_set(e, ERR_SOFTWARE, "no random numbers: %s",
		    strerror(errno));
	if (buf_printf(b, "Content-Type: multipart/%s", n->sub) == -1 ||
	    (n->type != NULL && mime_param(b, "type", n->type, 0) == -1) ||
	    mime_param(b, "boundary", bd, 0) == -1 ||
	    buf_adds(b, "\r\n\r\n") == -1)
		return err_set(e, ERR_USAGE, "the MIME headers are too long");
	for (i = 0; i < n->nkids; i++) {
		if (buf_printf(b, "%s--%s\r\n", i > 0 ? "\r\n" : "", bd) ==
		    -1)
			return err_set(e, ERR_USAGE, "the MIME headers are too "
			    "long");
		if (emit_node(g, b, n->kids[i], e) == -1)
			return -1;
	}
	if (buf_printf(b, "\r\n--%s--", bd) == -1)
		return err_set(e, ERR_USAGE, "the MIME headers are too long");
	return 0;
}

/* ------------------------------------------------------------ generating */

/* Reads exactly n bytes of lf at lf->off + g->lpos. */
static int
leaf_read(struct gen *g, const struct leaf *lf, char *b, size_t n,
    struct err *e)
{
	off_t at = lf->off + g->lpos;
	ssize_t r;

	if (lf->mem != NULL) {
		memcpy(b, lf->mem + at, n);
		return 0;
	}
	while (n > 0) {
		r = pread(lf->fd, b, n, at);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(e, ERR_NOINPUT, "cannot read %s: %s",
			    lf->what, r == 0 ? "it became shorter while being "
			    "read" : strerror(errno));
		b += r;
		n -= (size_t)r;
		at += r;
	}
	return 0;
}

/* One block of a leaf into the staging buffer; 0 when the leaf is done. */
static int
leaf_produce(struct gen *g, struct leaf *lf, struct err *e)
{
	off_t left;
	size_t want, k;

	if (!g->lstarted) {
		g->lstarted = 1;
		g->lpos = 0;
		mime_qp_init(&g->qp, 1);
	}
	left = lf->len - g->lpos;
	if (left == 0) {
		if (!lf->raw && lf->cte == MIME_QP)
			g->olen += mime_qp_finish(&g->qp, g->out + g->olen);
		g->lstarted = 0;
		return 0;
	}
	if (lf->raw || lf->cte == MIME_7BIT || lf->cte == MIME_8BIT) {
		want = left > RAW_BLOCK ? RAW_BLOCK : (size_t)left;
		if (leaf_read(g, lf, g->out + g->olen, want, e) == -1)
			return -1;
		g->olen += want;
	} else if (lf->cte == MIME_BASE64) {
		want = left > B64_BLOCK ? B64_BLOCK : (size_t)left;
		if (leaf_read(g, lf, g->in, want, e) == -1)
			return -1;
		k = b64_encode_mime(g->in, want, g->out + g->olen);
		/* The line break after the last line is the delimiter's. */
		if ((off_t)want == left)
			k -= 2;
		g->olen += k;
	} else {
		want = left > QP_BLOCK ? QP_BLOCK : (size_t)left;
		if (leaf_read(g, lf, g->in, want, e) == -1)
			return -1;
		g->olen += mime_qp_encode(&g->qp, g->in, want,
		    g->out + g->olen);
	}
	g->lpos += (off_t)want;
	return 1;
}

static int wrap_produce(struct gen *, struct err *);

/* Fills the staging buffer; 1 when it has data, 0 at the end, -1. */
static int
produce(struct gen *g, struct err *e)
{
	struct step *st;
	size_t k;
	int r;

	while (g->cur < g->nsteps && g->olen < GEN_OUT / 2) {
		st = &g->steps[g->cur];
		switch (st->kind) {
		case S_TEXT:
			k = st->len - g->tpos;
			if (k > GEN_OUT - g->olen)
				k = GEN_OUT - g->olen;
			memcpy(g->out + g->olen, st->text + g->tpos, k);
			g->olen += k;
			g->tpos += k;
			if (g->tpos == st->len) {
				g->tpos = 0;
				g->cur++;
			}
			break;
		case S_LEAF:
			if ((r = leaf_produce(g, st->leaf, e)) == -1)
				return -1;
			if (r == 0)
				g->cur++;
			break;
		case S_WRAP:
			if ((r = wrap_produce(g, e)) == -1)
				return -1;
			if (r == 0)
				g->cur++;
			break;
		}
	}
	return g->olen > 0;
}

/* The msg_source read function. */
static long
gen_read(void *arg, char *buf, size_t n, struct err *e)
{
	struct gen *g = arg;
	size_t got = 0, k;
	int r;

	while (got < n) {
		if (g->opos == g->olen) {
			g->opos = g->olen = 0;
			if ((r = produce(g, e)) == -1)
				return -1;
			if (r == 0)
				break;
		}
		k = g->olen - g->opos;
		if (k > n - got)
			k = n - got;
		memcpy(buf + got, g->out + g->opos, k);
		g->opos += k;
		got += k;
	}
	return (long)got;
}

/* ------------------------------------------------------------ wrapping */

/* Refills the wrap's block; 0 at the end of input. */
static int
wrap_fill(struct wrap *w, struct err *e)
{
	ssize_t r;

	w->consumed += (off_t)w->blen;
	w->bpos = w->blen = 0;
	if (w->eof)
		return 0;
	r = fsio_read_wait(w->in, w->blk, COPY_BLOCK);
	if (r == -1)
		return err_set(e, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
	if (r == 0)
		w->eof = 1;
	w->blen = (size_t)r;
	return r > 0;
}

static off_t
wrap_pos(const struct wrap *w)
{
	return w->consumed + (off_t)w->bpos;
}

/* After a line ended with CR: an LF that follows belongs to it. */
static int
wrap_skip_lf(struct wrap *w, struct err *e)
{
	if (!w->cr)
		return 0;
	if (w->bpos == w->blen && wrap_fill(w, e) == -1)
		return -1;
	if (w->bpos < w->blen && w->blk[w->bpos] == '\n')
		w->bpos++;
	w->cr = 0;
	return 0;
}

/*
 * The next line of the header section into w->line (without its line
 * end).  Returns 1 for a complete line, 2 for a line longer than the cap
 * (w->line holds its start), 0 at the end of input with nothing read.
 */
static int
wrap_line(struct wrap *w, struct err *e)
{
	size_t i;
	unsigned char c;

	buf_reset(&w->line);
	if (wrap_skip_lf(w, e) == -1)
		return -1;
	w->line_start = wrap_pos(w);
	for (;;) {
		if (w->bpos == w->blen) {
			int r = wrap_fill(w, e);

			if (r == -1)
				return -1;
			if (r == 0)
				return w->line.len > 0;
		}
		for (i = w->bpos; i < w->blen; i++) {
			c = (unsigned char)w->blk[i];
			if (c == '\r' || c == '\n' || c == '\0')
				break;
		}
		if (buf_add(&w->line, w->blk + w->bpos, i - w->bpos) == -1) {
			size_t room = w->line.max - w->line.len;

			buf_add(&w->line, w->blk + w->bpos, room);
			w->bpos += room;
			return 2;
		}
		w->bpos = i;
		if (i == w->blen)
			continue;
		if (w->blk[i] == '\0')
			return err_set(e, ERR_DATA, "the message has a NUL "
			    "byte (line %lu)", w->lineno + 1);
		w->cr = w->blk[i] == '\r';
		w->bpos++;
		w->lineno++;
		w->bare_cr = 0;
		if (w->cr) {
			/* An LF must follow (see wrap_produce). */
			if (w->bpos == w->blen && wrap_fill(w, e) == -1)
				return -1;
			w->cr = 0;
			if (w->bpos < w->blen && w->blk[w->bpos] == '\n')
				w->bpos++;
			else if (w->bpos < w->blen)
				w->bare_cr = 1;
		}
		return 1;
	}
}

/* How the header section of a wrapped message ended. */
enum wrap_end {
	W_BLANK,	/* a blank line */
	W_LINE,		/* a line that is not a header line (in w->line) */
	W_LONG,		/* a long line that is not one (its start in w->line) */
	W_EOF,		/* the end of input */
};

static int prepare_wrapped_body(struct gen *, enum wrap_end, struct err *);

/*
 * Passes the header lines of the message on standard input, holding its
 * Content-* fields for the first part.  0 when the header section is
 * done (and the rest of the steps are in place).
 */
static int
wrap_produce(struct gen *g, struct err *e)
{
	struct wrap *w = g->w;
	const char *s;
	size_t n, nl;
	int r;

	while (g->olen < GEN_OUT / 2) {
		r = wrap_line(w, e);
		if (r == -1)
			return -1;
		if (r == 0) {
			/* Input ended in the header section: no body. */
			w->line_start = wrap_pos(w);
			return prepare_wrapped_body(g, W_EOF, e);
		}
		s = w->line.data != NULL ? w->line.data : "";
		n = w->line.len;
		if (r == 2) {
			if (w->fields > 0 || hdr_name_len(s, n) > 0 ||
			    (w->lineno == 0 && n >= 5 &&
			    memcmp(s, "From ", 5) == 0))
				return err_set(e, ERR_DATA, "header line %lu "
				    "is longer than %d octets", w->lineno + 1,
				    MSG_LINE_MAX);
			return prepare_wrapped_body(g, W_LONG, e);
		}
		if (w->lineno == 1 && w->fields == 0 && n >= 5 &&
		    memcmp(s, "From ", 5) == 0)
			continue;
		/* As msg does: a bare CR never splits a header field. */
		if (w->bare_cr && (n == 0 || hdr_name_len(s, n) > 0 ||
		    ((s[0] == ' ' || s[0] == '\t') && w->field != F_NONE)))
			return err_set(e, ERR_DATA, "header line %lu has a "
			    "carriage return (CR) that does not end the line; "
			    "a header field cannot hold one, and posthorn does "
			    "not make it a line break", w->lineno);
		if (n == 0)
			return prepare_wrapped_body(g, W_BLANK, e);
		if ((s[0] == ' ' || s[0] == '\t') && w->field != F_NONE) {
			/* A continuation: goes where its field went. */
		} else if ((nl = hdr_name_len(s, n)) > 0) {
			w->field = F_PASS;
			if (str_caseeqn(s, nl, "content-length") ||
			    str_caseeqn(s, nl, "mime-version"))
				w->field = F_DROP;
			else if (nl > 8 && strncasecmp(s, "content-", 8) == 0) {
				w->field = F_HOLD;
				if (str_caseeqn(s, nl, "content-type") ||
				    str_caseeqn(s, nl,
				    "content-transfer-encoding"))
					w->have_type = 1;
			}
		} else {
			/* Not a header line: the body starts here. */
			return prepare_wrapped_body(g, W_LINE, e);
		}
		w->fields++;
		if (w->field == F_HOLD) {
			if (buf_add(&w->held, s, n) == -1 ||
			    buf_add(&w->held, "\r\n", 2) == -1)
				return err_set(e, ERR_DATA, "the message's "
				    "Content-* header fields are longer than "
				    "%d octets", HELD_MAX);
		} else if (w->field == F_PASS) {
			memcpy(g->out + g->olen, s, n);
			memcpy(g->out + g->olen + n, "\r\n", 2);
			g->olen += n + 2;
		}
	}
	return 1;
}

/*
 * The header section of the message on standard input ended (how: end;
 * w->line_start is where the body starts, w->line holds its first bytes
 * for W_LINE and W_LONG).  Makes the body a leaf and the rest of the
 * message steps: MIME-Version, the multipart/mixed type, the body as the
 * first part with its Content-* fields, the attachments.
 */
static int
prepare_wrapped_body(struct gen *g, enum wrap_end end, struct err *e)
{
	struct wrap *w = g->w;
	struct leaf *lf = leaf_new(g, "the message (standard input)");
	struct mime_sniff s;
	struct stat st;
	struct buf b, first;
	char bd[MIME_BOUNDARY_LEN + 1], avoid[MIME_BOUNDARY_LEN + 3];
	size_t i;
	int tries;

	if (mime_boundary(bd) == -1)
		return err_set(e, ERR_SOFTWARE, "no random numbers: %s",
		    strerror(errno));
	snprintf(avoid, sizeof(avoid), "--%s", w->have_type ? bd : "=_");
	mime_sniff_init(&s, avoid);
	if (w->base != -1 && fstat(w->in, &st) == 0) {
		if (end == W_BLANK && wrap_skip_lf(w, e) == -1)
			return -1;
		lf->fd = w->in;
		lf->off = w->base + (end == W_BLANK ? wrap_pos(w) :
		    w->line_start);
		lf->len = st.st_size > lf->off ? st.st_size - lf->off : 0;
		if (mime_sniff_fd(&s, lf->fd, lf->off, lf->len, lf->what,
		    e) == -1)
			return -1;
	} else {
		buf_init(&first, 0);
		if (end == W_LINE || end == W_LONG)
			buf_add(&first, w->line.data, w->line.len);
		if (end == W_LINE)
			buf_add(&first, "\n", 1);
		if (end != W_LONG && wrap_skip_lf(w, e) == -1) {
			buf_release(&first);
			return -1;
		}
		buf_add(&first, w->blk + w->bpos, w->blen - w->bpos);
		w->bpos = w->blen;
		if (take_rest(w->eof ? -1 : w->in, first.data, first.len, &s,
		    lf, "the message", e) == -1) {
			buf_release(&first);
			return -1;
		}
		buf_release(&first);
		mime_sniff_end(&s);
	}
	if (w->have_type) {
		/* Its own MIME body, passed as it is: only the boundary must
		   not occur in it. */
		lf->raw = 1;
		for (tries = 0; s.avoid_line; tries++) {
			if (tries == 8)
				return err_set(e, ERR_SOFTWARE, "cannot find a "
				    "boundary that the message does not hold");
			if (mime_boundary(bd) == -1)
				return err_set(e, ERR_SOFTWARE, "no random "
				    "numbers: %s", strerror(errno));
			snprintf(avoid, sizeof(avoid), "--%s", bd);
			mime_sniff_init(&s, avoid);
			if (lf->mem != NULL) {
				mime_sniff_feed(&s, lf->mem, (size_t)lf->len);
				mime_sniff_end(&s);
			} else if (mime_sniff_fd(&s, lf->fd, lf->off, lf->len,
			    lf->what, e) == -1)
				return -1;
		}
	} else if (classify(g, lf, "text/plain", &s, e) == -1)
		return -1;

	/* HEAD_MAX holds HELD_MAX and a few short fields many times. */
	buf_init(&b, HEAD_MAX);
	if (buf_adds(&b, "MIME-Version: 1.0\r\nContent-Type: "
	    "multipart/mixed") == -1 ||
	    mime_param(&b, "boundary", bd, 0) == -1 ||
	    buf_printf(&b, "\r\n\r\n--%s\r\n", bd) == -1 ||
	    buf_add(&b, w->held.data, w->held.len) == -1 ||
	    (!w->have_type && leaf_headers(&b, lf) == -1) ||
	    buf_adds(&b, "\r\n") == -1) {
		buf_release(&b);
		return err_set(e, ERR_DATA, "the MIME headers are too long");
	}
	step_text(g, &b);
	step_leaf(g, lf);
	for (i = 0; i < g->nattach; i++) {
		if (buf_printf(&b, "\r\n--%s\r\n", bd) == -1 ||
		    leaf_headers(&b, g->attach[i]) == -1 ||
		    buf_adds(&b, "\r\n") == -1) {
			buf_release(&b);
			return err_set(e, ERR_USAGE, "the MIME headers are "
			    "too long");
		}
		step_text(g, &b);
		step_leaf(g, g->attach[i]);
	}
	if (buf_printf(&b, "\r\n--%s--\r\n", bd) == -1) {
		buf_release(&b);
		return err_set(e, ERR_USAGE, "the MIME headers are too long");
	}
	step_text(g, &b);
	buf_release(&b);
	return 0;
}

/* ------------------------------------------------------------ checks */

static int
check_file(const char *path, const char *what, int named, struct err *e)
{
	struct stat st;
	int fd;

	/* A FIFO is not opened: a writer waiting for a reader would take
	   this one and find it gone. */
	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		if (access(path, R_OK) == -1)
			return err_set(e, ERR_NOINPUT, "cannot read '%s': %s",
			    path, strerror(errno));
	} else if ((fd = open_named(path, 1, e)) == -1)
		return -1;
	else
		close(fd);
	if (named && !hdr_utf8_valid(base_name(path),
	    strlen(base_name(path))))
		return err_set(e, ERR_USAGE, "the %s name '%s' is not valid "
		    "UTF-8; rename the file", what, base_name(path));
	return 0;
}

static int
check_addrs(char *const *words, size_t n, struct err *e)
{
	struct strv items = { NULL, 0 };
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++)
		r = addr_items(words[i], &items, e);
	strv_free(&items);
	return r;
}

int
compose_check(const struct cli *c, struct err *e)
{
	const char *type, *t;
	char *path, *name, *value;
	struct buf scratch;
	size_t i, j;
	int r;

	for (i = 0; i < c->attach.n; i++) {
		path = split_attach(c->attach.v[i], &type);
		r = check_file(path, "attachment", 1, e);
		if (r == 0 && type != NULL &&
		    strncasecmp(type, "multipart/", 10) == 0)
			r = err_set(e, ERR_USAGE, "cannot attach '%s' as %s "
			    "(compose mode makes the multiparts)", path, type);
		free(path);
		if (r == -1)
			return -1;
	}
	if (!c->compose)
		return 0;
	if (c->body_file != NULL && check_file(c->body_file, "body", 0, e) ==
	    -1)
		return -1;
	if (c->html_file != NULL && check_file(c->html_file, "HTML", 0, e) ==
	    -1)
		return -1;
	if (c->inline_files.n > 0 && c->html_file == NULL)
		return err_set(e, ERR_USAGE, "--inline needs --html");
	for (i = 0; i < c->inline_files.n; i++) {
		if (check_file(c->inline_files.v[i], "inline file", 1, e) == -1)
			return -1;
		t = base_name(c->inline_files.v[i]);
		for (j = 0; j < i; j++)
			if (strcmp(t, base_name(c->inline_files.v[j])) == 0)
				return err_set(e, ERR_USAGE, "two inline files "
				    "are named '%s' (the name is the cid: "
				    "reference)", t);
	}
	if (c->subject != NULL && !hdr_utf8_valid(c->subject,
	    strlen(c->subject)))
		return err_set(e, ERR_USAGE, "the subject (-s) is not valid "
		    "UTF-8");
	if (c->full_name != NULL && !hdr_utf8_valid(c->full_name,
	    strlen(c->full_name)))
		return err_set(e, ERR_USAGE, "the full name (-F) is not valid "
		    "UTF-8");
	if (check_addrs(c->rcpts.v, c->rcpts.n, e) == -1 ||
	    check_addrs(c->cc.v, c->cc.n, e) == -1 ||
	    check_addrs(c->bcc.v, c->bcc.n, e) == -1 ||
	    check_addrs(c->reply_to.v, c->reply_to.n, e) == -1)
		return -1;
	for (i = 0; i < c->headers.n; i++) {
		const char *why;

		split_header(c->headers.v[i], &name, &value);
		why = header_refused(name, c);
		if (why != NULL)
			r = err_set(e, ERR_USAGE, "-H '%s': %s", name, why);
		else {
			buf_init(&scratch, 0);
			r = add_user_header(&scratch, c->headers.v[i], e);
			buf_release(&scratch);
		}
		free(name);
		free(value);
		if (r == -1)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ compose */

/* The header block and MIME tree of compose mode, as steps. */
static int
build_compose(struct gen *g, int in, struct err *e)
{
	const struct cli *c = g->c;
	struct leaf *text = NULL, *html = NULL;
	struct node *root = NULL, *main_part, *rel, *alt, *mixed;
	struct buf b;
	size_t i;
	int r = -1;

	if (c->body_file != NULL)
		text = leaf_file(g, c->body_file, "text/plain", D_NONE, e);
	else if (isatty(in)) {
		text = leaf_new(g, "the message body");
		strcpy(text->type, "text/plain");
		text->charset = "us-ascii";
		text->cte = MIME_7BIT;
	} else
		text = leaf_stdin_text(g, in, e);
	if (text == NULL)
		return -1;
	if (c->html_file != NULL &&
	    (html = leaf_file(g, c->html_file, "text/html", D_NONE, e)) ==
	    NULL)
		return -1;

	/* text, or text and HTML (with its images) as alternatives. */
	main_part = node_leaf(text);
	if (html != NULL) {
		struct node *h = node_leaf(html);

		if (c->inline_files.n > 0) {
			rel = node_multi("related", "text/html");
			node_add(rel, h);
			for (i = 0; i < c->inline_files.n; i++) {
				struct leaf *lf = leaf_file(g,
				    c->inline_files.v[i], NULL, D_INLINE, e);

				if (lf == NULL) {
					node_free(rel);
					node_free(main_part);
					return -1;
				}
				lf->cid = 1;
				node_add(rel, node_leaf(lf));
			}
			h = rel;
		}
		if (text->len > 0) {
			alt = node_multi("alternative", NULL);
			node_add(alt, main_part);
			node_add(alt, h);
			main_part = alt;
		} else {
			node_free(main_part);
			main_part = h;
		}
	}
	root = main_part;
	if (g->nattach > 0) {
		mixed = node_multi("mixed", NULL);
		node_add(mixed, main_part);
		for (i = 0; i < g->nattach; i++)
			node_add(mixed, node_leaf(g->attach[i]));
		root = mixed;
	}

	buf_init(&b, HEAD_MAX);
	if (add_addr_field(&b, "To", c->rcpts.v, c->rcpts.n, e) == -1 ||
	    add_addr_field(&b, "Cc", c->cc.v, c->cc.n, e) == -1 ||
	    add_addr_field(&b, "Bcc", c->bcc.v, c->bcc.n, e) == -1 ||
	    add_addr_field(&b, "Reply-To", c->reply_to.v, c->reply_to.n, e) ==
	    -1)
		goto out;
	if (c->subject != NULL &&
	    hdr_write_unstructured(&b, "Subject", c->subject) == -1) {
		err_set(e, ERR_USAGE, "the subject is not valid UTF-8 or is "
		    "too long");
		goto out;
	}
	for (i = 0; i < c->headers.n; i++)
		if (add_user_header(&b, c->headers.v[i], e) == -1)
			goto out;
	if (buf_adds(&b, "MIME-Version: 1.0\r\n") == -1) {
		err_set(e, ERR_USAGE, "the headers are too long");
		goto out;
	}
	if (emit_node(g, &b, root, e) == -1)
		goto out;
	if (root->leaf == NULL && buf_adds(&b, "\r\n") == -1) {
		err_set(e, ERR_USAGE, "the MIME headers are too long");
		goto out;
	}
	step_text(g, &b);
	r = 0;
out:
	buf_release(&b);
	node_free(root);
	return r;
}

int
compose_message(const struct cli *c, const struct msg_params *p, int in,
    int out, struct envelope *env, struct err *e)
{
	struct msg_source src;
	struct msg_params q;
	struct gen g;
	struct wrap w;
	const char *type;
	struct stat st;
	char *path;
	size_t i;
	int r = -1;

	memset(&g, 0, sizeof(g));
	memset(&w, 0, sizeof(w));
	g.c = c;
	g.magic = mime_magic_new();
	buf_init(&w.line, MSG_LINE_MAX);
	buf_init(&w.held, HELD_MAX);

	g.attach = xcalloc(c->attach.n + 1, sizeof(*g.attach));
	for (i = 0; i < c->attach.n; i++) {
		path = split_attach(c->attach.v[i], &type);
		g.attach[i] = leaf_file(&g, path, type, D_ATTACH, e);
		free(path);
		if (g.attach[i] == NULL)
			goto out;
		g.nattach++;
	}
	src.read = gen_read;
	src.arg = &g;
	if (c->compose) {
		if (build_compose(&g, in, e) == -1)
			goto out;
		/* Every type is known: libmagic's pages go before ours come. */
		mime_magic_free(g.magic);
		g.magic = mime_magic_new();
		g.out = xmalloc(GEN_OUT);
		g.in = xmalloc(B64_BLOCK > QP_BLOCK ? B64_BLOCK : QP_BLOCK);
		/* The recipients are in the To, Cc and Bcc fields written. */
		q = *p;
		q.read_recipients = 1;
		q.rcpts = NULL;
		q.remove_bcc = 1;
		r = msg_read_source(&src, &q, out, env, e);
	} else {
		w.in = in;
		w.blk = xmalloc(COPY_BLOCK);
		w.base = -1;
		if (fstat(in, &st) == 0 && S_ISREG(st.st_mode))
			w.base = lseek(in, 0, SEEK_CUR);
		g.w = &w;
		step_add(&g, S_WRAP);
		mime_magic_free(g.magic);
		g.magic = mime_magic_new();
		g.out = xmalloc(GEN_OUT);
		g.in = xmalloc(B64_BLOCK > QP_BLOCK ? B64_BLOCK : QP_BLOCK);
		r = msg_read_source(&src, p, out, env, e);
	}
out:
	for (i = 0; i < g.nsteps; i++)
		free(g.steps[i].text);
	free(g.steps);
	for (i = 0; i < g.nleaves; i++)
		leaf_free(g.leaves[i]);
	free(g.leaves);
	free(g.attach);
	free(g.out);
	free(g.in);
	free(w.blk);
	buf_release(&w.line);
	buf_release(&w.held);
	mime_magic_free(g.magic);
	return r;
}
