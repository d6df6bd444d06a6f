#!/usr/bin/python3
"""A small SMTP client built on smtplib, used only to test the test
harness itself (tests/server/smtpd.py and tests/cases/run) without
posthorn.  It reads a message on standard input and sends it.

Exit status: 0 sent, 1 SMTP error (the reply on stderr), 2 other error.
"""

import argparse
import smtplib
import ssl
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", choices=("none", "starttls", "implicit"),
                    default="none")
    ap.add_argument("--cafile")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--from", dest="sender", required=True)
    ap.add_argument("--to", action="append", required=True)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.cafile) if a.cafile else None
    data = sys.stdin.buffer.read()
    try:
        if a.tls == "implicit":
            s = smtplib.SMTP_SSL(a.host, a.port, context=ctx,
                                 timeout=a.timeout)
        else:
            s = smtplib.SMTP(a.host, a.port, timeout=a.timeout)
        if a.tls == "starttls":
            s.starttls(context=ctx)
        if a.user:
            s.login(a.user, a.password)
        s.sendmail(a.sender, a.to, data)
        s.quit()
    except smtplib.SMTPResponseException as e:
        print("smtp error: %d %s" % (e.smtp_code,
                                     e.smtp_error.decode("latin-1")),
              file=sys.stderr)
        return 1
    except smtplib.SMTPRecipientsRefused as e:
        print("recipients refused: %r" % (e.recipients,), file=sys.stderr)
        return 1
    except (OSError, smtplib.SMTPException) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
