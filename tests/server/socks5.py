#!/usr/bin/env python3
"""socks5.py: a small SOCKS5 proxy (RFC 1928, RFC 1929) for tests.

    socks5.py --script FILE --state-dir DIR

FILE is JSON (or TOML when it does not end in .json).  The proxy listens
on 127.0.0.1 on a port the kernel picks, writes DIR/ports.json and prints
"READY {"port": N, "pid": P}" as smtpd.py does; it runs until SIGTERM.
It records, in smtpd.py's format (transcript.jsonl events, connections),
what each client asked for: the methods offered, the user/password
sub-negotiation (the user, and whether the password matched; never the
password), and the CONNECT target exactly as sent ("name smtp.example:25"
for a domain name, "ipv4 1.2.3.4:25" for an address), so that a test can
check that the client let the proxy resolve the name.  Every target is
relayed to `relay`, whatever was asked (or, with relay = "target",
to the 127.0.0.1 port asked for).

Script keys (all optional):
  relay = "127.0.0.1:PORT"   where every CONNECT goes (required unless
                             reply is not 0); "target": where it asks,
                             for a target on 127.0.0.1 only
  users = {"u": "pw"}        require user/password (method 2)
  reply = 0                  the CONNECT reply code (5: connection refused)
  close_after = N            close both sides after N bytes from the
                             client have been relayed (a proxy dying in
                             the middle of a TLS handshake)
  comment = "..."
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

try:
    import tomllib
except ImportError:  # pragma: no cover
    tomllib = None

KEYS = {"relay", "users", "reply", "close_after", "comment"}


class Recorder:
    def __init__(self, state):
        self.state = state
        self.lock = threading.Lock()
        self.conns = 0
        self.t0 = time.monotonic()
        self.f = open(os.path.join(state, "transcript.jsonl"), "a",
                      encoding="utf-8")

    def new_conn(self):
        with self.lock:
            self.conns += 1
            n = self.conns
            with open(os.path.join(self.state, "connections"), "w") as f:
                f.write("%d\n" % n)
            return n

    def event(self, conn, text):
        with self.lock:
            self.f.write(json.dumps({
                "conn": conn, "dir": "event", "tls": False, "turn": 0,
                "t": round(time.monotonic() - self.t0, 4),
                "text": text}) + "\n")
            self.f.flush()


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("client closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def pump(src, dst, limit, done):
    """Copy src to dst; with limit, stop after that many bytes."""
    n = 0
    try:
        while True:
            want = 65536 if limit is None else min(65536, limit - n)
            if want <= 0:
                break
            b = src.recv(want)
            if not b:
                break
            dst.sendall(b)
            n += len(b)
    except OSError:
        pass
    done.set()


def serve(c, n, script, rec):
    users = script.get("users")
    try:
        ver, nm = recv_exact(c, 2)
        methods = list(recv_exact(c, nm))
        rec.event(n, "socks greeting version %d methods %s" % (
            ver, ",".join(str(m) for m in methods)))
        if ver != 5:
            return
        if users:
            if 2 not in methods:
                c.sendall(b"\x05\xff")
                rec.event(n, "socks no acceptable method")
                return
            c.sendall(b"\x05\x02")
            v, ul = recv_exact(c, 2)
            user = recv_exact(c, ul).decode("latin-1")
            pl = recv_exact(c, 1)[0]
            pw = recv_exact(c, pl).decode("latin-1")
            ok = users.get(user) == pw
            rec.event(n, "socks auth version %d user=%s %s" % (
                v, user, "ok" if ok else "failed"))
            c.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        else:
            if 0 not in methods:
                c.sendall(b"\x05\xff")
                return
            c.sendall(b"\x05\x00")
        ver, cmd, rsv, atyp = recv_exact(c, 4)
        if atyp == 3:
            ln = recv_exact(c, 1)[0]
            target = "name " + recv_exact(c, ln).decode("latin-1")
        elif atyp == 1:
            target = "ipv4 " + socket.inet_ntop(socket.AF_INET,
                                                recv_exact(c, 4))
        elif atyp == 4:
            target = "ipv6 " + socket.inet_ntop(socket.AF_INET6,
                                                recv_exact(c, 16))
        else:
            rec.event(n, "socks bad address type %d" % atyp)
            return
        port = int.from_bytes(recv_exact(c, 2), "big")
        rec.event(n, "socks CONNECT %s:%d cmd %d" % (target, port, cmd))
        code = script.get("reply", 0)
        if code != 0:
            c.sendall(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
            rec.event(n, "socks refused with %d" % code)
            return
        if script["relay"] == "target":
            if target != "ipv4 127.0.0.1":
                c.sendall(bytes([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]))
                rec.event(n, "socks refused: not 127.0.0.1")
                return
            host, rport = "127.0.0.1", port
        else:
            host, _, rport = script["relay"].rpartition(":")
        up = socket.create_connection((host, int(rport)), timeout=10)
        up.settimeout(None)
        # The bound address: a name, to exercise the variable length.
        c.sendall(b"\x05\x00\x00\x03\x09localhost\x00\x00")
        rec.event(n, "socks relaying")
        done = threading.Event()
        limit = script.get("close_after")
        threading.Thread(target=pump, args=(c, up, limit, done),
                         daemon=True).start()
        threading.Thread(target=pump, args=(up, c, None, done),
                         daemon=True).start()
        done.wait()
        rec.event(n, "socks closing")
        up.close()
    except (EOFError, OSError) as e:
        rec.event(n, "socks error: %s" % e)
    finally:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        c.close()


def main():
    ap = argparse.ArgumentParser(description="SOCKS5 test proxy")
    ap.add_argument("--script", required=True)
    ap.add_argument("--state-dir", required=True)
    a = ap.parse_args()
    with open(a.script, "rb") as f:
        if a.script.endswith(".json"):
            script = json.load(f)
        else:
            script = tomllib.load(f)
    bad = set(script) - KEYS
    if bad:
        sys.exit("socks5.py: unknown key(s): %s" % ", ".join(sorted(bad)))
    if script.get("reply", 0) == 0 and "relay" not in script:
        sys.exit("socks5.py: relay is required")
    os.makedirs(a.state_dir, exist_ok=True)
    rec = Recorder(a.state_dir)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    port = ls.getsockname()[1]
    info = {"port": port, "pid": os.getpid()}
    with open(os.path.join(a.state_dir, "ports.json"), "w") as f:
        json.dump(info, f)
    stop = threading.Event()

    def on_term(signum, frame):
        stop.set()
        try:
            ls.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print("READY " + json.dumps(info), flush=True)
    while not stop.is_set():
        try:
            c, peer = ls.accept()
        except OSError:
            break
        n = rec.new_conn()
        rec.event(n, "connect from %r" % (peer,))
        threading.Thread(target=serve, args=(c, n, script, rec),
                         daemon=True).start()
    ls.close()
    time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
