#!/usr/bin/python3
"""mimecheck: checks a delivered message against what went into it.

The message is parsed with the standard library's email package
(policy.default), an implementation independent of posthorn's, and
compared with the files and text given on the command line:

  mimecheck.py MESSAGE [checks...]

  --structure S    the MIME tree, e.g. "mixed(text/plain,application/pdf)"
                   or "alternative(text/plain,related(text/html,image/png))"
                   (multipart/ shortened to its subtype; leaves by type)
  --body FILE      the text/plain body (no file name) decodes to FILE
  --body-text T    ... to the text T
  --html FILE      the text/html part decodes to FILE
  --attach FILE    an attachment named after FILE decodes to FILE's bytes
                   (text/* compared with line ends made LF on both sides),
                   has Content-Disposition attachment and the type
                   `file --mime-type` gives (inode/x-empty: octet-stream)
  --attach-as FILE=NAME   the same for a part named NAME
  --type FILE=TYPE the type to expect for FILE instead of file(1)'s
  --inline FILE    an inline part for FILE: disposition inline,
                   Content-ID <NAME>, and the HTML says cid:NAME
  --subject T      the Subject decodes to T
  --from-name T    the From display name decodes to T
  --header N=V     header N decodes to V
  --absent N       no header N
  --seven-bit      every byte of the message is 7-bit
  --charset FILE=CS  the part for FILE (or "body") has charset CS
  --cte FILE=CTE   the part for FILE (or "body", "html") has that encoding
  --second-opinion also unpack with munpack and ripmime (when installed)
                   and find every --attach file among what they wrote
                   (text compared as these Unix tools write it: LF line
                   ends, one more at the end allowed)

Every line of the message must be at most 998 octets.  Exit status 0 when
every check passed, 1 (with one line per failure on stderr) otherwise.
Standard library only.
"""

import argparse
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile


def norm(b):
    return b.replace(b"\r\n", b"\n")


def loose(got, data):
    """Text as a Unix tool writes it: LF line ends (munpack drops a lone
    CR), and ripmime keeps the line end that belongs to the delimiter after
    a part."""
    g = norm(got).replace(b"\r", b"")
    d = norm(data).replace(b"\r", b"")
    return g == d or g == d + b"\n"


def file_type(path):
    try:
        out = subprocess.run(["file", "-b", "--mime-type", path],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    t = out.decode().strip()
    if t.startswith("inode/") or t == "application/x-empty":
        return "application/octet-stream"
    return t


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_subtype(), ",".join(
            structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def payload(part):
    data = part.get_payload(decode=True)
    return data if data is not None else b""


def same_content(part, data):
    got = payload(part)
    if part.get_content_maintype() == "text":
        return norm(got) == norm(data)
    return got == data


def kv(s, what):
    if "=" not in s:
        raise SystemExit("mimecheck: %s needs NAME=VALUE: %r" % (what, s))
    return s.split("=", 1)


class Checker:
    def __init__(self, raw, msg):
        self.raw = raw
        self.msg = msg
        self.fail = []

    def err(self, text):
        self.fail.append(text)

    def by_name(self, name):
        found = [p for p in leaves(self.msg) if p.get_filename() == name]
        if not found:
            self.err("no part named %r (names: %r)" % (
                name, [p.get_filename() for p in leaves(self.msg)]))
            return None
        if len(found) > 1:
            self.err("%d parts named %r" % (len(found), name))
        return found[0]

    def body_part(self):
        for p in leaves(self.msg):
            if (p.get_content_type() == "text/plain"
                    and p.get_filename() is None
                    and p.get_content_disposition() != "attachment"):
                return p
        self.err("no text/plain body part")
        return None

    def html_part(self):
        for p in leaves(self.msg):
            if p.get_content_type() == "text/html" and not p.get_filename():
                return p
        self.err("no text/html part")
        return None

    def part_for(self, what):
        if what == "body":
            return self.body_part()
        if what == "html":
            return self.html_part()
        return self.by_name(os.path.basename(what))

    def lines(self):
        for i, line in enumerate(self.raw.split(b"\n"), 1):
            if len(line.rstrip(b"\r")) > 998:
                self.err("line %d is %d octets long" % (
                    i, len(line.rstrip(b"\r"))))
                return

    def seven_bit(self):
        for i, c in enumerate(self.raw):
            if c >= 0x80:
                self.err("byte %d is 8-bit (0x%02x)" % (i, c))
                return

    def attach(self, path, name, types, disposition="attachment"):
        with open(path, "rb") as f:
            data = f.read()
        p = self.by_name(name)
        if p is None:
            return
        if not same_content(p, data):
            self.err("%s: content differs (sha256 %s, file %s)" % (
                name, hashlib.sha256(payload(p)).hexdigest()[:16],
                hashlib.sha256(data).hexdigest()[:16]))
        want = types.get(path) or file_type(path)
        if want is not None and p.get_content_type() != want:
            self.err("%s: type %s, file(1) says %s" % (
                name, p.get_content_type(), want))
        if p.get_content_disposition() != disposition:
            self.err("%s: disposition %r, expected %r" % (
                name, p.get_content_disposition(), disposition))
        return p

    def inline(self, path, types):
        name = os.path.basename(path)
        p = self.attach(path, name, types, "inline")
        if p is None:
            return
        cid = p.get("Content-ID")
        if cid is None or str(cid).strip() != "<%s>" % name:
            self.err("%s: Content-ID %r, expected <%s>" % (name, cid, name))
        h = self.html_part()
        if h is not None and ("cid:" + name).encode() not in payload(h):
            self.err("the HTML does not refer to cid:%s" % name)

    def second_opinion(self, files):
        for tool, argv in (("munpack", ["munpack", "-q", "-t", "-C"]),
                           ("ripmime", None)):
            if shutil.which(tool) is None:
                continue
            d = tempfile.mkdtemp(prefix="mimecheck-")
            try:
                # As a Unix mailbox holds it: these tools expect LF.
                mpath = os.path.join(d, "message.eml")
                with open(mpath, "wb") as f:
                    f.write(self.raw.replace(b"\r\n", b"\n"))
                out = os.path.join(d, "out")
                os.mkdir(out)
                if tool == "munpack":
                    cmd = argv + [out, mpath]
                else:
                    cmd = ["ripmime", "-i", mpath, "-d", out,
                           "--no-nameless"]
                r = subprocess.run(cmd, capture_output=True,
                                   stdin=subprocess.DEVNULL, timeout=60)
                got = []
                for root, _, names in os.walk(out):
                    for n in names:
                        with open(os.path.join(root, n), "rb") as f:
                            got.append(f.read())
                for path in files:
                    with open(path, "rb") as f:
                        data = f.read()
                    if not data:
                        continue    # tools write no file for nothing
                    text = (file_type(path) or "").startswith("text/")
                    if not any(g == data or (text and loose(g, data))
                               for g in got):
                        self.err("%s: no file it wrote matches %s "
                                 "(exit %d, %d files)" % (
                                     tool, path, r.returncode, len(got)))
            finally:
                shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("message")
    ap.add_argument("--structure")
    ap.add_argument("--body")
    ap.add_argument("--body-text")
    ap.add_argument("--html")
    ap.add_argument("--attach", action="append", default=[])
    ap.add_argument("--attach-as", action="append", default=[])
    ap.add_argument("--type", action="append", default=[])
    ap.add_argument("--inline", action="append", default=[])
    ap.add_argument("--subject")
    ap.add_argument("--from-name")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--absent", action="append", default=[])
    ap.add_argument("--charset", action="append", default=[])
    ap.add_argument("--cte", action="append", default=[])
    ap.add_argument("--seven-bit", action="store_true")
    ap.add_argument("--second-opinion", action="store_true")
    a = ap.parse_args()

    with open(a.message, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    c = Checker(raw, msg)
    c.lines()
    if msg.defects:
        c.err("message defects: %r" % msg.defects)
    for p in msg.walk():
        if p is not msg and p.defects:
            c.err("part %s defects: %r" % (p.get_content_type(), p.defects))
    if a.seven_bit:
        c.seven_bit()
    if a.structure is not None and structure(msg) != a.structure:
        c.err("structure %s, expected %s" % (structure(msg), a.structure))
    types = dict(kv(t, "--type") for t in a.type)
    if a.body is not None or a.body_text is not None:
        p = c.body_part()
        if p is not None:
            if a.body is not None:
                with open(a.body, "rb") as f:
                    want = f.read()
            else:
                want = a.body_text.encode()
            if not same_content(p, want):
                c.err("body is %r, expected %r" % (payload(p)[:200],
                                                   want[:200]))
    if a.html is not None:
        p = c.html_part()
        with open(a.html, "rb") as f:
            want = f.read()
        if p is not None and not same_content(p, want):
            c.err("HTML part differs from %s" % a.html)
    files = []
    for path in a.attach:
        c.attach(path, os.path.basename(path), types)
        files.append(path)
    for spec in a.attach_as:
        path, name = kv(spec, "--attach-as")
        c.attach(path, name, types)
        files.append(path)
    for path in a.inline:
        c.inline(path, types)
    for spec, key in [(s, "charset") for s in a.charset] + \
            [(s, "cte") for s in a.cte]:
        what, want = kv(spec, "--" + key)
        p = c.part_for(what)
        if p is None:
            continue
        got = (p.get_content_charset() if key == "charset" else
               str(p.get("Content-Transfer-Encoding", "7bit")).lower())
        if got != want:
            c.err("%s: %s %r, expected %r" % (what, key, got, want))
    if a.subject is not None and str(msg.get("subject")) != a.subject:
        c.err("Subject is %r, expected %r" % (str(msg.get("subject")),
                                              a.subject))
    if a.from_name is not None:
        f = msg.get("from")
        got = f.addresses[0].display_name if f is not None else None
        if got != a.from_name:
            c.err("From display name is %r, expected %r" % (got,
                                                            a.from_name))
    for spec in a.header:
        name, want = kv(spec, "--header")
        got = msg.get_all(name)
        if not got or str(got[0]) != want:
            c.err("%s is %r, expected %r" % (
                name, [str(g) for g in got or []], want))
    for name in a.absent:
        if msg.get_all(name):
            c.err("header %s is present" % name)
    if a.second_opinion:
        c.second_opinion(files)
    for line in c.fail:
        print("mimecheck: " + line, file=sys.stderr)
    return 1 if c.fail else 0


if __name__ == "__main__":
    sys.exit(main())
