#!/usr/bin/env python3
"""oauthd.py: a mock OAuth2 authorization server for posthorn's tests.

Python standard library only.  HTTPS on 127.0.0.1 (a port the kernel
picks) with the test CA's server certificate.  Endpoints:

  POST /device     device authorization (RFC 8628 3.1)
  GET  /authorize  authorization request (RFC 6749 4.1.1); the scripted
                   "user" approves or denies at once and the answer is a
                   302 to the redirect_uri with code and state (or error)
  POST /token      grant_type authorization_code (PKCE S256 verified),
                   refresh_token (with or without rotation),
                   client_credentials, and the device_code grant
  POST /revoke     revocation (RFC 7009)

Running it:

    oauthd.py --script FILE.json --state-dir DIR --cert C --key K

It writes DIR/ports.json and prints "READY {json}" once listening, and
runs until SIGTERM.  In DIR it keeps:

  requests.json  {"device": N, "authorize": N, "token": N,
                  "token_refresh": N, "token_code": N, "token_device": N,
                  "token_client": N, "revoke": N} counts so far
  tokens.json    {"access": {TOKEN: {"user": U, "expires": EPOCH}},
                  "refresh": {TOKEN: {"user": U, "valid": bool}}}, which
                 smtpd.py reads (script key oauth_tokens) to accept only
                 tokens issued here and not expired
  control.json   optional, written by a test between steps: its keys
                 override the script's for every later request

Script keys (all optional; control.json may change any of them):

  client_id = "posthorn-test"     the only client accepted
  client_secret = null            required when set
  user = "alice"                  whom tokens are for
  prefix = "mock"                 tokens are PREFIX-at-N, PREFIX-rt-N,
                                  device codes PREFIX-dc-N, codes
                                  PREFIX-code-N (so tests know the
                                  secrets in advance)
  expires_in = 3600               lifetime of access tokens
  fixed_access_token = null       every access token is this one (a
                                  static test token that a real server,
                                  Dovecot in tests/interop, checks like
                                  a password)
  rotate = false                  a refresh answers a new refresh token
  old_refresh_valid = true        with rotate: the old one still works
  approve = true                  the scripted user approves (device and
                                  authorize); false: access_denied
  pending = 0                     device grant: authorization_pending
                                  this many times first
  slow_down = 0                   then slow_down this many times
  device_expire = false           device grant: expired_token
  interval = 0                    device: the polling interval offered
  token_error = null              every token request answers this error
                                  (400, e.g. "invalid_grant")
  token_status = null             every token request answers this HTTP
                                  status with a JSON error (e.g. 500)
  token_body = null               every token request answers this body
                                  as it is (malformed JSON tests), 200
  token_big = false               a 10 MiB body
  token_stall = false             the token endpoint never answers
  token_delay_ms = 0              wait before answering a token request
  revoke_status = 200

Command-line helpers for steps (editing tokens.json under its lock):

  oauthd.py --state-dir DIR --expire-access   every access token expired
  oauthd.py --state-dir DIR --revoke-grants   every refresh token invalid
"""

import argparse
import base64
import fcntl
import hashlib
import http.server
import json
import os
import signal
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

DEFAULTS = {
    "client_id": "posthorn-test", "client_secret": None, "user": "alice",
    "prefix": "mock", "expires_in": 3600, "rotate": False,
    "old_refresh_valid": True, "approve": True, "pending": 0,
    "slow_down": 0, "device_expire": False, "interval": 0,
    "token_error": None, "token_status": None, "token_body": None,
    "token_big": False, "token_stall": False, "token_delay_ms": 0,
    "revoke_status": 200, "fixed_access_token": None,
}


class State:
    """Counters, issued tokens, device and code grants; one lock."""

    def __init__(self, d, script):
        self.dir = d
        self.script = script
        self.lock = threading.Lock()
        self.counts = {k: 0 for k in (
            "device", "authorize", "token", "token_refresh", "token_code",
            "token_device", "token_client", "revoke")}
        self.n = 0
        self.devices = {}       # device_code -> {"polls": n, "slow": n}
        self.codes = {}         # code -> {challenge, redirect_uri}
        self.stop = threading.Event()
        with_tokens(d, lambda t: None)

    def conf(self, key):
        try:
            with open(os.path.join(self.dir, "control.json")) as f:
                ctl = json.load(f)
        except FileNotFoundError:
            ctl = {}
        if key in ctl:
            return ctl[key]
        return self.script.get(key, DEFAULTS[key])

    def count(self, *keys):
        with self.lock:
            for k in keys:
                self.counts[k] += 1
            tmp = os.path.join(self.dir, "requests.json.tmp")
            with open(tmp, "w") as f:
                json.dump(self.counts, f)
            os.replace(tmp, os.path.join(self.dir, "requests.json"))

    def next(self, kind):
        with self.lock:
            self.n += 1
            return "%s-%s-%d" % (self.conf("prefix"), kind, self.n)

    def issue(self, refresh=True):
        """A new access token (and refresh token), recorded."""
        at = self.conf("fixed_access_token") or self.next("at")
        rt = self.next("rt") if refresh else None
        exp = self.conf("expires_in")
        user = self.conf("user")

        def add(t):
            t["access"][at] = {"user": user, "expires": time.time() + exp}
            if rt:
                t["refresh"][rt] = {"user": user, "valid": True}
        with_tokens(self.dir, add)
        body = {"access_token": at, "token_type": "Bearer",
                "expires_in": exp, "scope": "mail"}
        if rt:
            body["refresh_token"] = rt
        return body


def with_tokens(d, fn):
    """Runs fn on tokens.json's contents under an flock; writes back."""
    path = os.path.join(d, "tokens.json")
    with open(os.path.join(d, "tokens.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(path) as f:
                t = json.load(f)
        except FileNotFoundError:
            t = {"access": {}, "refresh": {}}
        r = fn(t)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(t, f)
        os.replace(tmp, path)
        return r


def s256(verifier):
    h = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(h).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oauthd"

    def log_message(self, fmt, *args):
        sys.stderr.write("oauthd: " + (fmt % args) + "\n")

    @property
    def st(self):
        return self.server.state

    def send_json(self, status, obj, chunked=False):
        body = json.dumps(obj).encode()
        self.send_raw(status, body, chunked)

    def send_raw(self, status, body, chunked=False,
                 ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(
            raw, keep_blank_values=True).items()}

    def client_ok(self, f):
        if f.get("client_id") != self.st.conf("client_id"):
            return False
        sec = self.st.conf("client_secret")
        return sec is None or f.get("client_secret") == sec

    # ---------------------------------------------------------- routes

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/authorize":
            return self.send_json(404, {"error": "not_found"})
        self.st.count("authorize")
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        redirect = q.get("redirect_uri", "")
        if (q.get("client_id") != self.st.conf("client_id")
                or not redirect.startswith("http://127.0.0.1:")
                or q.get("code_challenge_method") != "S256"
                or q.get("response_type") != "code"):
            return self.send_json(400, {"error": "invalid_request"})
        if self.st.conf("approve"):
            code = self.st.next("code")
            self.st.codes[code] = {"challenge": q.get("code_challenge"),
                                   "redirect_uri": redirect}
            args = {"code": code, "state": q.get("state", "")}
        else:
            args = {"error": "access_denied", "state": q.get("state", "")}
        self.send_response(302)
        self.send_header("Location",
                         redirect + "?" + urllib.parse.urlencode(args))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        f = self.form()
        if path == "/device":
            return self.device(f)
        if path == "/token":
            return self.token(f)
        if path == "/revoke":
            return self.revoke(f)
        self.send_json(404, {"error": "not_found"})

    def device(self, f):
        self.st.count("device")
        if not self.client_ok(f):
            return self.send_json(401, {"error": "invalid_client"})
        dc = self.st.next("dc")
        self.st.devices[dc] = {"polls": 0, "slow": 0}
        self.send_json(200, {
            "device_code": dc, "user_code": "WDJB-MJHT",
            "verification_uri": "https://127.0.0.1/device",
            "expires_in": 600, "interval": self.st.conf("interval")})

    def token(self, f):
        st = self.st
        grant = f.get("grant_type", "")
        kind = {"refresh_token": "token_refresh",
                "authorization_code": "token_code",
                "client_credentials": "token_client",
                "urn:ietf:params:oauth:grant-type:device_code":
                    "token_device"}.get(grant)
        st.count("token", *([kind] if kind else []))
        if st.conf("token_delay_ms"):
            time.sleep(st.conf("token_delay_ms") / 1000)
        if st.conf("token_stall"):
            st.stop.wait(120)
            return
        if st.conf("token_big"):
            return self.send_raw(200, b" " * (10 * 1024 * 1024))
        if st.conf("token_body") is not None:
            return self.send_raw(200, st.conf("token_body").encode())
        if st.conf("token_status") is not None:
            return self.send_json(st.conf("token_status"),
                                  {"error": "server_error"})
        if st.conf("token_error") is not None:
            return self.send_json(400, {"error": st.conf("token_error")})
        if not self.client_ok(f):
            return self.send_json(401, {"error": "invalid_client"})
        if kind == "token_refresh":
            return self.refresh(f)
        if kind == "token_code":
            return self.code(f)
        if kind == "token_device":
            return self.device_token(f)
        if kind == "token_client":
            return self.send_json(200, st.issue(refresh=False))
        self.send_json(400, {"error": "unsupported_grant_type"})

    def refresh(self, f):
        st = self.st
        rt = f.get("refresh_token", "")

        def check(t):
            r = t["refresh"].get(rt)
            return r is not None and r["valid"]
        if not with_tokens(st.dir, check):
            return self.send_json(400, {"error": "invalid_grant"})
        body = st.issue(refresh=st.conf("rotate"))
        if st.conf("rotate") and not st.conf("old_refresh_valid"):
            def drop(t):
                t["refresh"][rt]["valid"] = False
            with_tokens(st.dir, drop)
        # Chunked on purpose: posthorn must read both framings.
        self.send_json(200, body, chunked=True)

    def code(self, f):
        st = self.st
        c = st.codes.pop(f.get("code", ""), None)
        if (c is None or c["redirect_uri"] != f.get("redirect_uri")
                or s256(f.get("code_verifier", "")) != c["challenge"]):
            return self.send_json(400, {"error": "invalid_grant"})
        self.send_json(200, st.issue())

    def device_token(self, f):
        st = self.st
        d = st.devices.get(f.get("device_code", ""))
        if d is None:
            return self.send_json(400, {"error": "invalid_grant"})
        if st.conf("device_expire"):
            return self.send_json(400, {"error": "expired_token"})
        if d["slow"] < st.conf("slow_down"):
            d["slow"] += 1
            return self.send_json(400, {"error": "slow_down"})
        if d["polls"] < st.conf("pending"):
            d["polls"] += 1
            return self.send_json(400, {"error": "authorization_pending"})
        if not st.conf("approve"):
            return self.send_json(400, {"error": "access_denied"})
        del st.devices[f["device_code"]]
        self.send_json(200, st.issue())

    def revoke(self, f):
        st = self.st
        st.count("revoke")
        tok = f.get("token", "")

        def drop(t):
            if tok in t["refresh"]:
                t["refresh"][tok]["valid"] = False
            t["access"].pop(tok, None)
        with_tokens(st.dir, drop)
        self.send_raw(st.conf("revoke_status"), b"", ctype="text/plain")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def edit(d, what):
    def expire(t):
        for v in t["access"].values():
            v["expires"] = 0

    def revoke(t):
        for v in t["refresh"].values():
            v["valid"] = False
    with_tokens(d, expire if what == "expire" else revoke)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--expire-access", action="store_true")
    ap.add_argument("--revoke-grants", action="store_true")
    a = ap.parse_args()
    if a.expire_access or a.revoke_grants:
        edit(a.state_dir, "expire" if a.expire_access else "revoke")
        return 0
    script = {}
    if a.script:
        with open(a.script) as f:
            script = json.load(f)
    unknown = set(script) - set(DEFAULTS)
    if unknown:
        sys.stderr.write("oauthd: unknown script keys: %s\n"
                         % ", ".join(sorted(unknown)))
        return 2
    srv = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(a.state_dir, script)
    port = srv.server_address[1]
    info = {"port": port, "pid": os.getpid()}
    with open(os.path.join(a.state_dir, "ports.json"), "w") as f:
        json.dump(info, f)

    def stop(signum, frame):
        srv.state.stop.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY " + json.dumps(info), flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
