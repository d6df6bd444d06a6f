/*
 * draft owns composing in an editor: the draft's text format (written by
 * draft_format, read by the pure parser draft_parse), the editor run
 * (util/proc.c, attached to the terminal), the checks of what comes
 * back (unchanged, emptied, each field through cli_compose_field and
 * then compose_check, as flags are checked), the summary with send /
 * edit / cancel at a terminal, and reopening the editor on an error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "compose.h"
#include "draft.h"
#include "err.h"
#include "term.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/proc.h"
#include "util/sig.h"

void
draft_init(struct draft *d)
{
	memset(d, 0, sizeof(*d));
}

void
draft_release(struct draft *d)
{
	strv_free(&d->to);
	strv_free(&d->cc);
	strv_free(&d->bcc);
	strv_free(&d->attach);
	free(d->subject);
	memset(d, 0, sizeof(*d));
}

static const struct {
	const char	*name;
	enum cli_field	 f;
} draft_fields[] = {
	{ "To", CLI_F_TO }, { "Cc", CLI_F_CC }, { "Bcc", CLI_F_BCC },
	{ "Subject", CLI_F_SUBJECT }, { "Attach", CLI_F_ATTACH },
};
#define NFIELDS	(sizeof(draft_fields) / sizeof(draft_fields[0]))

/* Files the value v (trimmed, NUL-terminated) under field f. */
static int
draft_put(struct draft *d, enum cli_field f, char *v, int line,
    struct err *e)
{
	struct strv *l = NULL;

	switch (f) {
	case CLI_F_TO:
		l = &d->to;
		break;
	case CLI_F_CC:
		l = &d->cc;
		break;
	case CLI_F_BCC:
		l = &d->bcc;
		break;
	case CLI_F_ATTACH:
		l = &d->attach;
		break;
	case CLI_F_SUBJECT:
		if (d->subject != NULL) {
			free(v);
			return err_set(e, ERR_USAGE, "line %d of the draft: "
			    "a second Subject", line);
		}
		d->subject = v;
		return 0;
	}
	if (*v == '\0')
		free(v);
	else
		strv_take(l, v);
	return 0;
}

/* Trims blanks at both ends of p[0..n) into a new string. */
static char *
draft_trim(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return xstrndup(p, n);
}

int
draft_parse(const char *p, size_t n, struct draft *d, struct err *e)
{
	size_t off = 0, len, i, k, nlen;
	const char *line, *nl, *colon;
	char *cur = NULL;		/* the field being built */
	enum cli_field curf = CLI_F_TO;
	int lineno = 0, curline = 0;

	draft_init(d);
	for (;;) {
		if (off >= n) {
			d->body_off = n;
			break;
		}
		line = p + off;
		nl = memchr(line, '\n', n - off);
		len = nl != NULL ? (size_t)(nl - line) : n - off;
		off += len + (nl != NULL);
		lineno++;
		if (len == 0) {
			d->body_off = off;
			break;
		}
		for (i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)line[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				free(cur);
				return err_set(e, ERR_USAGE, "line %d of the "
				    "draft holds a control character (%s)",
				    lineno, ch == '\r' ? "CR" : "not text");
			}
		}
		if (line[0] == '#')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			char *more, *joined;

			if (cur == NULL) {
				return err_set(e, ERR_USAGE, "line %d of the "
				    "draft continues no field", lineno);
			}
			more = draft_trim(line, len);
			joined = xasprintf("%s%s%s", cur, *cur && *more ?
			    " " : "", more);
			free(more);
			free(cur);
			cur = joined;
			continue;
		}
		if (cur != NULL && draft_put(d, curf, cur, curline, e) == -1)
			return -1;
		cur = NULL;
		colon = memchr(line, ':', len);
		if (colon == NULL)
			return err_set(e, ERR_USAGE, "line %d of the draft is "
			    "not 'Name: value'", lineno);
		nlen = (size_t)(colon - line);
		for (k = 0; k < NFIELDS; k++)
			if (strlen(draft_fields[k].name) == nlen &&
			    strncasecmp(line, draft_fields[k].name, nlen) == 0)
				break;
		if (k == NFIELDS) {
			char shown[64];

			snprintf(shown, sizeof(shown), "%.*s",
			    (int)(nlen < 40 ? nlen : 40), line);
			return err_set(e, ERR_USAGE, "line %d of the draft: "
			    "unknown field '%s' (To, Cc, Bcc, Subject, "
			    "Attach)", lineno, shown);
		}
		curf = draft_fields[k].f;
		curline = lineno;
		cur = draft_trim(colon + 1, len - nlen - 1);
	}
	if (cur != NULL && draft_put(d, curf, cur, curline, e) == -1)
		return -1;
	return 0;
}

int
draft_is_empty(const char *p, size_t n)
{
	size_t off = 0, len, i;
	const char *nl;

	while (off < n) {
		nl = memchr(p + off, '\n', n - off);
		len = nl != NULL ? (size_t)(nl - (p + off)) : n - off;
		if (len > 0 && p[off] != '#')
			for (i = 0; i < len; i++)
				if (p[off + i] != ' ' && p[off + i] != '\t' &&
				    p[off + i] != '\r')
					return 0;
		off += len + 1;
	}
	return 1;
}

static int
draft_line(struct buf *out, const char *name, const struct strv *v)
{
	size_t i;

	if (v->n == 0)
		return buf_printf(out, "%s: \n", name);
	for (i = 0; i < v->n; i++)
		if (buf_printf(out, "%s: %s\n", name, v->v[i]) == -1)
			return -1;
	return 0;
}

int
draft_format(struct buf *out, const struct cli *c, const char *error)
{
	size_t i;

	if (error != NULL && buf_printf(out, "# posthorn: %s\n", error) == -1)
		return -1;
	if (draft_line(out, "To", &c->rcpts) == -1 ||
	    draft_line(out, "Cc", &c->cc) == -1 ||
	    draft_line(out, "Bcc", &c->bcc) == -1 ||
	    buf_printf(out, "Subject: %s\n", c->subject != NULL ?
	    c->subject : "") == -1)
		return -1;
	for (i = 0; i < c->attach.n; i++)
		if (buf_printf(out, "Attach: %s\n", c->attach.v[i]) == -1)
			return -1;
	return buf_adds(out, "\n");
}

/* Replaces c's compose fields with d's, each through the flags' checks. */
static int
draft_apply(struct cli *c, const struct draft *d, struct err *e)
{
	static const enum cli_field order[] = { CLI_F_TO, CLI_F_CC,
	    CLI_F_BCC, CLI_F_ATTACH };
	const struct strv *lists[] = { &d->to, &d->cc, &d->bcc, &d->attach };
	size_t i, k;

	strv_free(&c->rcpts);
	strv_free(&c->cc);
	strv_free(&c->bcc);
	strv_free(&c->attach);
	free(c->subject);
	c->subject = NULL;
	for (k = 0; k < 4; k++)
		for (i = 0; i < lists[k]->n; i++)
			if (cli_compose_field(c, order[k], lists[k]->v[i],
			    e) == -1)
				return err_prefix(e, "in the draft: ");
	if (d->subject != NULL && cli_compose_field(c, CLI_F_SUBJECT,
	    d->subject, e) == -1)
		return err_prefix(e, "in the draft: ");
	if (c->rcpts.n + c->cc.n + c->bcc.n == 0)
		return err_set(e, ERR_USAGE, "the draft names no recipient "
		    "(To, Cc or Bcc)");
	return 0;
}

/* The terminal to ask on, when posthorn is its foreground; else -1. */
static int
draft_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd != -1 && tcgetpgrp(fd) != getpgrp()) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Reads the initial body into b: --body's file, or in when not a tty. */
static int
draft_body(const struct cli *c, int in, struct buf *b, struct err *e)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	if (c->body_file != NULL) {
		if (fsio_read_file(c->body_file, b) == -1)
			return err_set(e, errno == EFBIG ? ERR_DATA :
			    ERR_NOINPUT, "cannot read '%s': %s", c->body_file,
			    strerror(errno));
		return 0;
	}
	if (isatty(in))
		return 0;
	fd = in;
	while ((n = fsio_read_wait(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) == -1)
			return err_set(e, ERR_DATA, "the body is longer than "
			    "a draft may be (%d MiB)", DRAFT_MAX >> 20);
	if (n == -1)
		return err_set(e, ERR_IO, "cannot read the message body: %s",
		    strerror(errno));
	return 0;
}

/* Writes text to a new draft file; its name (malloc'd) or NULL with e. */
static char *
draft_file(const struct buf *text, struct err *e)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd, saved;

	if (dir == NULL || *dir != '/')
		dir = "/tmp";
	path = xasprintf("%s/posthorn-draft-XXXXXX.eml", dir);
	if ((fd = mkstemps(path, 4)) == -1 ||
	    fsio_write_all(fd, text->data, text->len) == -1 ||
	    close(fd) == -1) {
		saved = errno;
		if (fd != -1)
			(void)unlink(path);
		err_set(e, ERR_CANTCREAT, "cannot write the draft in %s: %s",
		    dir, strerror(saved));
		free(path);
		return NULL;
	}
	return path;
}

/* Shows the summary; 's' send, 'e' edit, 'c' cancel (also on EOF). */
static int
draft_ask(int tty, const struct cli *c, size_t bodylen, size_t lines)
{
	char ans[64];
	ssize_t n;
	size_t i;

	dprintf(tty, "\n");
	for (i = 0; i < c->rcpts.n; i++)
		dprintf(tty, "To:      %s\n", c->rcpts.v[i]);
	for (i = 0; i < c->cc.n; i++)
		dprintf(tty, "Cc:      %s\n", c->cc.v[i]);
	for (i = 0; i < c->bcc.n; i++)
		dprintf(tty, "Bcc:     %s\n", c->bcc.v[i]);
	dprintf(tty, "Subject: %s\n", c->subject != NULL ? c->subject :
	    "(none)");
	for (i = 0; i < c->attach.n; i++)
		dprintf(tty, "Attach:  %s\n", c->attach.v[i]);
	dprintf(tty, "Body:    %zu line%s, %zu bytes\n", lines,
	    lines == 1 ? "" : "s", bodylen);
	for (;;) {
		dprintf(tty, "[s]end, [e]dit or [c]ancel? ");
		n = fsio_read_wait(tty, ans, sizeof(ans) - 1);
		if (n <= 0)
			return 'c';
		ans[n] = '\0';
		if (ans[0] == 's' || ans[0] == 'S' || ans[0] == 'y')
			return 's';
		if (ans[0] == 'e' || ans[0] == 'E')
			return 'e';
		if (ans[0] == 'c' || ans[0] == 'C' || ans[0] == 'q')
			return 'c';
	}
}

/* Drops leading "# posthorn: " lines (an earlier error) from text. */
static void
draft_drop_errors(struct buf *text)
{
	const char *nl;

	while (text->len > 12 && memcmp(text->data, "# posthorn: ", 12) ==
	    0 && (nl = memchr(text->data, '\n', text->len)) != NULL)
		buf_consume(text, (size_t)(nl - text->data) + 1);
}

/* Ends the editing with a line and an exit code: nothing is sent. */
static int
draft_stop(int *code, int status, const char *why)
{
	fprintf(stderr, "posthorn: %s; nothing was sent\n", why);
	*code = status;
	return 1;
}

/*
 * One round at the editor: text goes to a draft file, the editor runs on
 * it, back receives what it left there.  0; 1 with *code when the editor
 * failed; -1 with e set.
 */
static int
draft_round(const char *editor, const struct buf *text, struct buf *back,
    int *code, struct err *e)
{
	char *path;
	int status, saved, r;

	if ((path = draft_file(text, e)) == NULL)
		return -1;
	if (proc_run_attached(editor, path, &status) == -1) {
		saved = errno;
		(void)unlink(path);
		free(path);
		if (saved == EINTR)
			return err_set(e, ERR_IO, "interrupted while editing; "
			    "nothing was sent");
		return err_set(e, ERR_CONFIG, "cannot run the editor '%s': "
		    "%s", editor, strerror(saved));
	}
	buf_reset(back);
	r = fsio_read_file(path, back);
	saved = errno;
	(void)unlink(path);
	free(path);
	if (r == -1)
		return err_set(e, ERR_DATA, "cannot read the draft back: %s",
		    strerror(saved));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "posthorn: the editor '%s' failed; nothing "
		    "was sent\n", editor);
		*code = 65;
		return 1;
	}
	return 0;
}

/* 1 with *code when the person left nothing to send. */
static int
draft_nothing(const struct buf *text, struct buf *back, int *code)
{
	if (back->len == text->len && (back->len == 0 ||
	    memcmp(back->data, text->data, back->len) == 0))
		return draft_stop(code, 65, "the draft was not changed");
	/* An earlier error shown at the top is not the person's. */
	draft_drop_errors(back);
	if (draft_is_empty(back->data, back->len))
		return draft_stop(code, 65, "the draft is empty");
	return 0;
}

/* Parses and applies the draft: NULL, or what is wrong (malloc'd, and
   in e). */
static char *
draft_check(struct cli *c, const struct buf *back, struct draft *d,
    struct err *e)
{
	err_clear(e);
	if (draft_parse(back->data, back->len, d, e) == 0 &&
	    draft_apply(c, d, e) == 0) {
		free(c->body_file);
		c->body_file = NULL;
		if (compose_check(c, e) == 0)
			return NULL;
	}
	return xstrdup(e->text);
}

/* The body's lines, for the question at the terminal. */
static size_t
draft_body_lines(const struct buf *back, size_t off)
{
	size_t i, lines = 0;

	for (i = off; i < back->len; i++)
		lines += back->data[i] == '\n';
	if (back->len > off && back->data[back->len - 1] != '\n')
		lines++;
	return lines;
}

/* The body, from off in back, into a scratch file *body_fd. */
static int
draft_keep_body(const struct buf *back, size_t off, int *body_fd,
    struct err *e)
{
	if ((*body_fd = term_scratch(e)) == -1)
		return -1;
	if (fsio_write_all(*body_fd, back->data + off, back->len - off) ==
	    -1 || lseek(*body_fd, 0, SEEK_SET) == -1) {
		err_set(e, ERR_IO, "cannot keep the body: %s",
		    strerror(errno));
		close(*body_fd);
		*body_fd = -1;
		return -1;
	}
	return 0;
}

int
draft_edit(struct cli *c, const char *editor, int in, int *body_fd,
    int *code, struct err *e)
{
	struct buf text, back, body;
	struct draft d;
	char *error;
	int tty, r = -1, ans;

	*body_fd = -1;
	tty = draft_tty();
	buf_init(&text, DRAFT_MAX);
	buf_init(&back, DRAFT_MAX);
	buf_init(&body, DRAFT_MAX);
	if (draft_body(c, in, &body, e) == -1)
		goto out;
	if (draft_format(&text, c, NULL) == -1 ||
	    buf_add(&text, body.data, body.len) == -1) {
		err_set(e, ERR_DATA, "the draft is too long");
		goto out;
	}
	for (;;) {
		if ((r = draft_round(editor, &text, &back, code, e)) != 0 ||
		    (r = draft_nothing(&text, &back, code)) != 0)
			goto out;
		r = -1;
		error = draft_check(c, &back, &d, e);
		/* Next round (if any) edits what the person wrote, under
		   the error. */
		buf_reset(&text);
		if (error != NULL) {
			draft_release(&d);
			if (tty == -1) {
				free(error);
				goto out;	/* e says why */
			}
			(void)buf_printf(&text, "# posthorn: %s\n", error);
			free(error);
			if (buf_add(&text, back.data, back.len) == -1) {
				err_set(e, ERR_DATA, "the draft is too long");
				goto out;
			}
			continue;
		}
		if (buf_add(&text, back.data, back.len) == -1) {
			draft_release(&d);
			err_set(e, ERR_DATA, "the draft is too long");
			goto out;
		}
		ans = tty != -1 ? draft_ask(tty, c, back.len - d.body_off,
		    draft_body_lines(&back, d.body_off)) : 's';
		if (ans == 'e') {
			draft_release(&d);
			continue;
		}
		if (ans == 'c' || sig_caught)
			r = draft_stop(code, 130, "cancelled");
		else
			r = draft_keep_body(&back, d.body_off, body_fd, e);
		draft_release(&d);
		goto out;
	}
out:
	if (tty != -1)
		close(tty);
	buf_release(&text);
	buf_release(&back);
	buf_release(&body);
	return r;
}
