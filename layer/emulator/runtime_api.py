#!/usr/bin/env python3
"""A small Lambda Runtime API emulator (stdlib only) for tests and cold-start measurements.

    runtime_api.py [options] [--wrapper PATH] -- INTERPRETER [ARGS...]

It starts the runtime the way a managed runtime's bootstrap does: `WRAPPER INTERPRETER ARGS...`
when a wrapper is given (AWS_LAMBDA_EXEC_WRAPPER), else `INTERPRETER ARGS...`, with
AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT, _HANDLER, LAMBDA_TASK_ROOT and the other variables
Lambda sets, the working directory at the task root, and the child's stdout sent to stderr.
It serves /2018-06-01/runtime/invocation/next, .../invocation/{id}/response|error and
/runtime/init/error, hands out --count invocations, then stops the runtime and prints one JSON
object on stdout:

    pid          the runtime's PID (an exec chain keeps it: wrapper, bootstrap and runtime share it)
    init_ms      process start -> first GET /next (Lambda's "Init Duration"); null if never
    init_error   body and error type of POST /runtime/init/error, if any
    exit_code    the runtime's exit status if it exited on its own (negative: killed by signal)
    error_type   "Runtime.ExitError" if it exited before its first /next, "Runtime.InitTimeout", ...
    invocations  per request: id, status (response|error|timeout|runtime_exited), duration_ms, body

Exit status: 0 if every invocation got a response, else 1; 2 for a usage error.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class State:
    def __init__(self, events, timeout_s, arn):
        self.cond = threading.Condition()
        self.pending = list(events)  # events not handed out yet
        self.timeout_s, self.arn = timeout_s, arn
        self.t0 = None  # monotonic time of the runtime's process start
        self.first_next = None
        self.init_error = None
        self.invocations = {}  # request id -> record, in hand-out order
        self.stopping = False

    def outstanding(self):
        return [r for r in self.invocations.values() if r["status"] == "running"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid the delayed-ACK stall

    def log_message(self, *args):
        pass

    def reply(self, code, obj=None, body=b"", headers=()):
        if obj is not None:
            body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def do_GET(self):
        st = self.server.state
        if self.path != PREFIX + "/invocation/next":
            return self.reply(404, {"errorType": "NotFound", "errorMessage": self.path})
        with st.cond:
            if st.first_next is None:
                st.first_next = time.monotonic()
            st.cond.notify_all()
            # Long poll: block while an invocation is running or nothing is left; the emulator
            # stops the runtime once everything is answered, as Lambda freezes/kills it.
            while not st.stopping and (st.outstanding() or not st.pending):
                st.cond.wait()
            if st.stopping:
                self.close_connection = True
                return
            event = st.pending.pop(0)
            rid = str(uuid.uuid4())
            now = time.time()
            st.invocations[rid] = {"request_id": rid, "status": "running", "t": time.monotonic()}
        trace = f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        self.reply(200, body=json.dumps(event).encode(), headers=(
            ("Lambda-Runtime-Aws-Request-Id", rid),
            ("Lambda-Runtime-Deadline-Ms", str(int((now + st.timeout_s) * 1000))),
            ("Lambda-Runtime-Invoked-Function-Arn", st.arn),
            ("Lambda-Runtime-Trace-Id", trace)))

    def do_POST(self):
        st = self.server.state
        parts = self.path[len(PREFIX):].strip("/").split("/") if self.path.startswith(PREFIX) else []
        body = self.body()
        etype = self.headers.get("Lambda-Runtime-Function-Error-Type")
        with st.cond:
            if parts == ["init", "error"]:
                if st.first_next is not None:
                    return self.reply(403, {"errorType": "InvalidStateTransition", "errorMessage": "not in init"})
                st.init_error = {"error_type": etype, "body": body}
            elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                rec = st.invocations.get(parts[1])
                if rec is None:
                    return self.reply(400, {"errorType": "InvalidRequestID", "errorMessage": parts[1]})
                if rec["status"] != "running":
                    return self.reply(403, {"errorType": "InvalidStateTransition", "errorMessage": "already answered"})
                rec.update(status=parts[2], duration_ms=round((time.monotonic() - rec.pop("t")) * 1000, 3), body=body)
                if etype:
                    rec["error_type"] = etype
            else:
                return self.reply(404, {"errorType": "NotFound", "errorMessage": self.path})
            st.cond.notify_all()
        self.reply(202, {"status": "OK"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the runtime was killed mid-connection
            super().handle_error(request, client_address)


def child_env(a, port):
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "_HANDLER": a.handler,
        "LAMBDA_TASK_ROOT": a.task_root,
        "LAMBDA_RUNTIME_DIR": a.runtime_dir,
        "AWS_LAMBDA_FUNCTION_NAME": a.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(a.memory),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{a.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
        "TZ": ":UTC",
    })
    env.setdefault("AWS_REGION", a.region)
    env.setdefault("AWS_DEFAULT_REGION", env["AWS_REGION"])
    if a.wrapper:
        env["AWS_LAMBDA_EXEC_WRAPPER"] = a.wrapper
    else:
        env.pop("AWS_LAMBDA_EXEC_WRAPPER", None)
    return env


def main(argv=None):
    p = argparse.ArgumentParser(description="Lambda Runtime API emulator", usage=__doc__.split("\n")[2].strip())
    p.add_argument("--wrapper", default="", help="AWS_LAMBDA_EXEC_WRAPPER: started as WRAPPER INTERPRETER ARGS...")
    p.add_argument("--handler", default="handler.handler", help="_HANDLER (default: handler.handler)")
    p.add_argument("--task-root", default=os.getcwd(), help="LAMBDA_TASK_ROOT and the working directory")
    p.add_argument("--runtime-dir", default="/var/runtime")
    p.add_argument("--count", type=int, default=1, help="invocations to hand out (default 1)")
    p.add_argument("--event", default="{}", help="event JSON for every invocation (default {})")
    p.add_argument("--function-name", default="lambda-secrets-test")
    p.add_argument("--region", default="us-east-1", help="AWS_REGION if the environment has none")
    p.add_argument("--memory", type=int, default=128)
    p.add_argument("--init-timeout", type=float, default=10.0, help="seconds (Lambda: 10)")
    p.add_argument("--timeout", type=float, default=30.0, help="function timeout in seconds (deadline header)")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        p.error("no runtime command given")
    a.task_root = os.path.abspath(a.task_root)
    arn = f"arn:aws:lambda:{os.environ.get('AWS_REGION', a.region)}:123456789012:function:{a.function_name}"
    st = State([json.loads(a.event)] * a.count, a.timeout, arn)
    server = Server(("127.0.0.1", 0), Handler)
    server.state = st
    threading.Thread(target=server.serve_forever, daemon=True).start()
    argv_run = ([a.wrapper] if a.wrapper else []) + cmd

    st.t0 = time.monotonic()
    try:
        proc = subprocess.Popen(argv_run, env=child_env(a, server.server_address[1]), cwd=a.task_root,
                                stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(), start_new_session=True)
    except OSError as e:  # what a bootstrap reports as "does not exist" (127) / "is not an executable" (126)
        proc, spawn_error = None, e
    result = {"argv": argv_run, "pid": proc and proc.pid, "init_ms": None, "init_error": None, "exit_code": None,
              "error_type": None, "invocations": []}
    if proc is None:
        result.update(exit_code=127 if isinstance(spawn_error, FileNotFoundError) else 126,
                      error_type="Runtime.ExitError", spawn_error=str(spawn_error))
    else:
        deadline = st.t0 + a.init_timeout
        with st.cond:
            while True:
                exited = proc.poll() is not None
                done = st.first_next is not None and not st.pending and not st.outstanding()
                late = st.first_next is None and time.monotonic() > deadline
                hung = any(time.monotonic() - r["t"] > a.timeout for r in st.outstanding())
                if exited or done or late or hung or st.init_error:
                    break
                st.cond.wait(0.01)
        if st.init_error:  # the runtime reported it and should exit; give it a moment
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
        code = proc.poll()
        if code is None:  # stop it as Lambda does (before releasing its pending /next)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        else:
            result["exit_code"] = code
        with st.cond:
            st.stopping = True
            st.cond.notify_all()
        if st.first_next is not None:
            result["init_ms"] = round((st.first_next - st.t0) * 1000, 3)
        result["init_error"] = st.init_error
        if st.first_next is None:
            result["error_type"] = ("Runtime.InitTimeout" if code is None else
                                    (st.init_error or {}).get("error_type") or "Runtime.ExitError")
        for r in st.invocations.values():
            if r["status"] == "running":
                r.pop("t")
                r["status"] = "runtime_exited" if code is not None else "timeout"
                result["error_type"] = result["error_type"] or ("Runtime.ExitError" if code is not None else "Sandbox.Timedout")
        result["invocations"] = list(st.invocations.values())
    server.shutdown()
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    ok = len(result["invocations"]) == a.count and all(r["status"] == "response" for r in result["invocations"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
