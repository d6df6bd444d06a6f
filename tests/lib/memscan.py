#!/usr/bin/python3
"""memscan.py PID SECRET...: search a live process's memory for secrets.

Reads every readable mapping of PID through /proc/PID/mem (which needs
ptrace access: root, or the same user while the process is dumpable), in
chunks, leaving out mappings over 4 GiB (a sanitizer's shadow memory), and
looks for each SECRET as given, in base64, and for SECRET pairs given as
USER:PASSWORD in the AUTH PLAIN form (base64 of "\\0USER\\0PASSWORD").
Prints one line per hit (mapping and offset, never the secret) and exits
1 when there is one, 0 when there is none, 77 when the memory cannot be
read (the caller skips rather than passes).
"""

import base64
import sys

CHUNK = 16 << 20
MAP_MAX = 4 << 30


def needles(args):
    out = []
    for a in args:
        if a.startswith("plain:"):
            user, pw = a[6:].split(":", 1)
            raw = b"\0" + user.encode() + b"\0" + pw.encode()
            out.append(("AUTH PLAIN of %s" % user, base64.b64encode(raw)))
            continue
        raw = a.encode()
        out.append(("secret #%d" % len(out), raw))
        out.append(("secret #%d in base64" % (len(out) - 1),
                    base64.b64encode(raw).rstrip(b"=")))
    return out


def main():
    pid = int(sys.argv[1])
    look = needles(sys.argv[2:])
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
    except OSError as e:
        print("cannot read the memory of %d: %s" % (pid, e))
        return 77
    hits = scanned = skipped = 0
    longest = max(len(n) for _, n in look)
    for line in maps:
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        name = f[5] if len(f) > 5 else "[anon]"
        if "r" not in f[1] or name == "[vvar]" or name == "[vsyscall]":
            continue
        # AddressSanitizer reserves terabytes of shadow memory: it holds
        # poison bytes, not data, and reading it would take hours.
        if hi - lo > MAP_MAX:
            skipped += 1
            continue
        tail = b""
        for start in range(lo, hi, CHUNK):
            try:
                mem.seek(start)
                data = mem.read(min(CHUNK, hi - start))
            except (OSError, ValueError, OverflowError):
                tail = b""
                continue
            scanned += len(data)
            data = tail + data
            base = start - len(tail)
            for what, n in look:
                at = data.find(n)
                while at != -1:
                    print("%s at %s+0x%x (%s)" % (what, name,
                                                  base + at - lo, f[0]))
                    hits += 1
                    at = data.find(n, at + 1)
            # Keep less than a needle, so a hit across two chunks is
            # found once.
            tail = data[-(longest - 1):] if longest > 1 else b""
    if scanned == 0:
        print("nothing of %d could be read" % pid)
        return 77
    print("scanned %d bytes of %d (%d mapping(s) over %d GiB left out): "
          "%d hit(s)" % (scanned, pid, skipped, MAP_MAX >> 30, hits))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
