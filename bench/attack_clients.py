#!/usr/bin/env python3
"""Misbehaving clients for bench/attack.sh: many at once, for a bounded time.

usage: attack_clients.py MODE HOST PORT SECONDS CONCURRENCY

MODE:
  abandon   POST with Content-Length 1 MiB, send 1-8 KiB of it, close the socket
  oversize  GET with a head just under the listener's limit (forwarded) or over it (431),
            and a request line over it (414)
  framing   POST with broken chunked framing (bad size, missing CRLF, garbage after a chunk)

Each connection's Host is its own (the mode's first letter and a number), so a server log line
that quotes one can be traced to the connection that sent it. Prints one line:
"sent=N STATUS=N ...", and on stderr any answer that is not a status line.
"""
import asyncio
import random
import sys
from collections import Counter


SEQ = [0]


async def one(mode, host, port, statuses):
    SEQ[0] += 1
    h = ("%s%d" % (mode[0], SEQ[0])).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        if mode == "abandon":
            size = random.randint(1024, 8192)
            writer.write(b"POST /upload HTTP/1.1\r\nHost: " + h + b"\r\nContent-Length: 1048576\r\n\r\n" + b"x" * size)
            await writer.drain()
            statuses["abandoned"] += 1
            return
        if mode == "oversize":
            kind = random.randrange(3)
            if kind == 0:
                req = b"GET / HTTP/1.1\r\nHost: " + h + b"\r\nX-Big: " + b"b" * 7900 + b"\r\nConnection: close\r\n\r\n"
            elif kind == 1:
                req = b"GET / HTTP/1.1\r\nHost: " + h + b"\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n"
            else:
                req = b"GET /" + b"u" * 9000 + b" HTTP/1.1\r\nHost: " + h + b"\r\nConnection: close\r\n\r\n"
        else:
            kind = random.randrange(3)
            body = [b"zz\r\nhello\r\n", b"5\r\nhelloXX0\r\n\r\n", b"5\r\nhello\r\n-1\r\n\r\n"][kind]
            req = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body
        writer.write(req)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        if not line:
            statuses["closed"] += 1
        elif not line.startswith(b"HTTP/1.1 ") or len(line) < 12:
            # Anything but a status line is a proxy bug: count it apart and show what came.
            statuses["garbled"] += 1
            rest = await asyncio.wait_for(reader.read(300), 2)
            print("garbled answer to %r: %r" % (req[:120], line + rest), file=sys.stderr)
        else:
            statuses[line[9:12].decode()] += 1
    finally:
        writer.close()


async def worker(mode, host, port, deadline, statuses):
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            await one(mode, host, port, statuses)
        except (OSError, asyncio.TimeoutError):
            statuses["error"] += 1


async def main():
    mode, host, port, seconds, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    statuses = Counter()
    deadline = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(*(worker(mode, host, port, deadline, statuses) for _ in range(concurrency)))
    print("sent=%d %s" % (sum(statuses.values()), " ".join("%s=%d" % kv for kv in sorted(statuses.items()))))


if __name__ == "__main__":
    asyncio.run(main())
