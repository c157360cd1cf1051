"""A container credentials endpoint (what Lambda SnapStart, ECS and EKS Pod Identity serve), stdlib only.

GET any path -> {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} when the Authorization header
equals `token`; 401 (header missing) or 403 (wrong) with a JSON error otherwise; 500s while `fail` is set.
Every request is recorded as (path, authorization header) in `requests`.
"""

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ContainerCredentialsServer:
    def __init__(self, credentials, token, host="127.0.0.1"):
        self.credentials = credentials  # dict with AccessKeyId, SecretAccessKey, Token
        self.token = token
        self.fail = False
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self):
                auth = self.headers.get("Authorization")
                owner.requests.append((self.path, auth))
                if owner.fail:
                    return self._send(500, {"code": "InternalError", "message": "told to fail"})
                if auth is None:
                    return self._send(401, {"code": "Unauthorized", "message": "no Authorization header"})
                if auth != owner.token:
                    return self._send(403, {"code": "AccessDenied", "message": "bad authorization token"})
                expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
                self._send(200, {
                    "AccessKeyId": owner.credentials["AccessKeyId"],
                    "SecretAccessKey": owner.credentials["SecretAccessKey"],
                    "Token": owner.credentials["Token"],
                    "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                })

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/creds"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
