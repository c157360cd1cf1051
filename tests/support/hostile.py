"""Small loopback servers for the hostile-input tests (test_hostile.py).

`ScriptedServer` answers every request with one fixed HTTP reply, over TLS or plain TCP, and counts
the connections it accepted: a TLS failure that is retried shows up as more than one. It never
reads more than the request's head and its Content-Length.
"""

import socket
import ssl
import threading

from support.proxy import read_head


class ScriptedServer:
    def __init__(self, reply=b"", cert=None, key=None, host="127.0.0.1"):
        self.reply = reply
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._ctx = None
        if cert:
            self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ctx.load_cert_chain(cert, key)
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.host = host
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self):
        return f"{'https' if self._ctx else 'http'}://{self.host}:{self.port}"

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            if self._ctx:
                conn = self._ctx.wrap_socket(conn, server_side=True)
            head = read_head(conn)
            if head is None:
                return
            head, rest = head.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                rest += chunk
            with self._lock:
                self.requests += 1
            reply = self.reply() if callable(self.reply) else self.reply
            conn.sendall(reply)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self._stop = True
        self._sock.close()


def http_reply(status, body=b"", headers=()):
    """An HTTP/1.1 reply with Content-Length and `Connection: close`; headers are (bytes, bytes)."""
    reason = {200: b"OK", 400: b"Bad Request", 403: b"Forbidden"}.get(status, b"X")
    lines = [b"HTTP/1.1 %d %s" % (status, reason), b"Content-Length: %d" % len(body), b"Connection: close"]
    lines += [k + b": " + v for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
