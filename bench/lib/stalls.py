"""Where a mail client waits on the network: runs it once under strace -T
and lists every read or poll on its TCP socket that blocked longer than a
threshold, with the writes the client made since it last received data.

    python3 bench/lib/stalls.py [--ms 15] [--stdin FILE] -- CLIENT ARGS...

A wait of about 40 ms right after small writes is Nagle's algorithm
meeting a delayed ACK (Linux's minimum delayed-ACK time is 40 ms): the
client's second small write waits for the ACK of its first, or the
server's second small reply (Postfix does not set TCP_NODELAY) waits for
the client's ACK of its first, which the client's kernel delays because
the client has nothing to send.  A wait after a large write (the message)
is mostly the server queueing it.  Needs strace; standard library only.
"""

import os
import re
import subprocess
import sys
import tempfile

CALLS = "sendto,sendmsg,write,recvfrom,recvmsg,read,poll,ppoll,select," \
        "pselect6,connect"
LINE = re.compile(r"^\d+\s+(\S+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+).*?"
                  r"(?:<([\d.]+)>)?\s*$")
WRITES = ("sendto", "sendmsg", "write")
READS = ("recvfrom", "recvmsg", "read")


def parse(path, threshold):
    """(time, seconds waited, [octets of each write since the client last
    waited], octets read since the last write) for every wait on the
    first AF_INET/AF_INET6 socket the client connected."""
    sock = None
    writes = []
    got = 0
    out = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            when, call, args, ret, dur = m.groups()
            ret = int(ret)
            dur = float(dur) if dur else 0.0
            if call == "connect":
                if sock is None and "AF_INET" in args:
                    sock = args.split(",", 1)[0]
                continue
            if sock is None:
                continue
            fd = re.match(r"\[\{fd=(\d+)|(\d+)", args)
            if not fd or (fd.group(1) or fd.group(2)) != sock:
                continue
            if call in WRITES and ret > 0:
                if got:
                    writes, got = [], 0
                writes.append(ret)
            elif dur >= threshold:
                out.append((when, dur, list(writes), got))
            if call in READS and ret > 0:
                got += ret
    return out


def stalls(argv, stdin_path=None, threshold=0.015, env=None):
    with tempfile.NamedTemporaryFile(prefix="stalls.", suffix=".strace") \
            as tmp:
        fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            r = subprocess.run(["strace", "-f", "-tt", "-T", "-e",
                                "trace=" + CALLS, "-o", tmp.name] + argv,
                               stdin=fin, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env)
        finally:
            if stdin_path:
                fin.close()
        return r.returncode, parse(tmp.name, threshold)


def describe(waits):
    lines = []
    for when, dur, writes, got in waits:
        what = "after %d write(s) of %s octets" % (
            len(writes), "+".join(str(w) for w in writes[:8]) +
            ("+..." if len(writes) > 8 else "")) if writes else \
            "before any write"
        if got:
            what += ", then %d octets read (waiting for more)" % got
        lines.append("%s  waited %6.1f ms  %s" % (when, dur * 1000, what))
    return lines


def main(argv):
    threshold = 0.015
    stdin_path = None
    args = list(argv)
    while args and args[0] != "--":
        if args[0] == "--ms" and len(args) > 1:
            threshold = float(args[1]) / 1000.0
            del args[:2]
        elif args[0] == "--stdin" and len(args) > 1:
            stdin_path = args[1]
            del args[:2]
        else:
            break
    if not args or args[0] != "--" or len(args) < 2:
        sys.stderr.write("usage: stalls.py [--ms N] [--stdin FILE] -- "
                         "CLIENT ARGS...\n")
        return 2
    rc, waits = stalls(args[1:], stdin_path, threshold, dict(os.environ))
    for line in describe(waits):
        print(line)
    print("client exit %d; %d wait(s) of %g ms or more"
          % (rc, len(waits), threshold * 1000))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
