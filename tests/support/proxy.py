"""A minimal HTTP CONNECT proxy (stdlib) that records the targets it was asked for.

With `tunnel=False` it only records and answers 502, so a test can see which host a client wanted
(e.g. the default AWS endpoint) without any traffic leaving the machine.
"""

import select
import socket
import socketserver
import threading


def read_head(sock):
    """Everything up to the end of an HTTP request head; None when the peer closed first."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        head += chunk
    return head


class ConnectProxy:
    def __init__(self, tunnel=True):
        self.targets = []
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                client = self.request
                head = read_head(client)
                if head is None:
                    return
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, target, _ = (line.split(" ") + ["", ""])[:3]
                owner.targets.append((method, target))
                if method != "CONNECT" or not tunnel:
                    client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                host, port = target.rsplit(":", 1)
                try:
                    upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
                except OSError:
                    client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
                if rest:
                    upstream.sendall(rest)
                with upstream:
                    socks = [client, upstream]
                    while True:
                        readable, _, _ = select.select(socks, [], [], 10)
                        if not readable:
                            return
                        for s in readable:
                            data = s.recv(65536)
                            if not data:
                                return
                            (upstream if s is client else client).sendall(data)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
