#!/usr/bin/python3
"""Scripted SMTP server for posthorn's end-to-end tests.

The server plays whatever part a test script gives it: a well-behaved
submission server (STARTTLS or implicit TLS, AUTH PLAIN/LOGIN/CRAM-MD5,
SCRAM-SHA-1/256 and their -PLUS forms, XOAUTH2, OAUTHBEARER, EXTERNAL,
PIPELINING, CHUNKING), or a broken one (any reply at any stage, per
connection; dropped connections, stalls, malformed replies, the STARTTLS
response injection).  It records everything it sees in a state directory
so that a test can check the dialogue afterwards.  tests/server/README
describes the script format and the records; standard library only.

Usage: smtpd.py --script FILE --state-dir DIR
FILE is TOML, or JSON when its name ends in .json.  Once listening, the
server writes DIR/ports.json and prints one line "READY {json}" on
standard output; it runs until SIGTERM or SIGINT.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import select
import selectors
import signal
import socket
import ssl
import sys
import threading
import time
import tomllib

STAGES = (
    "greeting", "ehlo", "helo", "starttls", "auth", "auth_done", "mail",
    "rcpt", "data", "body", "data_end", "bdat", "rset", "noop", "vrfy",
    "quit", "unknown",
)
ACTIONS = ("close", "stall", "continue")
VERBS = {
    "EHLO": "ehlo", "HELO": "helo", "STARTTLS": "starttls", "AUTH": "auth",
    "MAIL": "mail", "RCPT": "rcpt", "DATA": "data", "BDAT": "bdat",
    "RSET": "rset", "NOOP": "noop", "VRFY": "vrfy", "QUIT": "quit",
}
TLS_VERSIONS = {
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
BODY_TRANSCRIPT_CAP = 256 * 1024
MESSAGE_CAP = 256 * 1024 * 1024
SHUTDOWN_GRACE = 3.0


class ScriptError(Exception):
    """The script is malformed; the server refuses to start."""


class ClientGone(Exception):
    """The client closed the connection or the socket failed."""


class ServerClose(Exception):
    """A rule (or QUIT) told the server to close the connection."""


class Shutdown(Exception):
    """SIGTERM or SIGINT arrived."""


# ------------------------------------------------------------- script

def to_bytes(value, what):
    """A raw byte string from the script: a string (each character one
    byte, so "\\u00ff" is byte 0xff), or a list whose items are strings or
    {repeat = "x", count = N} tables, concatenated."""
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise ScriptError("%s: character above \\u00ff in raw bytes"
                              % what)
    if isinstance(value, list):
        out = b""
        for item in value:
            if isinstance(item, dict):
                extra = set(item) - {"repeat", "count"}
                if extra or "repeat" not in item or "count" not in item:
                    raise ScriptError("%s: a list item must be a string or "
                                      "{repeat, count}" % what)
                out += to_bytes(item["repeat"], what) * int(item["count"])
            else:
                out += to_bytes(item, what)
        return out
    raise ScriptError("%s: expected a string or a list" % what)


def reply_bytes(text, what):
    """A reply from the script: lines separated by "\\n", each sent with
    CRLF.  The text is sent as given, however malformed."""
    if not isinstance(text, str):
        raise ScriptError("%s: reply must be a string" % what)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return b"".join(to_bytes(l, what) + b"\r\n" for l in lines)


def int_set(value, what):
    if value is None:
        return None
    if isinstance(value, int):
        return {value}
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return set(value)
    raise ScriptError("%s: expected an integer or a list of integers" % what)


class Rule:
    KEYS = {"on", "conn", "nth", "tls", "arg", "addr", "times", "reply",
            "raw", "extra", "delay_ms", "trickle_ms", "action",
            "after_bytes", "handshake", "comment"}

    def __init__(self, d, index):
        what = "rules[%d]" % index
        if not isinstance(d, dict):
            raise ScriptError("%s: must be a table" % what)
        unknown = set(d) - self.KEYS
        if unknown:
            raise ScriptError("%s: unknown key(s) %s" % (
                what, ", ".join(sorted(unknown))))
        self.on = d.get("on")
        if self.on not in STAGES:
            raise ScriptError("%s: 'on' must be one of %s" % (
                what, ", ".join(STAGES)))
        self.conn = int_set(d.get("conn"), what + ".conn")
        self.nth = int_set(d.get("nth"), what + ".nth")
        self.tls = d.get("tls")
        self.arg = re.compile(d["arg"], re.I) if "arg" in d else None
        self.addr = d["addr"].lower() if "addr" in d else None
        self.times = d.get("times")
        self.reply = (reply_bytes(d["reply"], what + ".reply")
                      if "reply" in d else None)
        self.raw = to_bytes(d["raw"], what + ".raw") if "raw" in d else None
        if self.reply is not None and self.raw is not None:
            raise ScriptError("%s: give reply or raw, not both" % what)
        self.extra = (to_bytes(d["extra"], what + ".extra")
                      if "extra" in d else None)
        self.delay_ms = int(d.get("delay_ms", 0))
        self.trickle_ms = int(d.get("trickle_ms", 0))
        if self.trickle_ms < 0:
            raise ScriptError("%s: trickle_ms must not be negative" % what)
        self.action = d.get("action", "continue")
        if self.action not in ACTIONS:
            raise ScriptError("%s: action must be one of %s" % (
                what, ", ".join(ACTIONS)))
        self.after_bytes = d.get("after_bytes")
        if self.after_bytes is not None and self.on != "body":
            raise ScriptError("%s: after_bytes is for on = \"body\"" % what)
        if (self.on == "body" and self.action == "continue"
                and self.reply is None and self.raw is None):
            raise ScriptError("%s: a body rule needs a reply, or action "
                              "close or stall" % what)
        self.handshake = d.get("handshake")
        self.fired = 0
        self.index = index

    def matches(self, stage, conn, nth, tls, arg, addr):
        if self.on != stage:
            return False
        if self.conn is not None and conn not in self.conn:
            return False
        if self.nth is not None and nth not in self.nth:
            return False
        if self.tls is not None and bool(self.tls) != tls:
            return False
        if self.arg is not None and not self.arg.search(arg or ""):
            return False
        if self.addr is not None and (addr or "").lower() != self.addr:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        return True

    @property
    def has_response(self):
        return (self.reply is not None or self.raw is not None
                or self.action != "continue")


class Script:
    KEYS = {"hostname", "ipv4", "ipv6", "tls", "cert", "key", "client_cert",
            "client_ca", "tls_min_version", "tls_max_version", "ehlo",
            "ehlo_tls", "users", "require_auth", "require_tls",
            "concurrent", "greeting", "rules", "max_line", "turn_grace_ms",
            "tls_turns", "scram_final", "scram_iterations", "rcvbuf", "port",
            "unix", "lmtp", "oauth_tokens", "comment"}

    def __init__(self, d):
        unknown = set(d) - self.KEYS
        if unknown:
            raise ScriptError("unknown key(s) %s" % ", ".join(sorted(unknown)))
        self.hostname = d.get("hostname", "localhost")
        self.ipv4 = d.get("ipv4", True)
        self.ipv6 = d.get("ipv6", False)
        if not self.ipv4 and not self.ipv6:
            raise ScriptError("ipv4 and ipv6 both off: nothing to listen on")
        self.tls = d.get("tls", "none")
        if self.tls not in ("none", "starttls", "implicit"):
            raise ScriptError("tls must be none, starttls or implicit")
        self.cert = d.get("cert")
        self.key = d.get("key")
        self.client_cert = d.get("client_cert", "none")
        if self.client_cert not in ("none", "optional", "require"):
            raise ScriptError("client_cert must be none, optional or "
                              "require")
        self.client_ca = d.get("client_ca")
        self.ctx = None
        if self.tls != "none":
            if not self.cert or not self.key:
                raise ScriptError("tls = %s needs cert and key" % self.tls)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert, self.key)
            for k, attr in (("tls_min_version", "minimum_version"),
                            ("tls_max_version", "maximum_version")):
                if k in d:
                    if d[k] not in TLS_VERSIONS:
                        raise ScriptError("%s must be one of %s" % (
                            k, ", ".join(TLS_VERSIONS)))
                    setattr(ctx, attr, TLS_VERSIONS[d[k]])
            if self.client_cert != "none":
                if not self.client_ca:
                    raise ScriptError("client_cert needs client_ca")
                ctx.load_verify_locations(self.client_ca)
                ctx.verify_mode = (ssl.CERT_REQUIRED
                                   if self.client_cert == "require"
                                   else ssl.CERT_OPTIONAL)
            self.ctx = ctx
        default_ehlo = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"]
        if self.tls == "starttls":
            default_ehlo.append("STARTTLS")
        self.ehlo = d.get("ehlo", default_ehlo)
        self.ehlo_tls = d.get("ehlo_tls", [k for k in self.ehlo
                                           if k.upper() != "STARTTLS"])
        for k in ("ehlo", "ehlo_tls"):
            v = getattr(self, k)
            if not isinstance(v, list) or not all(isinstance(x, str)
                                                  for x in v):
                raise ScriptError("%s must be a list of strings" % k)
        self.users = d.get("users", {})
        if not isinstance(self.users, dict):
            raise ScriptError("users must be a table of user = password")
        # XOAUTH2 / OAUTHBEARER check tokens against this file of tokens
        # the mock authorization server (oauthd.py) issued, instead of
        # users: accepted only when issued for the user and not expired.
        self.oauth_tokens = d.get("oauth_tokens")
        self.require_auth = bool(d.get("require_auth", False))
        self.require_tls = bool(d.get("require_tls", False))
        self.concurrent = bool(d.get("concurrent", True))
        self.greeting = reply_bytes(
            d.get("greeting", "220 %s ESMTP posthorn-test" % self.hostname),
            "greeting")
        self.max_line = int(d.get("max_line", 65536))
        self.turn_grace_ms = int(d.get("turn_grace_ms", 0))
        self.lmtp = bool(d.get("lmtp", False))
        self.unix = d.get("unix")
        if self.unix is not None and not isinstance(self.unix, str):
            raise ScriptError("unix must be a path")
        self.rcvbuf = int(d.get("rcvbuf", 0))
        self.port = int(d.get("port", 0))
        if self.rcvbuf < 0:
            raise ScriptError("rcvbuf must not be negative")
        self.tls_turns = bool(d.get("tls_turns", False))
        self.scram_final = d.get("scram_final", "verify")
        if self.scram_final not in ("verify", "skip", "wrong", "e"):
            raise ScriptError("scram_final must be verify, skip, wrong "
                              "or e")
        self.scram_iterations = d.get("scram_iterations", SCRAM_ITERATIONS)
        if not isinstance(self.scram_iterations, int) or \
                self.scram_iterations < 1:
            raise ScriptError("scram_iterations must be a positive integer")
        rules = d.get("rules", [])
        if not isinstance(rules, list):
            raise ScriptError("rules must be an array of tables")
        self.rules = [Rule(r, i) for i, r in enumerate(rules)]
        self.lock = threading.Lock()

    def find_rule(self, stage, conn, nth, tls, arg=None, addr=None):
        """The first rule that matches; counts its firing."""
        with self.lock:
            for r in self.rules:
                if r.matches(stage, conn, nth, tls, arg, addr):
                    r.fired += 1
                    return r
        return None


def load_script(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".json"):
        d = json.loads(data)
    else:
        d = tomllib.loads(data.decode("utf-8"))
    return Script(d)


# ------------------------------------------------------------- records

class Recorder:
    """Everything the server writes to its state directory.  Every record
    is flushed when it is made, so a killed server leaves a usable one."""

    def __init__(self, state_dir):
        self.dir = state_dir
        self.msgdir = os.path.join(state_dir, "messages")
        os.makedirs(self.msgdir, exist_ok=True)
        self.lock = threading.Lock()
        self.transcript = open(os.path.join(state_dir, "transcript.jsonl"),
                               "a", encoding="utf-8")
        self.sessions = open(os.path.join(state_dir, "sessions.jsonl"),
                             "a", encoding="utf-8")
        self.nconn = 0
        self.nmsg = 0
        self.t0 = time.monotonic()

    def _atomic(self, name, data):
        tmp = os.path.join(self.dir, "." + os.path.basename(name) + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, name)

    def new_conn(self):
        with self.lock:
            self.nconn += 1
            n = self.nconn
            self._atomic(os.path.join(self.dir, "connections"),
                         b"%d\n" % n)
        return n

    def entry(self, conn, kind, tls, turn, text):
        e = {"conn": conn, "dir": kind, "tls": tls, "turn": turn,
             "t": round(time.monotonic() - self.t0, 4), "text": text}
        with self.lock:
            self.transcript.write(json.dumps(e) + "\n")
            self.transcript.flush()

    def session_end(self, info):
        with self.lock:
            self.sessions.write(json.dumps(info) + "\n")
            self.sessions.flush()

    def message(self, meta, raw, unstuffed):
        """Store one received message: NNNNNN.raw (wire bytes), .eml
        (unstuffed), then .json (envelope) last, each by rename."""
        with self.lock:
            self.nmsg += 1
            n = self.nmsg
        base = os.path.join(self.msgdir, "%06d" % n)
        meta = dict(meta, id=n, raw_file=os.path.basename(base) + ".raw",
                    eml_file=os.path.basename(base) + ".eml",
                    raw_size=len(raw), size=len(unstuffed))
        self._atomic(base + ".raw", bytes(raw))
        self._atomic(base + ".eml", bytes(unstuffed))
        self._atomic(base + ".json",
                     (json.dumps(meta, indent=1) + "\n").encode())
        return n


# ------------------------------------------------------------- SASL
#
# A mechanism is a generator function mech(session, initial) where initial
# is the decoded initial response (bytes) or None.  It yields each
# challenge (bytes, sent base64-encoded after "334 ") and receives the
# client's decoded answer; it returns (ok, user).  A new mechanism is one
# more generator in MECHS.

def mech_plain(s, initial):
    resp = initial if initial is not None else (yield b"")
    parts = resp.split(b"\0")
    if len(parts) != 3:
        return False, None
    user = parts[1].decode("utf-8", "replace")
    return s.check_password(user, parts[2]), user


def mech_login(s, initial):
    user = initial if initial is not None else (yield b"Username:")
    pw = yield b"Password:"
    user = user.decode("utf-8", "replace")
    return s.check_password(user, pw), user


def mech_cram_md5(s, initial):
    if initial is not None:
        return False, None
    challenge = ("<%d.%d@%s>" % (os.getpid(), time.time_ns(),
                                 s.script.hostname)).encode()
    resp = yield challenge
    try:
        user, digest = resp.decode("utf-8").rsplit(" ", 1)
    except (UnicodeDecodeError, ValueError):
        return False, None
    pw = s.script.users.get(user)
    if pw is None:
        return False, user
    want = hmac.new(pw.encode(), challenge, hashlib.md5).hexdigest()
    return hmac.compare_digest(want, digest.lower()), user


SCRAM_ITERATIONS = 4096


def scram_attrs(text):
    """A SCRAM message "a=x,b=y" as a dict; None when an item is not
    "letter=value"."""
    out = {}
    for item in text.split(","):
        if len(item) < 2 or item[1] != "=":
            return None
        out[item[0]] = item[2:]
    return out


def mech_scram(hashname, plus):
    """SCRAM-SHA-1/256 (RFC 5802, 7677) and the -PLUS forms with channel
    binding: tls-unique over TLS 1.2, tls-exporter (RFC 9266) over TLS 1.3.
    The script's scram_final says what the server does after a valid
    proof: "verify" sends v= and waits for the empty answer, "skip" answers
    235 at once, "wrong" sends a wrong server signature; with "e" a wrong
    proof gets a 334 with RFC 5802's "e=invalid-proof" before the 535."""
    def h(data):
        return hashlib.new(hashname, data).digest()

    def mac(key, data):
        return hmac.new(key, data, hashname).digest()

    def mech(s, initial):
        first = initial if initial is not None else (yield b"")
        try:
            first = first.decode("utf-8")
            flag, _authzid, bare = first.split(",", 2)
        except (UnicodeDecodeError, ValueError):
            return False, None
        gs2 = first[:len(first) - len(bare)]
        s.event("scram gs2 header %r" % gs2)
        attrs = scram_attrs(bare)
        if attrs is None or "n" not in attrs or "r" not in attrs \
                or "m" in attrs or not bare.startswith("n="):
            return False, None
        user = attrs["n"].replace("=2C", ",").replace("=3D", "=")
        cbdata = b""
        if plus:
            if not flag.startswith("p="):
                return False, user
            cbdata = s.channel_binding(flag[2:])
            if cbdata is None:
                s.event("scram: no %s channel binding here" % flag[2:])
                return False, user
        elif flag == "y":
            # The client could bind but thinks the server cannot: if
            # this server offers a -PLUS mechanism, that is a downgrade.
            if any(m.endswith("-PLUS") for m in s.offered_mechs()):
                s.event("scram: 'y' flag while -PLUS is offered")
                return False, user
        elif flag != "n":
            return False, user
        pw = s.script.users.get(user)
        salt = hashlib.sha256(user.encode() + b"salt").digest()[:16]
        snonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
        server_first = "r=%s,s=%s,i=%d" % (
            snonce, base64.b64encode(salt).decode(),
            s.script.scram_iterations)
        final = yield server_first.encode()
        try:
            final = final.decode("utf-8")
        except UnicodeDecodeError:
            return False, user
        cut = final.rfind(",p=")
        fattrs = scram_attrs(final)
        if cut < 0 or fattrs is None or "c" not in fattrs \
                or fattrs.get("r") != snonce:
            return False, user
        try:
            cbind = base64.b64decode(fattrs["c"], validate=True)
        except (binascii.Error, ValueError):
            return False, user
        if cbind != gs2.encode() + cbdata:
            s.event("scram: channel binding data does not match")
            return False, user
        if pw is None:
            return False, user
        salted = hashlib.pbkdf2_hmac(hashname, pw.encode("utf-8"), salt,
                                     s.script.scram_iterations)
        auth_msg = ",".join((bare, server_first, final[:cut])).encode()
        client_key = mac(salted, b"Client Key")
        sig = mac(h(client_key), auth_msg)
        try:
            proof = base64.b64decode(fattrs["p"], validate=True)
        except (binascii.Error, ValueError):
            return False, user
        if len(proof) != len(sig) or not hmac.compare_digest(
                h(bytes(a ^ b for a, b in zip(proof, sig))),
                h(client_key)):
            if s.script.scram_final == "e":
                yield b"e=invalid-proof"
            return False, user
        mode = s.script.scram_final
        if mode == "skip":
            return True, user
        server_sig = mac(mac(salted, b"Server Key"), auth_msg)
        if mode == "wrong":
            server_sig = bytes(b ^ 0x55 for b in server_sig)
        answer = yield b"v=" + base64.b64encode(server_sig)
        return answer == b"", user
    return mech


def oauth_error(s, mech, answer):
    """After a refused token the server sent its JSON error in a 334;
    the client's answer is recorded (RFC 7628 wants a single ^A for
    OAUTHBEARER; Gmail takes an empty one for XOAUTH2)."""
    s.event("%s: client answered the error with %r" % (mech, answer))
    return False


def mech_xoauth2(s, initial):
    """Gmail's XOAUTH2: "user=U^Aauth=Bearer T^A^A".  The token is the
    user's password in the script."""
    resp = initial if initial is not None else (yield b"")
    fields = resp.split(b"\x01")
    kv = dict(f.split(b"=", 1) for f in fields if b"=" in f)
    user = kv.get(b"user", b"").decode("utf-8", "replace")
    auth = kv.get(b"auth", b"")
    ok = (fields[-2:] == [b"", b""] and auth.startswith(b"Bearer ")
          and s.check_token(user, auth[7:]))
    if not ok:
        answer = yield json.dumps({
            "status": "400", "schemes": "Bearer",
            "scope": "https://mail.google.com/"}).encode()
        return oauth_error(s, "XOAUTH2", answer), user
    return True, user


def mech_oauthbearer(s, initial):
    """RFC 7628: "n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A"."""
    resp = initial if initial is not None else (yield b"")
    head, _, rest = resp.partition(b"\x01")
    parts = head.split(b",")
    user = ""
    if len(parts) == 3 and parts[1].startswith(b"a="):
        user = parts[1][2:].decode("utf-8", "replace")
    fields = rest.split(b"\x01")
    kv = dict(f.split(b"=", 1) for f in fields if b"=" in f)
    auth = kv.get(b"auth", b"")
    ok = (len(parts) == 3 and parts[0] == b"n" and parts[2] == b""
          and fields[-2:] == [b"", b""] and auth.startswith(b"Bearer ")
          and s.check_token(user, auth[7:]))
    if not ok:
        answer = yield json.dumps({
            "status": "invalid_token", "schemes": "bearer",
            "scope": "mail"}).encode()
        return oauth_error(s, "OAUTHBEARER", answer), user
    return True, user


def mech_external(s, initial):
    """EXTERNAL (RFC 4422): the identity is the verified client
    certificate's CN; an authorization identity, if sent, must equal it."""
    authzid = initial if initial is not None else (yield b"")
    cert = s.sock.getpeercert() if s.tls else None
    if not cert:
        s.event("external: no client certificate")
        return False, None
    cn = dict(x[0] for x in cert.get("subject", ())).get("commonName", "")
    authzid = authzid.decode("utf-8", "replace")
    return authzid in ("", cn), authzid or cn


MECHS = {
    "PLAIN": mech_plain,
    "LOGIN": mech_login,
    "CRAM-MD5": mech_cram_md5,
    "SCRAM-SHA-1": mech_scram("sha1", False),
    "SCRAM-SHA-256": mech_scram("sha256", False),
    "SCRAM-SHA-1-PLUS": mech_scram("sha1", True),
    "SCRAM-SHA-256-PLUS": mech_scram("sha256", True),
    "XOAUTH2": mech_xoauth2,
    "OAUTHBEARER": mech_oauthbearer,
    "EXTERNAL": mech_external,
}


# ------------------------------------------------------------- session

PATH_RE = re.compile(r"^(FROM|TO):\s*<([^>]*)>\s*(.*)$", re.I)
BARE_PATH_RE = re.compile(r"^(FROM|TO):\s*(\S+)\s*(.*)$", re.I)


def parse_path(arg, want):
    m = PATH_RE.match(arg) or BARE_PATH_RE.match(arg)
    if not m or m.group(1).upper() != want:
        return None
    return m.group(2), m.group(3).split()


def reply_code(data):
    return data[:3].decode("latin-1") if data else ""


class BioTLS:
    """Server-side TLS over memory BIOs (tls_turns = true).  The handshake's
    flights pass through here, so its own round trips count as turns like
    any other: a flight that arrives after the server wrote one is a turn.
    Otherwise it behaves like the ssl.SSLSocket the session would have."""

    def __init__(self, sess, raw, ctx):
        self.sess = sess
        self.raw = raw
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        self._sslobj = self.obj._sslobj

    def push(self, counts):
        data = self.out.read()
        if data:
            self.raw.sendall(data)
            if counts:
                self.sess.wrote = True

    def pull(self):
        data = self.raw.recv(65536)
        if data:
            self.inc.write(data)
        else:
            self.inc.write_eof()
        return data

    def do_handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.push(True)
            except ssl.SSLError:
                self.push(False)
                raise
            if not self.pull():
                raise ssl.SSLEOFError("EOF in the TLS handshake")
            if self.sess.wrote:
                self.sess.turn += 1
                self.sess.wrote = False
        # TLS 1.2 ends with the server's Finished, which the client waits
        # for; TLS 1.3 with session tickets, which nobody waits for.
        self.push(self.obj.version() != "TLSv1.3")

    def recv(self, n):
        while True:
            try:
                data = self.obj.read(n)
                self.push(False)
                return data
            except ssl.SSLWantReadError:
                if not self.pull():
                    return b""
            except ssl.SSLZeroReturnError:
                return b""

    def sendall(self, data):
        self.obj.write(data)
        self.push(False)

    def pending(self):
        return self.obj.pending() or self.inc.pending

    def setblocking(self, flag):
        self.raw.setblocking(flag)

    def fileno(self):
        return self.raw.fileno()

    def close(self):
        self.raw.close()

    def getpeercert(self):
        return self.obj.getpeercert()

    def version(self):
        return self.obj.version()

    def cipher(self):
        return self.obj.cipher()

    def get_channel_binding(self, kind):
        return self.obj.get_channel_binding(kind)


def tls_exporter(sock):
    """RFC 9266 tls-exporter (32 octets, label EXPORTER-Channel-Binding,
    empty context) of a TLS 1.3 connection, or None.  The ssl module has
    no exporter, so this calls OpenSSL through ctypes with the SSL pointer
    of CPython's _ssl object; the pointer is trusted only when OpenSSL
    reports the same protocol version for it as the socket does."""
    try:
        import ctypes
        lib = ctypes.CDLL(ssl._ssl.__file__)
        get_version = lib.SSL_get_version
        get_version.restype = ctypes.c_char_p
        get_version.argtypes = [ctypes.c_void_p]
        export = lib.SSL_export_keying_material
        export.restype = ctypes.c_int
        export.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                           ctypes.c_char_p, ctypes.c_size_t,
                           ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        obj = sock._sslobj
        # PySSLSocket: PyObject_HEAD, PyObject *Socket, SSL *ssl, ...
        ptr = ctypes.c_void_p.from_address(
            id(obj) + object.__basicsize__ + ctypes.sizeof(
                ctypes.c_void_p)).value
        if not ptr or get_version(ptr).decode() != sock.version():
            return None
        out = ctypes.create_string_buffer(32)
        label = b"EXPORTER-Channel-Binding"
        if export(ptr, out, 32, label, len(label), b"", 0, 1) != 1:
            return None
        return out.raw
    except (OSError, AttributeError, ValueError):
        return None


class Session:
    def __init__(self, server, sock, conn, peer):
        self.server = server
        self.script = server.script
        self.rec = server.rec
        self.sock = sock
        self.conn = conn
        self.peer = peer
        self.tls = False
        self.turn = 0
        self.wrote = False
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.bytes_in = 0
        self.bytes_out = 0
        self.nth = {}
        self.stalled = False
        self.reset_state()

    def reset_state(self):
        self.greeted = None          # "EHLO" or "HELO"
        self.helo_name = None
        self.keywords = []
        self.auth_user = None
        self.txn = None

    # --- recording

    def event(self, text):
        self.rec.entry(self.conn, "event", self.tls, self.turn, text)

    def record(self, kind, data):
        text = data.decode("latin-1")
        for line in text.splitlines(keepends=True) or [""]:
            self.rec.entry(self.conn, kind, self.tls, self.turn, line)

    # --- I/O

    def flush(self):
        if not self.outbuf:
            return
        data = bytes(self.outbuf)
        self.outbuf.clear()
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ClientGone("write failed: %s" % e)
        self.bytes_out += len(data)
        self.wrote = True

    def send(self, data):
        self.record("out", data)
        self.outbuf += data

    def try_recv(self, timeout):
        """Input that is already there (or arrives within timeout), read
        without blocking; None when there is none."""
        if not (self.tls and self.sock.pending()):
            try:
                r, _, _ = select.select([self.sock], [], [], timeout)
            except (OSError, ValueError):
                return None
            if not r:
                return None
        self.sock.setblocking(False)
        try:
            return self.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError,
                ssl.SSLWantWriteError):
            return None
        except (OSError, ssl.SSLError) as e:
            raise ClientGone("read failed: %s" % e)
        finally:
            self.sock.setblocking(True)

    def fill(self):
        """Wait for client input.  Replies are held while more input is
        already there (as a pipelining server does); a wait after the
        server has written something is one turn (one round trip)."""
        grace = self.script.turn_grace_ms / 1000.0 if self.outbuf else 0
        data = self.try_recv(grace)
        if data is None:
            self.flush()
            try:
                data = self.sock.recv(65536)
            except (OSError, ssl.SSLError) as e:
                raise ClientGone("read failed: %s" % e)
        if not data:
            raise ClientGone("client closed the connection")
        if self.wrote:
            self.turn += 1
            self.wrote = False
        self.bytes_in += len(data)
        self.inbuf += data

    def readline(self):
        while True:
            i = self.inbuf.find(b"\n")
            if i >= self.script.max_line:
                i = -1
            if i >= 0:
                line = bytes(self.inbuf[:i + 1])
                del self.inbuf[:i + 1]
                return line
            if len(self.inbuf) > self.script.max_line:
                self.event("line too long (%d bytes without LF)"
                           % len(self.inbuf))
                self.send(b"500 5.5.2 Error: line too long\r\n")
                raise ServerClose("line too long")
            self.fill()

    def trickle(self, data, ms):
        """Send data one byte every ms milliseconds (a server that keeps
        a client waiting without ever being silent for long)."""
        self.flush()
        self.event("trickle %d bytes, one every %d ms" % (len(data), ms))
        self.record("out", data)
        for i in range(len(data)):
            try:
                self.sock.sendall(data[i:i + 1])
            except OSError as e:
                raise ClientGone("write failed: %s" % e)
            self.bytes_out += 1
            self.wrote = True
            if i + 1 < len(data):
                time.sleep(ms / 1000.0)

    def stall(self):
        self.flush()
        self.event("stall")
        self.stalled = True
        threading.Event().wait()

    # --- replies

    def rule(self, stage, arg=None, addr=None):
        self.nth[stage] = self.nth.get(stage, 0) + 1
        r = self.script.find_rule(stage, self.conn, self.nth[stage],
                                  self.tls, arg, addr)
        if r is not None:
            self.event("rule %d (%s)" % (r.index, stage))
        return r

    def respond(self, rule, default):
        """Send the rule's response (or the default); carry out its action.
        Returns the bytes sent, from which callers take the reply code."""
        if rule is None:
            self.send(default)
            return default
        if rule.delay_ms:
            self.flush()
            self.event("delay %d ms" % rule.delay_ms)
            time.sleep(rule.delay_ms / 1000.0)
        if rule.raw is not None:
            sent = rule.raw
        elif rule.reply is not None:
            sent = rule.reply
        elif rule.action == "continue":
            sent = default
        else:
            sent = b""
        if sent and rule.trickle_ms:
            self.trickle(sent, rule.trickle_ms)
        elif sent:
            self.send(sent)
        if rule.extra is not None:
            self.flush()
            self.send(rule.extra)
        if rule.action == "close":
            self.flush()
            raise ServerClose("rule %d" % rule.index)
        if rule.action == "stall":
            self.stall()
        return sent

    def offered_mechs(self):
        out = set()
        for k in self.keywords:
            p = k.split()
            if p and p[0] == "AUTH":
                out.update(p[1:])
        return out

    def channel_binding(self, kind):
        """tls-unique (TLS 1.2 and older) or tls-exporter (TLS 1.3) of this
        connection, or None when this server cannot give it."""
        if not self.tls:
            return None
        v13 = self.sock.version() == "TLSv1.3"
        if kind == "tls-unique" and not v13:
            return self.sock.get_channel_binding("tls-unique")
        if kind == "tls-exporter" and v13:
            return tls_exporter(self.sock)
        return None

    def check_token(self, user, token):
        """A bearer token: the user's password, or with oauth_tokens one
        the mock authorization server issued and that has not expired."""
        path = self.script.oauth_tokens
        if path is None:
            return self.check_password(user, token)
        try:
            with open(path) as f:
                issued = json.load(f)["access"]
        except (OSError, ValueError, KeyError):
            return False
        t = issued.get(token.decode("utf-8", "replace"))
        ok = t is not None and t["user"] == user and t["expires"] > time.time()
        self.event("oauth token %s" % ("valid" if ok else
                                        "unknown" if t is None else
                                        "expired or not this user's"))
        return ok

    def check_password(self, user, pw):
        want = self.script.users.get(user)
        if want is None:
            return False
        return hmac.compare_digest(want.encode("utf-8"), bytes(pw))

    # --- main loop

    def run(self):
        reason = "?"
        try:
            self.event("connect from %s" % (self.peer,))
            if self.script.tls == "implicit":
                if not self.start_tls():
                    reason = "tls handshake failed"
                    return
            self.respond(self.rule("greeting"), self.script.greeting)
            while True:
                self.command()
        except ClientGone as e:
            reason = str(e)
        except ServerClose as e:
            reason = "server closed: %s" % e
        except Exception as e:      # a bug here must show in the record
            reason = "server error: %r" % e
            self.event(reason)
            raise
        finally:
            try:
                self.flush()
            except ClientGone:
                pass
            self.event("close: %s" % reason)
            self.rec.session_end({
                "conn": self.conn, "turns": self.turn, "tls": self.tls,
                "reason": reason, "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out})
            try:
                self.sock.close()
            except OSError:
                pass

    def start_tls(self):
        try:
            if self.script.tls_turns:
                tls = BioTLS(self, self.sock, self.script.ctx)
                tls.do_handshake()
                self.sock = tls
            else:
                self.sock = self.script.ctx.wrap_socket(self.sock,
                                                        server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.event("tls-error: %s" % e)
            return False
        self.tls = True
        info = "tls: %s %s" % (self.sock.version(),
                               self.sock.cipher()[0])
        peer = self.sock.getpeercert()
        if peer:
            subj = dict(x[0] for x in peer.get("subject", ()))
            info += " client-cert CN=%s" % subj.get("commonName", "?")
        self.event(info)
        return True

    def command(self):
        line = self.readline()
        self.record("in", line)
        text = line.rstrip(b"\r\n").decode("latin-1")
        verb, _, arg = text.partition(" ")
        stage = VERBS.get(verb.upper(), "unknown")
        if self.script.lmtp:
            # LMTP (RFC 2033): LHLO is EHLO (its rules are "ehlo" rules);
            # EHLO and HELO are unknown commands.
            if verb.upper() == "LHLO":
                stage = "ehlo"
            elif stage in ("ehlo", "helo"):
                stage = "unknown"
        getattr(self, "do_" + stage)(arg.strip())

    def need_greeting(self):
        if self.greeted is None:
            self.send(b"503 5.5.1 Error: send HELO/EHLO first\r\n")
            return False
        return True

    def do_ehlo(self, arg):
        r = self.rule("ehlo", arg)
        kw = self.script.ehlo_tls if self.tls else self.script.ehlo
        lines = [self.script.hostname] + kw
        default = b"".join(
            ("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ",
                              l)).encode("latin-1")
            for i, l in enumerate(lines))
        sent = self.respond(r, default)
        if reply_code(sent).startswith("2"):
            self.reset_state()
            self.greeted = "EHLO"
            self.helo_name = arg
            self.keywords = [k.upper() for k in kw]

    def do_helo(self, arg):
        r = self.rule("helo", arg)
        sent = self.respond(r, b"250 %s\r\n" %
                            self.script.hostname.encode("latin-1"))
        if reply_code(sent).startswith("2"):
            self.reset_state()
            self.greeted = "HELO"
            self.helo_name = arg

    def offered(self, keyword):
        return any(k.split()[0] == keyword for k in self.keywords if k)

    def do_starttls(self, arg):
        r = self.rule("starttls", arg)
        if r is not None and r.has_response:
            sent = self.respond(r, b"")
            go = r.handshake
            if go is None:
                go = reply_code(sent).startswith("2")
        else:
            if self.tls:
                default = b"503 5.5.1 Error: TLS already active\r\n"
            elif self.txn is not None:
                default = (b"503 5.5.1 Error: MAIL transaction in "
                           b"progress\r\n")
            elif arg:
                default = b"501 5.5.4 Syntax: STARTTLS\r\n"
            elif not self.offered("STARTTLS") or self.script.ctx is None:
                default = b"502 5.5.1 Error: STARTTLS not offered\r\n"
            else:
                default = b"220 2.0.0 Ready to start TLS\r\n"
            sent = self.respond(r, default)
            go = reply_code(sent) == "220"
        if not go:
            return
        if self.script.ctx is None:
            self.event("starttls: no certificate configured")
            raise ServerClose("no certificate for STARTTLS")
        self.flush()
        if self.inbuf:
            self.event("plaintext-after-starttls: %r" % bytes(self.inbuf))
            self.inbuf.clear()
        if not self.start_tls():
            raise ServerClose("tls handshake failed")
        self.reset_state()

    def do_auth(self, arg):
        words = arg.split()
        r = self.rule("auth", arg)
        if r is not None and r.has_response:
            sent = self.respond(r, b"")
            if reply_code(sent).startswith("2"):
                self.auth_user = "?"
            return
        if r is not None:
            self.respond(r, b"")    # delay only
        if self.greeted != "EHLO":
            return self.send(b"503 5.5.1 Error: send EHLO first\r\n")
        if self.auth_user is not None:
            return self.send(b"503 5.5.1 Error: already authenticated\r\n")
        if self.txn is not None:
            return self.send(b"503 5.5.1 Error: MAIL transaction in "
                             b"progress\r\n")
        if not words or len(words) > 2:
            return self.send(b"501 5.5.4 Syntax: AUTH mechanism\r\n")
        mech = words[0].upper()
        if mech not in self.offered_mechs() or mech not in MECHS:
            return self.send(b"504 5.5.4 Unrecognized authentication "
                             b"type\r\n")
        initial = None
        if len(words) == 2:
            initial = self.b64(words[1])
            if initial is None:
                return
        gen = MECHS[mech](self, initial)
        try:
            challenge = next(gen)
            while True:
                self.send(b"334 " + base64.b64encode(challenge) + b"\r\n")
                line = self.readline()
                self.record("in", line)
                resp = line.rstrip(b"\r\n")
                if resp == b"*":
                    self.event("auth %s cancelled" % mech)
                    return self.send(b"501 5.7.0 Authentication "
                                     b"cancelled\r\n")
                dec = self.b64(resp.decode("latin-1"))
                if dec is None:
                    return
                challenge = gen.send(dec)
        except StopIteration as e:
            ok, user = e.value
        self.event("auth %s user=%r %s" % (mech, user,
                                            "ok" if ok else "failed"))
        r = self.rule("auth_done", "%s %s" % (mech, "ok" if ok else "fail"))
        default = (b"235 2.7.0 Authentication successful\r\n" if ok else
                   b"535 5.7.8 Error: authentication failed\r\n")
        sent = self.respond(r, default)
        if reply_code(sent).startswith("2"):
            self.auth_user = user or "?"

    def b64(self, text):
        if text == "=":
            return b""
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.send(b"501 5.5.2 Error: invalid base64 data\r\n")
            return None

    def do_mail(self, arg):
        parsed = parse_path(arg, "FROM")
        r = self.rule("mail", arg, parsed[0] if parsed else None)
        if r is not None and r.has_response:
            sent = self.respond(r, b"")
            if reply_code(sent).startswith("2") and parsed:
                self.txn = {"from": parsed[0], "params": parsed[1],
                            "rcpts": []}
            return
        if r is not None:
            self.respond(r, b"")    # delay only
        if not self.need_greeting():
            return
        if self.script.require_tls and not self.tls:
            return self.send(b"530 5.7.0 Must issue a STARTTLS command "
                             b"first\r\n")
        if self.script.require_auth and self.auth_user is None:
            return self.send(b"530 5.7.0 Authentication required\r\n")
        if self.txn is not None:
            return self.send(b"503 5.5.1 Error: nested MAIL command\r\n")
        parsed = parse_path(arg, "FROM")
        if parsed is None:
            return self.send(b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n")
        self.txn = {"from": parsed[0], "params": parsed[1], "rcpts": []}
        self.send(b"250 2.1.0 Ok\r\n")

    def do_rcpt(self, arg):
        parsed = parse_path(arg, "TO")
        r = self.rule("rcpt", arg, parsed[0] if parsed else None)
        if r is not None and r.has_response:
            sent = self.respond(r, b"")
            if (reply_code(sent).startswith("2") and parsed
                    and self.txn is not None):
                self.txn["rcpts"].append({"addr": parsed[0],
                                          "params": parsed[1]})
            return
        if r is not None:
            self.respond(r, b"")
        if self.txn is None:
            return self.send(b"503 5.5.1 Error: need MAIL command\r\n")
        if parsed is None:
            return self.send(b"501 5.5.4 Syntax: RCPT TO:<address>\r\n")
        self.txn["rcpts"].append({"addr": parsed[0], "params": parsed[1]})
        self.send(b"250 2.1.5 Ok\r\n")

    def data_default(self):
        if self.txn is None:
            return b"503 5.5.1 Error: need MAIL command\r\n"
        if not self.txn["rcpts"]:
            return b"554 5.5.1 Error: no valid recipients\r\n"
        return None

    def do_data(self, arg):
        r = self.rule("data", arg)
        default = (self.data_default()
                   or b"354 End data with <CR><LF>.<CR><LF>\r\n")
        sent = self.respond(r, default)
        if reply_code(sent) != "354":
            return
        if self.txn is None:
            self.txn = {"from": None, "params": [], "rcpts": []}
        raw, unstuffed = self.read_dot_body()
        self.finish_message("DATA", raw, unstuffed)

    def body_rule(self):
        self.nth["body"] = self.nth.get("body", 0) + 1
        return self.script.find_rule("body", self.conn, self.nth["body"],
                                     self.tls)

    def check_body_fault(self, r, count):
        """Fire the body rule r once its byte count is reached.  A rule
        that goes on ("continue") answers the message here and reads the
        rest of the data; it fires once per message.  Returns whether the
        message was answered."""
        if r is None or count < (r.after_bytes or 0):
            return False
        if self.txn is not None and self.txn.get("answered"):
            return True
        self.event("body fault after %d bytes (rule %d)"
                   % (count, r.index))
        sent = self.respond(r, b"")
        self.flush()
        if self.txn is not None:
            self.txn["answered"] = sent
        return True

    def body_transcript(self, data, state):
        if state["logged"] >= BODY_TRANSCRIPT_CAP:
            return
        room = BODY_TRANSCRIPT_CAP - state["logged"]
        self.record("data", data[:room])
        state["logged"] += min(len(data), room)
        if state["logged"] >= BODY_TRANSCRIPT_CAP:
            self.event("body transcript truncated at %d bytes" %
                       BODY_TRANSCRIPT_CAP)

    def read_dot_body(self):
        """Read DATA up to CRLF.CRLF.  raw holds the bytes as received,
        terminating ".\\r\\n" included; unstuffed holds the message."""
        r = self.body_rule()
        raw = bytearray()
        out = bytearray()
        log = {"logged": 0}
        at_bol = True
        self.check_body_fault(r, 0)
        while True:
            i = self.inbuf.find(b"\n")
            if i < 0:
                if self.inbuf:
                    # A partial line: count it toward the body faults.
                    self.check_body_fault(r, len(raw) + len(self.inbuf))
                if len(raw) + len(self.inbuf) > MESSAGE_CAP:
                    raise ServerClose("message too large")
                self.fill()
                self.check_body_fault(r, len(raw) + len(self.inbuf))
                continue
            line = bytes(self.inbuf[:i + 1])
            del self.inbuf[:i + 1]
            raw += line
            self.body_transcript(line, log)
            if line == b".\r\n" and at_bol:
                return raw, out
            out += line[1:] if line.startswith(b".") else line
            at_bol = line.endswith(b"\r\n")
            self.check_body_fault(r, len(raw))

    def do_bdat(self, arg):
        words = arg.split()
        if (not words or len(words) > 2 or not words[0].isdigit()
                or (len(words) == 2 and words[1].upper() != "LAST")):
            self.send(b"501 5.5.4 Syntax: BDAT size [LAST]\r\n")
            raise ServerClose("unparsable BDAT")
        size = int(words[0])
        last = len(words) == 2
        if self.txn is not None and "chunks" not in self.txn:
            self.txn["chunks"] = bytearray()
            self.txn["body_rule"] = self.body_rule()
            self.txn["log"] = {"logged": 0}
        br = self.txn["body_rule"] if self.txn else None
        base = len(self.txn["chunks"]) if self.txn else 0
        if len(self.inbuf) + base > MESSAGE_CAP:
            raise ServerClose("message too large")
        while len(self.inbuf) < size:
            self.check_body_fault(br, base + len(self.inbuf))
            self.fill()
        chunk = bytes(self.inbuf[:size])
        del self.inbuf[:size]
        self.check_body_fault(br, base + size)
        if self.txn is not None:
            self.body_transcript(chunk, self.txn["log"])
        else:
            self.record("data", chunk[:BODY_TRANSCRIPT_CAP])
        r = self.rule("bdat", arg)
        bad = self.data_default()
        if bad is not None:
            self.respond(r, bad)
            return
        self.txn["chunks"] += chunk
        if not last:
            sent = self.respond(r, b"250 2.0.0 %d octets received\r\n"
                                % size)
            if not reply_code(sent).startswith("2"):
                self.txn = None
            return
        if r is not None and r.has_response:
            # A bdat rule on the LAST chunk answers instead of data_end.
            sent = self.respond(r, b"")
            self.store(bytes(self.txn["chunks"]), bytes(self.txn["chunks"]),
                       "BDAT", sent)
            self.txn = None
            return
        data = bytes(self.txn["chunks"])
        self.finish_message("BDAT", data, data)

    def finish_lmtp(self, method, raw, unstuffed):
        """LMTP: one reply per accepted recipient, in RCPT order; a
        data_end rule with addr answers for that recipient."""
        plans = []
        for rc in self.txn["rcpts"]:
            r = self.rule("data_end", addr=rc["addr"])
            default = b"250 2.1.5 <%s> delivered\r\n" % \
                rc["addr"].encode("latin-1")
            if r is not None and (r.reply is not None or r.raw is not None):
                planned = r.raw if r.raw is not None else r.reply
            elif r is not None and r.action != "continue":
                planned = None
            else:
                planned = default
            plans.append((r, default, planned, rc["addr"]))
        ok = [p for _, _, p, _ in plans
              if p is not None and reply_code(p).startswith("2")]
        rest = b"".join(p for _, _, p, _ in plans if p is not None)
        self.store(raw, unstuffed, method, ok[0] if ok else (rest or None))
        self.txn = None
        for r, default, planned, addr in plans:
            if planned is not None:
                self.event("lmtp <%s> %s" % (
                    addr, planned.decode("latin-1").splitlines()[0]))
            self.respond(r, default)

    def finish_message(self, method, raw, unstuffed):
        if self.script.lmtp and not (self.txn is not None
                                     and self.txn.get("answered")):
            return self.finish_lmtp(method, raw, unstuffed)
        if self.txn is not None and self.txn.get("answered"):
            # Answered during the data (a body rule that goes on).
            self.store(raw, unstuffed, method, self.txn["answered"])
            self.txn = None
            return
        r = self.rule("data_end")
        if r is not None and r.reply is None and r.raw is None and \
                r.action != "continue":
            # Close or stall before any reply: not accepted.
            self.store(raw, unstuffed, method, None)
            self.txn = None
            self.respond(r, b"")
            return
        if r is not None and (r.reply is not None or r.raw is not None):
            planned = r.raw if r.raw is not None else r.reply
        else:
            planned = None
        n = self.rec.nmsg + 1
        default = b"250 2.0.0 Ok: queued as %06d\r\n" % n
        self.store(raw, unstuffed, method,
                   planned if planned is not None else default)
        self.txn = None
        self.respond(r, default)

    def store(self, raw, unstuffed, method, reply):
        accepted = reply is not None and reply_code(reply).startswith("2")
        meta = {
            "conn": self.conn, "tls": self.tls, "method": method,
            "helo": self.helo_name, "auth_user": self.auth_user,
            "mail_from": self.txn["from"],
            "mail_params": self.txn["params"],
            "rcpts": self.txn["rcpts"],
            "accepted": accepted,
            "reply": reply.decode("latin-1") if reply is not None else None,
        }
        n = self.rec.message(meta, raw, unstuffed)
        self.event("message %06d %s" % (n, "accepted" if accepted
                                          else "not accepted"))

    def do_rset(self, arg):
        r = self.rule("rset", arg)
        sent = self.respond(r, b"250 2.0.0 Ok\r\n")
        if reply_code(sent).startswith("2"):
            self.txn = None

    def do_noop(self, arg):
        self.respond(self.rule("noop", arg), b"250 2.0.0 Ok\r\n")

    def do_vrfy(self, arg):
        self.respond(self.rule("vrfy", arg),
                     b"252 2.0.0 Cannot VRFY user\r\n")

    def do_quit(self, arg):
        self.respond(self.rule("quit", arg), b"221 2.0.0 Bye\r\n")
        self.flush()
        raise ServerClose("QUIT")

    def do_unknown(self, arg):
        self.respond(self.rule("unknown", arg),
                     b"500 5.5.2 Error: command not recognized\r\n")


# ------------------------------------------------------------- server

class Server:
    def __init__(self, script, state_dir):
        self.script = script
        self.rec = Recorder(state_dir)
        self.state_dir = state_dir
        self.listeners = []
        self.sessions = []

    def listen(self):
        ports = {}
        if self.script.ipv4:
            s = socket.create_server(("127.0.0.1", self.script.port),
                                     backlog=64)
            ports["port"] = s.getsockname()[1]
            self.listeners.append(s)
        if self.script.ipv6:
            s = socket.create_server(("::1", 0), family=socket.AF_INET6,
                                     backlog=64)
            ports["port6"] = s.getsockname()[1]
            if "port" not in ports:
                ports["port"] = ports["port6"]
            self.listeners.append(s)
        if self.script.unix is not None:
            # Beside the TCP listener(s): the same server on a path.
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(self.script.unix)
            s.listen(64)
            ports["unix"] = self.script.unix
            self.listeners.append(s)
        if self.script.rcvbuf:
            # Accepted sockets inherit it (before any client connects, so
            # the window the client sees is small from the start).
            for s in self.listeners:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                             self.script.rcvbuf)
        ports["pid"] = os.getpid()
        self.rec._atomic(os.path.join(self.state_dir, "ports.json"),
                         (json.dumps(ports) + "\n").encode())
        return ports

    def serve(self):
        sel = selectors.DefaultSelector()
        for s in self.listeners:
            sel.register(s, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                try:
                    sock, peer = key.fileobj.accept()
                except OSError:
                    continue
                n = self.rec.new_conn()
                if isinstance(peer, (str, bytes)):
                    peer = ("unix", self.script.unix)
                sess = Session(self, sock, n, peer[:2])
                t = threading.Thread(target=sess.run, daemon=True,
                                     name="conn-%d" % n)
                self.sessions.append((sess, t))
                t.start()
                if not self.script.concurrent:
                    t.join()

    def drain(self):
        """Give sessions whose client has gone a moment to record their
        end; stalled sessions are not waited for."""
        for s in self.listeners:
            s.close()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for sess, t in self.sessions:
            # The signal may have come between recording a session and
            # starting its thread.
            if sess.stalled or t.ident is None:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                break
            t.join(left)


def on_signal(signum, frame):
    raise Shutdown()


def main():
    ap = argparse.ArgumentParser(description="scripted SMTP test server")
    ap.add_argument("--script", required=True)
    ap.add_argument("--state-dir", required=True)
    args = ap.parse_args()
    try:
        script = load_script(args.script)
    except (ScriptError, OSError, ValueError, ssl.SSLError,
            tomllib.TOMLDecodeError) as e:
        print("smtpd.py: %s: %s" % (args.script, e), file=sys.stderr)
        return 2
    os.makedirs(args.state_dir, exist_ok=True)
    server = Server(script, args.state_dir)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        ports = server.listen()
        print("READY " + json.dumps(ports), flush=True)
        server.serve()
    except Shutdown:
        server.drain()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
