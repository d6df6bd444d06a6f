#!/usr/bin/python3
"""rcptlist: the recipient lists of issue 8 row 1, for tests/cases.

    rcptlist.py make N FILE     writes a message for `sendmail -t` whose To:
                                names N recipients u0..u(N-1), every other
                                one under example.com.au (an address whose
                                cut would still be an address), in To:
                                fields of 2,000 each (a field is capped)
    rcptlist.py check N JSON    exits 0 when the server's record of a
                                message (messages/NNNNNN.json) has exactly
                                those N recipients, in order, byte for byte;
                                else says where they differ and exits 1
"""

import json
import sys


def addrs(n):
    return ["u%d@example.com%s" % (i, ".au" if i % 2 else "")
            for i in range(n)]


def main():
    what, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    want = addrs(n)
    if what == "make":
        with open(path, "w") as f:
            f.write("From: alice@example.org\nSubject: newsletter\n")
            for k in range(0, n, 2000):
                f.write("To: " + ",\n ".join(want[k:k + 2000]) + "\n")
            f.write("\nhello\n")
        return 0
    with open(path) as f:
        got = [r["addr"] for r in json.load(f)["rcpts"]]
    if got == want:
        return 0
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            print("recipient %d: got %r, expected %r" % (i, a, b))
            break
    print("%d recipients, expected %d" % (len(got), len(want)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
