"""Throwaway certificates for posthorn's end-to-end tests.

make_certs(dir) runs certtool (GnuTLS, Debian package gnutls-bin) to create,
in dir, a small PKI that the scripted SMTP server and the runner share:

  ca.pem / ca.key                 a test CA (the client's tls_trust_file)
  server.pem / server.key         "localhost", 127.0.0.1 and ::1, signed by CA
  wronghost.pem / wronghost.key   "wrong.example" only, signed by CA
  expired.pem / expired.key       localhost, signed by CA, expired in 2001
  selfsigned.pem / selfsigned.key localhost, self-signed, not in any trust file
  client.pem / client.key         a TLS client certificate signed by CA
  otherca.pem / otherca.key       a second CA that trusts nothing above

Keys are ECDSA P-256 so that generation takes milliseconds.  Nothing here
reaches the network.  Standard library only.
"""

import hashlib
import os
import shutil
import ssl
import subprocess

CERTTOOL_HINT = ("certtool not found: install it with "
                 "'apt-get install gnutls-bin'")

# name -> (template lines, signer or None for self-signed)
_CERTS = [
    ("ca", ["cn = posthorn test CA", "ca", "cert_signing_key",
            "expiration_days = 3650"], None),
    ("otherca", ["cn = posthorn other CA", "ca", "cert_signing_key",
                 "expiration_days = 3650"], None),
    ("server", ["cn = localhost", "dns_name = localhost",
                "ip_address = 127.0.0.1", "ip_address = ::1",
                "tls_www_server", "signing_key", "encryption_key",
                "expiration_days = 3650"], "ca"),
    ("wronghost", ["cn = wrong.example", "dns_name = wrong.example",
                   "tls_www_server", "signing_key", "encryption_key",
                   "expiration_days = 3650"], "ca"),
    ("expired", ["cn = localhost", "dns_name = localhost",
                 "ip_address = 127.0.0.1", "ip_address = ::1",
                 "tls_www_server", "signing_key", "encryption_key",
                 "activation_date = \"2000-01-01 00:00:00 UTC\"",
                 "expiration_date = \"2001-01-01 00:00:00 UTC\""], "ca"),
    ("selfsigned", ["cn = localhost", "dns_name = localhost",
                    "ip_address = 127.0.0.1", "ip_address = ::1",
                    "tls_www_server", "signing_key", "encryption_key",
                    "expiration_days = 3650"], None),
    ("client", ["cn = alice", "email = alice@example.org",
                "tls_www_client", "signing_key", "encryption_key",
                "expiration_days = 3650"], "ca"),
]


class CertError(Exception):
    pass


def certtool_path():
    return shutil.which("certtool")


def _run(argv):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise CertError("%s failed (%d): %s" % (
            " ".join(argv), r.returncode,
            r.stderr.decode("utf-8", "replace").strip()[-500:]))


def make_certs(directory):
    """Create the certificate set in directory; return a dict of paths."""
    tool = certtool_path()
    if tool is None:
        raise CertError(CERTTOOL_HINT)
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for name, tmpl, signer in _CERTS:
        key = os.path.join(directory, name + ".key")
        pem = os.path.join(directory, name + ".pem")
        tpl = os.path.join(directory, name + ".tmpl")
        with open(tpl, "w") as f:
            f.write("\n".join(tmpl) + "\n")
        _run([tool, "--generate-privkey", "--key-type=ecdsa",
              "--curve=secp256r1", "--outfile", key])
        if signer is None:
            _run([tool, "--generate-self-signed", "--load-privkey", key,
                  "--template", tpl, "--outfile", pem])
        else:
            _run([tool, "--generate-certificate", "--load-privkey", key,
                  "--load-ca-certificate",
                  os.path.join(directory, signer + ".pem"),
                  "--load-ca-privkey",
                  os.path.join(directory, signer + ".key"),
                  "--template", tpl, "--outfile", pem])
        os.chmod(key, 0o600)
        paths[name] = pem
        paths[name + "_key"] = key
    return paths


def fingerprint(pem_path, algo="sha256"):
    """Colon-separated upper-case hex digest of the certificate's DER form,
    as msmtp's tls_fingerprint takes it."""
    with open(pem_path) as f:
        text = f.read()
    # The file holds a single certificate; certtool may print text before
    # the PEM block, which PEM_cert_to_DER_cert does not accept.
    begin = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----") + len(
        "-----END CERTIFICATE-----")
    der = ssl.PEM_cert_to_DER_cert(text[begin:end] + "\n")
    h = hashlib.new(algo, der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))
