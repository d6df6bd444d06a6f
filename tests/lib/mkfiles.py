#!/usr/bin/python3
"""mkfiles: small real files for the compose tests.

  mkfiles.py KIND PATH [KIND PATH ...]

KIND is one of:
  pdf        a valid one-page PDF (a few hundred bytes)
  png, png2  valid 16x16 PNG images (two different ones)
  random:N   N pseudo-random bytes (the same every run)
  longline:N text with a line of N characters between two short lines
  utf8       UTF-8 text (accents, Cyrillic, an emoji)
  latin1     ISO-8859-1 text
  crlf       ASCII text with CRLF line ends
  nonl       ASCII text without a final newline
  boundary   ASCII text with lines that start with "--=_" and "From "
  bare-cr    text with a CR that is not part of a line end
  empty      no bytes
  one        one byte
Standard library only.
"""

import random
import struct
import sys
import zlib


def pdf():
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 18 Tf 20 40 Td (Q3 report) Tj ET"
    objs[3] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream),
                                                          stream)
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref))
    return out


def png(seed):
    w = h = 16
    rows = b""
    for y in range(h):
        rows += b"\0" + bytes(
            (x * 16 + seed * 40) % 256 if c == 0 else
            (y * 16) % 256 if c == 1 else (seed * 90 + x * y) % 256
            for x in range(w) for c in range(3))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def make(kind):
    if kind == "pdf":
        return pdf()
    if kind == "png":
        return png(1)
    if kind == "png2":
        return png(2)
    if kind.startswith("random:"):
        return random.Random(7).randbytes(int(kind[7:]))
    if kind.startswith("longline:"):
        n = int(kind[9:])
        line = "".join("abcdefghij"[i % 10] if i % 11 else " "
                       for i in range(n))
        return ("first line\n%s\nlast line\n" % line).encode()
    if kind == "utf8":
        return ("Grüße aus Köln, naïve café.\n"
                "Привет, мир!\n"
                "Emoji: \U0001F4EC done.\n").encode("utf-8")
    if kind == "latin1":
        return ("Grüße aus Köln, naïve café, señor.\n"
                "Plain line.\n").encode("latin-1")
    if kind == "crlf":
        return b"line one\r\nline two\r\n\r\nline four\r\n"
    if kind == "nonl":
        return b"no newline at the end"
    if kind == "boundary":
        return (b"--=_not really a boundary\n"
                b"From the start of a line\n"
                b"-- \nsignature\n.\n")
    if kind == "bare-cr":
        return b"progress 10%\rprogress 100%\ndone\n"
    if kind == "empty":
        return b""
    if kind == "one":
        return b"x"
    raise SystemExit("mkfiles: unknown kind %r" % kind)


def main(argv):
    if len(argv) % 2 != 0 or not argv:
        raise SystemExit("usage: mkfiles.py KIND PATH [KIND PATH ...]")
    for kind, path in zip(argv[0::2], argv[1::2]):
        with open(path, "wb") as f:
            f.write(make(kind))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
