#!/usr/bin/python3
"""Tests of the scripted SMTP server (smtpd.py) itself, with Python's
smtplib and raw sockets as the client.  Prints TAP.  Each test starts its
own server on port 0 and stops it by PID when done, pass or fail.

Usage: selftest.py [-v] [test-name-substring ...]
"""

import base64
import hashlib
import hmac
import json
import os
import selectors
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import certs  # noqa: E402

SMTPD = os.path.join(HERE, "smtpd.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable
TIMEOUT = 10
CERTS = None


class Server:
    """One smtpd.py process with its own state directory."""

    def __init__(self, script, top):
        self.dir = tempfile.mkdtemp(prefix="srv-", dir=top)
        self.state = os.path.join(self.dir, "state")
        if isinstance(script, str):
            path = os.path.join(self.dir, "script.toml")
            with open(path, "w") as f:
                f.write(script)
        else:
            path = os.path.join(self.dir, "script.json")
            with open(path, "w") as f:
                json.dump(script, f)
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [PYTHON, SMTPD, "--script", path, "--state-dir", self.state],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self.log, start_new_session=True)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        while not line.endswith(b"\n"):
            if not sel.select(TIMEOUT):
                raise AssertionError("server did not start")
            c = os.read(self.proc.stdout.fileno(), 1)
            if not c:
                self.proc.wait(5)
                raise AssertionError("server exited: %s" % self.errors())
            line += c
        sel.close()
        assert line.startswith(b"READY "), line
        self.ports = json.loads(line[6:])
        self.port = self.ports["port"]
        with open(os.path.join(self.state, "ports.json")) as f:
            assert json.load(f)["port"] == self.port

    def errors(self):
        if not self.log.closed:
            self.log.flush()
        with open(os.path.join(self.dir, "server.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.stdout.close()
        self.log.close()

    def transcript(self):
        p = os.path.join(self.state, "transcript.jsonl")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [json.loads(l) for l in f if l.endswith("\n")]

    def lines(self, conn=1, kind=None):
        return [e["text"] for e in self.transcript()
                if e["conn"] == conn and (kind is None or e["dir"] == kind)]

    def messages(self):
        d = os.path.join(self.state, "messages")
        out = []
        for n in sorted(os.listdir(d)):
            if n.endswith(".json"):
                with open(os.path.join(d, n)) as f:
                    m = json.load(f)
                with open(os.path.join(d, m["raw_file"]), "rb") as f:
                    m["raw"] = f.read()
                with open(os.path.join(d, m["eml_file"]), "rb") as f:
                    m["eml"] = f.read()
                out.append(m)
        return out

    def sessions(self):
        p = os.path.join(self.state, "sessions.jsonl")
        with open(p) as f:
            return [json.loads(l) for l in f]

    def connections(self):
        with open(os.path.join(self.state, "connections")) as f:
            return int(f.read())


def tls_script(**kw):
    s = {"tls": "starttls", "cert": CERTS["server"],
         "key": CERTS["server_key"],
         "ehlo": ["PIPELINING", "STARTTLS", "8BITMIME"],
         "ehlo_tls": ["PIPELINING", "8BITMIME", "AUTH PLAIN LOGIN CRAM-MD5",
                      "CHUNKING"],
         "users": {"alice": "s3cret"}}
    s.update(kw)
    return s


def client_ctx():
    return ssl.create_default_context(cafile=CERTS["ca"])


def connect(port, family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect((host, port))
    return s


def read_reply(sock):
    """Read one complete (possibly multi-line) reply."""
    buf = b""
    while True:
        lines = buf.split(b"\r\n")
        for l in lines[:-1]:
            if len(l) >= 4 and l[3:4] == b" ":
                return buf
        c = sock.recv(4096)
        if not c:
            return buf
        buf += c


def read_until_close(sock):
    buf = b""
    while True:
        try:
            c = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            return buf
        if not c:
            return buf
        buf += c


MSG = b"From: a@example.org\r\nSubject: t\r\n\r\nline 1\r\n.x\r\n"


# ---------------------------------------------------------------- tests

def t_starttls_auth_plain_send(top):
    srv = Server(tls_script(), top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        code, resp = c.ehlo("client.example")
        assert code == 250 and b"STARTTLS" in resp, resp
        assert b"AUTH" not in resp, "AUTH offered before TLS"
        c.starttls(context=client_ctx())
        code, resp = c.ehlo("client.example")
        assert b"AUTH PLAIN" in resp, resp
        c.login("alice", "s3cret")
        c.sendmail("a@example.org", ["b@example.org", "c@example.org"], MSG)
        c.quit()
    finally:
        srv.stop()
    msgs = srv.messages()
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["accepted"] and m["tls"] and m["auth_user"] == "alice", m
    assert m["mail_from"] == "a@example.org", m
    assert [r["addr"] for r in m["rcpts"]] == ["b@example.org",
                                               "c@example.org"]
    assert m["raw"] == MSG.replace(b"\n.x", b"\n..x") + b".\r\n", m["raw"]
    assert m["eml"] == MSG, m["eml"]
    tr = srv.transcript()
    auth = [e for e in tr if e["dir"] == "in" and
            e["text"].upper().startswith("AUTH")]
    assert auth and all(e["tls"] for e in auth), auth
    starttls = [e for e in tr if e["text"].startswith("STARTTLS")]
    assert starttls and not starttls[0]["tls"]
    assert srv.connections() == 1
    sess = srv.sessions()
    assert sess[0]["tls"] and sess[0]["turns"] >= 6, sess


def t_auth_login_and_cram_md5(top):
    srv = Server(tls_script(), top)
    try:
        for mech in ("LOGIN", "CRAM-MD5"):
            c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
            c.starttls(context=client_ctx())
            c.ehlo()
            c.user, c.password = "alice", "s3cret"
            auth = {"LOGIN": c.auth_login,
                    "CRAM-MD5": c.auth_cram_md5}[mech]
            code, resp = c.auth(mech, auth, initial_response_ok=False)
            assert code == 235, (mech, code, resp)
            c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert "auth LOGIN user='alice' ok" in ev, ev
    assert "auth CRAM-MD5 user='alice' ok" in ev, ev


def t_cram_md5_by_hand(top):
    srv = Server(tls_script(ehlo=["AUTH CRAM-MD5"], tls="none"), top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        s.sendall(b"AUTH CRAM-MD5\r\n")
        r = read_reply(s)
        assert r.startswith(b"334 "), r
        chal = base64.b64decode(r[4:].strip())
        dig = hmac.new(b"s3cret", chal, hashlib.md5).hexdigest()
        s.sendall(base64.b64encode(b"alice " + dig.encode()) + b"\r\n")
        r = read_reply(s)
        assert r.startswith(b"235 "), r
        s.close()
    finally:
        srv.stop()


def t_wrong_password_535(top):
    srv = Server(tls_script(), top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        c.starttls(context=client_ctx())
        try:
            c.login("alice", "wrong")
            raise AssertionError("login succeeded")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535, e
            assert e.smtp_error.startswith(b"5.7.8"), e.smtp_error
        c.close()
    finally:
        srv.stop()


def t_auth_not_offered_before_tls(top):
    srv = Server(tls_script(), top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0s3cret") +
                  b"\r\n")
        r = read_reply(s)
        assert r.startswith(b"504 "), r
        s.sendall(b"MAIL FROM:<a@b>\r\n")
        assert read_reply(s).startswith(b"250")
        s.sendall(b"STARTTLS\r\n")
        assert read_reply(s).startswith(b"503"), "STARTTLS not refused"
        s.close()
    finally:
        srv.stop()


def t_implicit_tls(top):
    srv = Server(tls_script(tls="implicit", ehlo=["AUTH PLAIN"]), top)
    try:
        c = smtplib.SMTP_SSL("127.0.0.1", srv.port, context=client_ctx(),
                             timeout=TIMEOUT)
        c.login("alice", "s3cret")
        c.sendmail("a@example.org", ["b@example.org"], MSG)
        c.quit()
    finally:
        srv.stop()
    tr = srv.transcript()
    assert all(e["tls"] for e in tr if e["dir"] in ("in", "out")), tr
    assert srv.messages()[0]["tls"]


def t_client_cert_required(top):
    srv = Server(tls_script(tls="implicit", client_cert="require",
                            client_ca=CERTS["ca"]), top)
    try:
        try:
            c = smtplib.SMTP_SSL("127.0.0.1", srv.port,
                                 context=client_ctx(), timeout=TIMEOUT)
            c.ehlo()
            raise AssertionError("handshake without client cert worked")
        except (ssl.SSLError, smtplib.SMTPServerDisconnected,
                ConnectionResetError):
            pass
        ctx = client_ctx()
        ctx.load_cert_chain(CERTS["client"], CERTS["client_key"])
        c = smtplib.SMTP_SSL("127.0.0.1", srv.port, context=ctx,
                             timeout=TIMEOUT)
        assert c.noop()[0] == 250
        c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert any(x.startswith("tls-error") for x in ev), ev
    assert any("client-cert CN=alice" in x for x in ev), ev


def t_ehlo_refused_helo_fallback(top):
    srv = Server({"rules": [{"on": "ehlo",
                             "reply": "500 5.5.1 no EHLO here"}]}, top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        c.sendmail("a@example.org", ["b@example.org"], MSG)
        c.quit()
    finally:
        srv.stop()
    ins = srv.lines(kind="in")
    assert ins[0].lower().startswith("ehlo") and \
        ins[1].lower().startswith("helo"), ins
    assert len(srv.messages()) == 1


def t_rules_per_connection(top):
    srv = Server({"rules": [{"on": "mail", "conn": 1,
                             "reply": "451 4.3.0 try later"}]}, top)
    try:
        for n in (1, 2):
            c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
            try:
                c.sendmail("a@example.org", ["b@example.org"], MSG)
                assert n == 2, "conn 1 was accepted"
            except smtplib.SMTPSenderRefused as e:
                assert n == 1 and e.smtp_code == 451, e
            c.quit()
    finally:
        srv.stop()
    assert srv.connections() == 2
    msgs = srv.messages()
    assert len(msgs) == 1 and msgs[0]["conn"] == 2, msgs


def t_rcpt_by_address(top):
    srv = Server({"rules": [{"on": "rcpt", "addr": "bob@example.org",
                             "reply": "550 5.1.1 <bob@example.org>: no "
                                      "such user"}]}, top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        refused = c.sendmail("a@example.org", ["bob@example.org",
                                               "carol@example.org"], MSG)
        assert refused == {"bob@example.org": (
            550, b"5.1.1 <bob@example.org>: no such user")}, refused
        c.quit()
    finally:
        srv.stop()
    assert [r["addr"] for r in srv.messages()[0]["rcpts"]] == \
        ["carol@example.org"]


def t_no_recipient_no_data(top):
    srv = Server({}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        for cmd, want in ((b"DATA", b"503"), (b"RCPT TO:<b@c>", b"503"),
                          (b"MAIL FROM:<a@b>", b"250"),
                          (b"MAIL FROM:<a@b>", b"503"),
                          (b"DATA", b"554"), (b"RSET", b"250"),
                          (b"RCPT TO:<b@c>", b"503"), (b"FOO", b"500"),
                          (b"NOOP", b"250"), (b"QUIT", b"221")):
            s.sendall(cmd + b"\r\n")
            r = read_reply(s)
            assert r.startswith(want), (cmd, r)
        s.close()
    finally:
        srv.stop()


def t_pipelining_turns(top):
    srv = Server({"ehlo": ["PIPELINING"]}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        s.sendall(b"MAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<b@c>\r\n"
                  b"RCPT TO:<d@e> NOTIFY=NEVER\r\nDATA\r\n")
        buf = b""
        while b"354" not in buf:
            buf += s.recv(4096)
        codes = [l[:3] for l in buf.split(b"\r\n") if l]
        assert codes == [b"250", b"250", b"250", b"354"], buf
        s.sendall(b"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        buf = read_until_close(s)
        assert buf.startswith(b"250 ") and b"221 " in buf, buf
    finally:
        srv.stop()
    # greeting->EHLO, EHLO->envelope, 354->body+QUIT: 3 round trips.
    assert srv.sessions()[0]["turns"] == 3, srv.sessions()
    m = srv.messages()[0]
    assert m["mail_params"] == ["SIZE=10"], m
    assert m["rcpts"][1] == {"addr": "d@e", "params": ["NOTIFY=NEVER"]}, m


def t_bdat(top):
    srv = Server({"ehlo": ["CHUNKING", "PIPELINING"]}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        assert b"CHUNKING" in read_reply(s)
        s.sendall(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")
        buf = b""
        while buf.count(b"250 2.1") < 2:
            buf += s.recv(4096)
        s.sendall(b"BDAT 9\r\nSubject: BDAT 4 LAST\r\n.x\r\n")
        buf = b""
        while b"queued" not in buf:
            buf += s.recv(4096)
        assert buf == (b"250 2.0.0 9 octets received\r\n"
                       b"250 2.0.0 Ok: queued as 000001\r\n"), buf
        s.sendall(b"QUIT\r\n")
        read_until_close(s)
    finally:
        srv.stop()
    m = srv.messages()[0]
    assert m["method"] == "BDAT", m
    assert m["raw"] == b"Subject: .x\r\n", m["raw"]
    assert m["eml"] == m["raw"]


def t_fault_close_at_greeting(top):
    srv = Server({"rules": [{"on": "greeting", "action": "close",
                             "conn": 1}]}, top)
    try:
        s = connect(srv.port)
        assert read_until_close(s) == b""
        s = connect(srv.port)
        assert read_reply(s).startswith(b"220 ")
        s.close()
    finally:
        srv.stop()


def t_fault_stall(top):
    srv = Server({"rules": [{"on": "mail", "action": "stall"}]}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"HELO x\r\n")
        read_reply(s)
        s.sendall(b"MAIL FROM:<a@b>\r\n")
        s.settimeout(0.5)
        try:
            s.recv(100)
            raise AssertionError("stalled server answered")
        except socket.timeout:
            pass
        s.close()
        t0 = time.monotonic()
    finally:
        srv.stop()
    assert time.monotonic() - t0 < 2.5, "shutdown waited for a stall"
    assert "stall" in [e["text"] for e in srv.transcript()]


def t_fault_drop_mid_body(top):
    srv = Server({"rules": [{"on": "body", "after_bytes": 100,
                             "action": "close"}]}, top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        try:
            c.sendmail("a@b", ["c@d"], b"Subject: x\r\n\r\n" +
                       b"0123456789\r\n" * 2000)
            raise AssertionError("send succeeded")
        except (smtplib.SMTPServerDisconnected, ConnectionResetError,
                BrokenPipeError):
            pass
    finally:
        srv.stop()
    assert srv.messages() == []
    assert any(e["text"].startswith("body fault after")
               for e in srv.transcript())


def t_fault_drop_after_dot(top):
    srv = Server({"rules": [{"on": "data_end", "action": "close"}]}, top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        try:
            c.sendmail("a@b", ["c@d"], MSG)
            raise AssertionError("send succeeded")
        except smtplib.SMTPServerDisconnected:
            pass
    finally:
        srv.stop()
    m = srv.messages()
    assert len(m) == 1 and not m[0]["accepted"] and m[0]["reply"] is None, m
    assert m[0]["eml"] == MSG


def t_data_end_reply(top):
    srv = Server({"rules": [{"on": "data_end",
                             "reply": "452 4.3.1 Insufficient storage"}]},
                 top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        try:
            c.sendmail("a@b", ["c@d"], MSG)
            raise AssertionError("send succeeded")
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 452
        c.quit()
    finally:
        srv.stop()
    m = srv.messages()
    assert len(m) == 1 and not m[0]["accepted"], m
    assert m[0]["reply"].startswith("452"), m


def raw_greeting(top, rule):
    srv = Server({"rules": [dict(rule, on="greeting")]}, top)
    try:
        s = connect(srv.port)
        s.settimeout(2)
        data = read_until_close_or_idle(s)
        s.close()
    finally:
        srv.stop()
    return data


def read_until_close_or_idle(s):
    buf = b""
    while True:
        try:
            c = s.recv(65536)
        except socket.timeout:
            return buf
        if not c:
            return buf
        buf += c
        s.settimeout(0.3)


def t_malformed_replies(top):
    cases = [
        ({"raw": "25\r\n"}, b"25\r\n"),
        ({"reply": "220-first\n250 mixed"}, b"220-first\r\n250 mixed\r\n"),
        ({"raw": ["220 ", {"repeat": "x", "count": 5000}, "\r\n"]},
         b"220 " + b"x" * 5000 + b"\r\n"),
        ({"raw": "220 bare\rCR\r\n"}, b"220 bare\rCR\r\n"),
        ({"raw": "\u00ff\u0000\u0080binary\n"}, b"\xff\x00\x80binary\n"),
    ]
    for rule, want in cases:
        got = raw_greeting(top, rule)
        assert got == want, (rule, got[:100])


def t_starttls_injection(top):
    srv = Server(tls_script(rules=[{
        "on": "starttls", "raw": "220 2.0.0 ready\r\n250 injected\r\n"}]),
        top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        s.sendall(b"STARTTLS\r\n")
        # Both lines arrive in one write, so one recv sees both.
        data = s.recv(4096)
        assert data == b"220 2.0.0 ready\r\n250 injected\r\n", data
        # The server then expects a handshake, which works.
        t = client_ctx().wrap_socket(s, server_hostname="localhost")
        t.sendall(b"EHLO x\r\n")
        assert read_reply(t).startswith(b"250-")
        t.close()
    finally:
        srv.stop()


def t_plaintext_after_starttls(top):
    srv = Server(tls_script(), top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@x>\r\n")
        assert read_reply(s).startswith(b"220")
        t = client_ctx().wrap_socket(s, server_hostname="localhost")
        t.sendall(b"MAIL FROM:<a@b>\r\n")
        assert read_reply(t).startswith(b"503"), "EHLO state kept over TLS"
        t.close()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert any(x.startswith("plaintext-after-starttls") and "evil" in x
               for x in ev), ev


def t_starttls_not_offered(top):
    srv = Server(tls_script(ehlo=["PIPELINING"]), top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        c.ehlo()
        assert not c.has_extn("starttls")
        code, _ = c.docmd("STARTTLS")
        assert code == 502, code
        c.quit()
    finally:
        srv.stop()


def t_delay(top):
    srv = Server({"rules": [{"on": "greeting", "delay_ms": 300}]}, top)
    try:
        t0 = time.monotonic()
        s = connect(srv.port)
        assert read_reply(s).startswith(b"220")
        assert time.monotonic() - t0 >= 0.3
        s.close()
    finally:
        srv.stop()


def t_trickle(top):
    srv = Server({"rules": [{"on": "greeting", "trickle_ms": 100,
                             "reply": "220 slow"}]}, top)
    try:
        s = connect(srv.port)
        t0 = time.monotonic()
        got, reads = b"", 0
        while not got.endswith(b"\r\n"):
            c = s.recv(100)
            assert c, "closed early: %r" % got
            got += c
            reads += 1
        took = time.monotonic() - t0
        assert got == b"220 slow\r\n", got
        # 10 bytes, 100 ms apart: at least 0.9 s, in several pieces.
        assert took >= 0.85, took
        assert reads >= 5, reads
        s.close()
    finally:
        srv.stop()
    assert any(e["text"].startswith("trickle 10 bytes")
               for e in srv.transcript())


def t_body_reply_reads_on(top):
    srv = Server({"rules": [{"on": "body", "after_bytes": 1000,
                             "reply": "552 5.3.4 too big",
                             "action": "continue"}]}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"EHLO x\r\n")
        read_reply(s)
        s.sendall(b"MAIL FROM:<a@b>\r\n")
        assert read_reply(s).startswith(b"250")
        s.sendall(b"RCPT TO:<c@d>\r\n")
        assert read_reply(s).startswith(b"250")
        s.sendall(b"DATA\r\n")
        assert read_reply(s).startswith(b"354")
        s.sendall(b"Subject: x\r\n\r\n" + b"0123456789\r\n" * 200)
        assert read_reply(s).startswith(b"552 5.3.4"), "no early reply"
        # It reads on: the rest of the data and the dot get no reply, and
        # the session goes on.
        s.sendall(b"0123456789\r\n" * 200 + b".\r\nNOOP\r\n")
        assert read_reply(s).startswith(b"250"), "no reply to NOOP"
        s.sendall(b"QUIT\r\n")
        read_reply(s)
        s.close()
    finally:
        srv.stop()
    m = srv.messages()
    assert len(m) == 1 and not m[0]["accepted"], m
    assert m[0]["reply"].startswith("552"), m[0]["reply"]
    assert len([e for e in srv.transcript()
                if e["text"].startswith("body fault")]) == 1


def t_extra_unsolicited(top):
    srv = Server({"rules": [{"on": "helo", "extra": "250 unsolicited\r\n"}]},
                 top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"HELO x\r\n")
        buf = b""
        while buf.count(b"\r\n") < 2:
            buf += s.recv(4096)
        assert buf == b"250 localhost\r\n250 unsolicited\r\n", buf
        s.close()
    finally:
        srv.stop()


def t_concurrent_and_sequential(top):
    srv = Server({}, top)
    try:
        a = connect(srv.port)
        b = connect(srv.port)
        assert read_reply(b).startswith(b"220")
        assert read_reply(a).startswith(b"220")
        a.close()
        b.close()
    finally:
        srv.stop()
    srv = Server({"concurrent": False}, top)
    try:
        a = connect(srv.port)
        assert read_reply(a).startswith(b"220")
        b = connect(srv.port)
        b.settimeout(0.5)
        try:
            b.recv(100)
            raise AssertionError("second session served concurrently")
        except socket.timeout:
            pass
        a.sendall(b"QUIT\r\n")
        read_until_close(a)
        b.settimeout(TIMEOUT)
        assert read_reply(b).startswith(b"220")
        b.close()
    finally:
        srv.stop()


def t_ipv6(top):
    srv = Server({"ipv6": True}, top)
    try:
        assert "port6" in srv.ports, srv.ports
        s = connect(srv.ports["port6"], socket.AF_INET6, "::1")
        assert read_reply(s).startswith(b"220")
        s.close()
        s = connect(srv.port)
        assert read_reply(s).startswith(b"220")
        s.close()
    finally:
        srv.stop()
    assert srv.connections() == 2


def t_script_errors(top):
    for script in ({"bogus": 1}, {"rules": [{"on": "nowhere"}]},
                   {"rules": [{"on": "mail", "reply": "x", "raw": "y"}]},
                   {"tls": "starttls"},
                   {"rules": [{"on": "body", "after_bytes": 3}]}):
        try:
            srv = Server(script, top)
            srv.stop()
            raise AssertionError("script accepted: %r" % script)
        except AssertionError as e:
            if "script accepted" in str(e):
                raise
            assert "server exited" in str(e), e


def t_dot_stuffing_and_terminator(top):
    srv = Server({}, top)
    body = (b"a\r\n..\r\n...b\r\n.\rnot end\r\nx.\r\n")
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        buf = b""
        while b"354" not in buf:
            buf += s.recv(4096)
        s.sendall(body + b".\r\n")
        assert read_reply(s).startswith(b"250")
        s.close()
    finally:
        srv.stop()
    m = srv.messages()[0]
    assert m["raw"] == body + b".\r\n", m["raw"]
    assert m["eml"] == b"a\r\n.\r\n..b\r\n\rnot end\r\nx.\r\n", m["eml"]


def t_records_survive_sigkill(top):
    srv = Server({}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"HELO survivor\r\n")
        read_reply(s)
        srv.stop(signal.SIGKILL)
        s.close()
    finally:
        srv.stop()
    assert "HELO survivor\r\n" in srv.lines(kind="in"), srv.transcript()


def t_line_too_long(top):
    srv = Server({"max_line": 1000}, top)
    try:
        s = connect(srv.port)
        read_reply(s)
        s.sendall(b"HELO " + b"x" * 3000 + b"\r\n")
        data = read_until_close(s)
        assert data.startswith(b"500 5.5.2"), data
    finally:
        srv.stop()


def t_toml_script_rule_conditions(top):
    script = """
tls = "starttls"
cert = "%s"
key = "%s"
ehlo = ["STARTTLS"]
ehlo_tls = ["AUTH PLAIN"]
users = { alice = "s3cret" }

[[rules]]
on = "ehlo"
tls = true
reply = "250-tls-side\\n250 AUTH PLAIN"

[[rules]]
on = "noop"
nth = 2
reply = "250 second noop"

[[rules]]
on = "vrfy"
times = 1
reply = "550 once"

[[rules]]
on = "mail"
arg = 'SIZE=999'
reply = "552 5.3.4 too big"

[[rules]]
on = "auth_done"
arg = 'PLAIN ok'
reply = "454 4.7.0 temporary authentication failure"
""" % (CERTS["server"], CERTS["server_key"])
    srv = Server(script, top)
    try:
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
        code, resp = c.ehlo()
        assert resp == b"localhost\nSTARTTLS", resp
        c.starttls(context=client_ctx())
        code, resp = c.ehlo()
        assert resp == b"tls-side\nAUTH PLAIN", resp
        assert c.noop() == (250, b"2.0.0 Ok")
        assert c.noop() == (250, b"second noop")
        assert c.noop() == (250, b"2.0.0 Ok")
        assert c.docmd("VRFY", "x")[0] == 550
        assert c.docmd("VRFY", "x")[0] == 252
        try:
            c.login("alice", "s3cret")
            raise AssertionError("login succeeded")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 454, e
        assert c.docmd("MAIL", "FROM:<a@b> SIZE=999")[0] == 552
        assert c.docmd("MAIL", "FROM:<a@b> SIZE=9")[0] == 250
        c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert "rule 4 (auth_done)" in ev, ev



# ------------------------------------------------- SASL: SCRAM, OAuth, EXTERNAL

def load_smtpd():
    """smtpd.py as a module (for its tls-exporter helper)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("smtpd_script", SMTPD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sasl_client(srv, ehlo_tls, **kw):
    """A client past STARTTLS and EHLO, on a server offering ehlo_tls."""
    c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
    ctx = client_ctx()
    for k, v in kw.items():
        setattr(ctx, k, v)
    c.starttls(context=ctx)
    code, resp = c.ehlo("client.example")
    assert ehlo_tls.encode() in resp, resp
    return c


def b64(data):
    return base64.b64encode(data).decode()


def scram(c, mech, user, pw, flag=None, cbdata=b"", proof_ok=True):
    """A SCRAM client written from RFC 5802, independent of the server.
    Returns (final code, server-final message or None, client-first)."""
    hname = "sha256" if "SHA-256" in mech else "sha1"
    h = lambda d: hashlib.new(hname, d).digest()      # noqa: E731
    mac = lambda k, d: hmac.new(k, d, hname).digest()  # noqa: E731
    if flag is None:
        flag = "p=tls-unique" if mech.endswith("-PLUS") else "n"
    gs2 = flag + ",,"
    cnonce = b64(os.urandom(12))
    bare = "n=%s,r=%s" % (user, cnonce)
    code, resp = c.docmd("AUTH", "%s %s" % (mech, b64((gs2 + bare).encode())))
    if code != 334:
        return code, None, gs2
    sfirst = base64.b64decode(resp).decode()
    a = dict(x.split("=", 1) for x in sfirst.split(","))
    assert a["r"].startswith(cnonce), sfirst
    salted = hashlib.pbkdf2_hmac(hname, pw.encode(), base64.b64decode(a["s"]),
                                 int(a["i"]))
    without = "c=%s,r=%s" % (b64(gs2.encode() + cbdata), a["r"])
    auth_msg = ",".join((bare, sfirst, without)).encode()
    ckey = mac(salted, b"Client Key")
    proof = bytes(x ^ y for x, y in zip(ckey, mac(h(ckey), auth_msg)))
    if not proof_ok:
        proof = bytes(x ^ 1 for x in proof)
    code, resp = c.docmd(b64(("%s,p=%s" % (without, b64(proof))).encode()))
    if code != 334:
        return code, None, gs2
    sfinal = base64.b64decode(resp)
    want = b"v=" + base64.b64encode(mac(mac(salted, b"Server Key"),
                                        auth_msg))
    if sfinal != want:
        code, resp = c.docmd("*")
        return code, sfinal, gs2
    code, resp = c.docmd("")
    return code, sfinal, gs2


def t_scram_sha1_sha256(top):
    offer = "AUTH SCRAM-SHA-1 SCRAM-SHA-256"
    srv = Server(tls_script(ehlo_tls=[offer]), top)
    try:
        for mech in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            c = sasl_client(srv, offer)
            code, sfinal, _ = scram(c, mech, "alice", "s3cret")
            assert code == 235 and sfinal.startswith(b"v="), (mech, code)
            c.quit()
            c = sasl_client(srv, offer)
            code, _, _ = scram(c, mech, "alice", "wrong")
            assert code == 535, (mech, code)
            c.quit()
            c = sasl_client(srv, offer)
            code, _, _ = scram(c, mech, "nobody", "s3cret")
            assert code == 535, (mech, code)
            c.quit()
            c = sasl_client(srv, offer)
            code, _, _ = scram(c, mech + "-PLUS", "alice", "s3cret")
            assert code == 504, (mech, code)    # not offered
            c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    for mech in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        assert "auth %s user='alice' ok" % mech in ev, ev
        assert "auth %s user='alice' failed" % mech in ev, ev
    assert "scram gs2 header 'n,,'" in ev, ev


def t_scram_iterations(top):
    """scram_iterations sets the server-first message's i=."""
    offer = "AUTH SCRAM-SHA-256"
    srv = Server(tls_script(ehlo_tls=[offer], scram_iterations=5000), top)
    try:
        c = sasl_client(srv, offer)
        nonce = b64(os.urandom(12))
        code, resp = c.docmd("AUTH", "SCRAM-SHA-256 %s" %
                             b64(("n,,n=alice,r=" + nonce).encode()))
        assert code == 334, code
        sfirst = base64.b64decode(resp).decode()
        assert sfirst.endswith(",i=5000"), sfirst
        c.docmd("*")
        c.quit()
        c = sasl_client(srv, offer)
        code, sfinal, _ = scram(c, "SCRAM-SHA-256", "alice", "s3cret")
        assert code == 235 and sfinal.startswith(b"v="), code
        c.quit()
    finally:
        srv.stop()
    for bad in (0, "many"):
        try:
            srv = Server({"scram_iterations": bad}, top)
            srv.stop()
            raise AssertionError("script accepted: %r" % bad)
        except AssertionError as e:
            if "script accepted" in str(e):
                raise


def t_scram_plus_tls_unique_and_exporter(top):
    mod = load_smtpd()
    offer = "AUTH SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS"
    srv = Server(tls_script(ehlo_tls=[offer]), top)
    try:
        # TLS 1.2: tls-unique, for both hashes; a wrong binding fails.
        for mech in ("SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"):
            c = sasl_client(srv, offer,
                            maximum_version=ssl.TLSVersion.TLSv1_2)
            cb = c.sock.get_channel_binding("tls-unique")
            code, sfinal, _ = scram(c, mech, "alice", "s3cret",
                                    cbdata=cb)
            assert code == 235, (mech, code)
            c.quit()
            c = sasl_client(srv, offer,
                            maximum_version=ssl.TLSVersion.TLSv1_2)
            code, _, _ = scram(c, mech, "alice", "s3cret",
                               cbdata=b"\0" * len(cb))
            assert code == 535, (mech, code)
            c.quit()
        # tls-unique does not exist in TLS 1.3; tls-exporter does.
        c = sasl_client(srv, offer, minimum_version=ssl.TLSVersion.TLSv1_3)
        code, _, _ = scram(c, "SCRAM-SHA-256-PLUS", "alice", "s3cret",
                           cbdata=c.sock.get_channel_binding("tls-unique"))
        assert code == 535, code
        c.quit()
        c = sasl_client(srv, offer, minimum_version=ssl.TLSVersion.TLSv1_3)
        cb = mod.tls_exporter(c.sock)
        assert cb is not None and len(cb) == 32, cb
        code, _, _ = scram(c, "SCRAM-SHA-256-PLUS", "alice", "s3cret",
                           flag="p=tls-exporter", cbdata=cb)
        assert code == 235, code
        c.quit()
        # "y" (client could bind, thinks the server cannot) while -PLUS
        # is offered: a downgrade, refused.
        c = sasl_client(srv, offer)
        code, _, _ = scram(c, "SCRAM-SHA-256", "alice", "s3cret", flag="y")
        assert code == 535, code
        c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert "scram gs2 header 'p=tls-exporter,,'" in ev, ev
    assert "scram: channel binding data does not match" in ev, ev
    assert "scram: no tls-unique channel binding here" in ev, ev
    assert "scram: 'y' flag while -PLUS is offered" in ev, ev


def t_scram_final_modes(top):
    offer = "AUTH SCRAM-SHA-256"
    for mode, want in (("skip", 235), ("wrong", 501), ("e", 501)):
        srv = Server(tls_script(ehlo_tls=[offer], scram_final=mode), top)
        try:
            c = sasl_client(srv, offer)
            code, sfinal, _ = scram(c, "SCRAM-SHA-256", "alice",
                                    "s3cret" if mode != "e" else "wrong")
            c.close()
        finally:
            srv.stop()
        assert code == want, (mode, code)
        if mode == "skip":
            assert sfinal is None, sfinal
        elif mode == "wrong":
            assert sfinal.startswith(b"v="), sfinal
        else:
            assert sfinal == b"e=invalid-proof", sfinal
    try:
        Server(tls_script(scram_final="maybe"), top)
        raise AssertionError("bad scram_final accepted")
    except AssertionError as e:
        assert "scram_final" in str(e), e


def t_xoauth2_and_oauthbearer(top):
    offer = "AUTH XOAUTH2 OAUTHBEARER"
    srv = Server(tls_script(ehlo_tls=[offer], users={"alice": "tok.1"}),
                 top)
    x = lambda tok: b64(b"user=alice\1auth=Bearer " + tok +  # noqa: E731
                        b"\1\1")
    o = lambda tok: b64(b"n,a=alice,\1host=localhost\1port=25\1"  # noqa
                        b"auth=Bearer " + tok + b"\1\1")
    try:
        c = sasl_client(srv, offer)
        assert c.docmd("AUTH", "XOAUTH2 " + x(b"tok.1"))[0] == 235
        c.quit()
        c = sasl_client(srv, offer)
        code, resp = c.docmd("AUTH", "XOAUTH2 " + x(b"tok.2"))
        assert code == 334, code
        err = json.loads(base64.b64decode(resp))
        assert err["status"] == "400", err
        assert c.docmd("")[0] == 535
        c.quit()
        c = sasl_client(srv, offer)
        assert c.docmd("AUTH", "OAUTHBEARER " + o(b"tok.1"))[0] == 235
        c.quit()
        c = sasl_client(srv, offer)
        code, resp = c.docmd("AUTH", "OAUTHBEARER " + o(b"tok.2"))
        assert code == 334, code
        err = json.loads(base64.b64decode(resp))
        assert err["status"] == "invalid_token", err
        assert c.docmd("AQ==")[0] == 535
        c.quit()
        c = sasl_client(srv, offer)
        # Without the final ^A^A the message is malformed.
        code, _ = c.docmd("AUTH", "OAUTHBEARER " + b64(
            b"n,a=alice,\1auth=Bearer tok.1"))
        assert code == 334, code
        assert c.docmd("AQ==")[0] == 535
        c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert "auth XOAUTH2 user='alice' ok" in ev, ev
    assert "auth OAUTHBEARER user='alice' ok" in ev, ev
    assert "XOAUTH2: client answered the error with b''" in ev, ev
    assert "OAUTHBEARER: client answered the error with b'\\x01'" in ev, ev


def t_external(top):
    offer = "AUTH EXTERNAL"
    srv = Server(tls_script(ehlo_tls=[offer], client_cert="optional",
                            client_ca=CERTS["ca"]), top)
    try:
        def with_cert(c):
            c.load_cert_chain(CERTS["client"], CERTS["client_key"])
        for authzid, want in (("=", 235), (b64(b"alice"), 235),
                              (b64(b"bob"), 535)):
            c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
            ctx = client_ctx()
            with_cert(ctx)
            c.starttls(context=ctx)
            c.ehlo()
            assert c.docmd("AUTH", "EXTERNAL " + authzid)[0] == want, authzid
            c.quit()
        c = sasl_client(srv, offer)
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 535
        c.quit()
    finally:
        srv.stop()
    ev = [e["text"] for e in srv.transcript() if e["dir"] == "event"]
    assert ev.count("auth EXTERNAL user='alice' ok") == 2, ev
    assert "external: no client certificate" in ev, ev


def t_tls_turns(top):
    """tls_turns = true: the handshake's flights count as turns.  A client
    doing EHLO, STARTTLS, EHLO, QUIT costs 4 turns as the server normally
    counts; the TLS 1.3 handshake adds the ClientHello round trip (the
    Finished rides with the second EHLO), TLS 1.2 two."""
    for tls_turns, version, want in (
            (False, ssl.TLSVersion.TLSv1_3, 4),
            (True, ssl.TLSVersion.TLSv1_3, 5),
            (True, ssl.TLSVersion.TLSv1_2, 6)):
        srv = Server(tls_script(tls_turns=tls_turns), top)
        try:
            c = smtplib.SMTP("127.0.0.1", srv.port, timeout=TIMEOUT)
            ctx = client_ctx()
            ctx.minimum_version = ctx.maximum_version = version
            c.starttls(context=ctx)
            c.login("alice", "s3cret")
            c.sendmail("a@example.org", ["b@example.org"], MSG)
            c.quit()
        finally:
            srv.stop()
        sess = srv.sessions()
        # Then AUTH CRAM-MD5 (two turns), MAIL, RCPT, DATA, message: six
        # more, smtplib does not pipeline.
        assert sess[0]["turns"] == want + 6, (tls_turns, version, sess)
        assert srv.messages()[0]["accepted"]


TESTS = [(n[2:], f) for n, f in sorted(globals().items())
         if n.startswith("t_") and callable(f)]


def main():
    global CERTS
    verbose = "-v" in sys.argv[1:]
    want = [a for a in sys.argv[1:] if a != "-v"]
    tests = [(n, f) for n, f in TESTS if not want or any(w in n
                                                         for w in want)]
    print("1..%d" % len(tests), flush=True)
    top = tempfile.mkdtemp(prefix="smtpd-selftest-")
    failed = 0
    try:
        if certs.certtool_path() is None:
            print("Bail out! " + certs.CERTTOOL_HINT, flush=True)
            return 1
        CERTS = certs.make_certs(os.path.join(top, "certs"))
        for i, (name, fn) in enumerate(tests, 1):
            try:
                t0 = time.monotonic()
                fn(top)
                print("ok %d - %s" % (i, name), flush=True)
                if verbose:
                    print("# %.2fs" % (time.monotonic() - t0))
            except Exception as e:
                failed += 1
                print("not ok %d - %s" % (i, name))
                lines = traceback.format_exc().splitlines() if verbose \
                    else ["%s: %s" % (type(e).__name__, e)]
                for l in lines:
                    print("# " + l)
                sys.stdout.flush()
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
