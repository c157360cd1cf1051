#!/usr/bin/env python3
"""A loopback TCP proxy that adds a fixed delay, for round trips this kernel cannot add (no netem).

    delayproxy.py --upstream HOST:PORT --delay-ms D [--port 0]

Every chunk is forwarded D ms after it arrived, in both directions and in order, so each round
trip gains 2D ms ("10 ms RTT" is D = 5). The TCP handshake, which completes at once on loopback,
is charged one round trip too: the client's first bytes are held until 2D ms after it connected
(then D more, as for any chunk). TLS passes through untouched. Listens on 127.0.0.1 only and
prints one JSON line when ready: {"port": N}.
"""

import argparse
import asyncio
import json
import socket
import sys
import time


async def pump(reader, writer, delay, hold_until):
    """Copy reader to writer, each chunk D after it arrived (and never before hold_until + D)."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def out():
        while True:
            due, data = await queue.get()
            # The event loop wakes up to a millisecond late (epoll's timeout is in whole ms): sleep
            # in it until just before the due time, then finish with a precise blocking sleep.
            wait = due - loop.time()
            if wait > 0.0015:
                await asyncio.sleep(wait - 0.0015)
            wait = due - loop.time()
            if wait > 0:
                time.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(out())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((max(loop.time(), hold_until) + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()


async def handle(client_r, client_w, upstream, delay):
    loop = asyncio.get_running_loop()
    accepted = loop.time()
    host, port = upstream
    try:
        up_r, up_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    for w in (client_w, up_w):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.gather(pump(client_r, up_w, delay, accepted + 2 * delay),
                             pump(up_r, client_w, delay, accepted))
    finally:
        client_w.close()
        up_w.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="HOST:PORT on loopback")
    ap.add_argument("--delay-ms", type=float, required=True, help="one-way delay D (round trip +2D)")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("delayproxy: the upstream must be on loopback")
    delay = a.delay_ms / 1000
    server = await asyncio.start_server(lambda r, w: handle(r, w, (host, int(port)), delay), "127.0.0.1", a.port,
                                        backlog=256)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
