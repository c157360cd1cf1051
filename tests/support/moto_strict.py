#!/usr/bin/env python3
"""moto_server with Secrets Manager authorization that behaves like AWS (test infrastructure).

Same command line as ``moto_server`` (``-H HOST -p PORT [-c CERT -k KEY]``). Stock moto 5.x, with
enforcement on (``POST /moto-api/reset-auth`` body ``0``), checks SigV4 signatures and *actions* but
authorizes every Secrets Manager call against the literal resource ``"*"``, so a policy naming a secret
ARN denies everything; it also answers auth failures with IAM-style XML/403. This launcher patches moto
in memory at start-up (no moto file is edited) so that:

* a Secrets Manager request is authorized against the secret's real ARN (a name, partial ARN or full
  ARN is resolved through the backend); a secret that does not exist is authorized against
  ``...:secret:<name>-??????`` (or the ARN as given), so a caller without rights gets
  AccessDeniedException instead of learning that the secret does not exist, as on AWS;
* ``*`` and ``?`` in a policy's Action/Resource are IAM wildcards (moto leaves ``?`` a regex
  quantifier); actions match case-insensitively; an explicit Deny still wins;
* BatchGetSecretValue needs ``secretsmanager:BatchGetSecretValue`` for the call, then each id is
  checked for ``secretsmanager:GetSecretValue``: denied ones go to ``Errors[]`` (HTTP 200);
* auth failures are awsJson, HTTP 400, ``{"__type": ..., "message": ...}`` with
  ``AccessDeniedException`` / ``InvalidSignatureException`` / ``UnrecognizedClientException`` and an
  ``x-amzn-RequestId`` header, like Secrets Manager;
* every request carrying ``X-Amz-Target`` is counted per operation (also the refused ones):
  ``GET /__counts`` -> ``{"GetSecretValue": n, ..., "batch_sizes": [ids per BatchGetSecretValue]}``,
  ``POST /__counts/reset`` zeroes them.

Limits: Condition and NotResource are not evaluated; Filters batches skip the per-secret check.
"""

import io
import json
import re
import sys
import threading

import moto.server
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import (
    AccessDeniedError,
    InvalidClientTokenIdError,
    JsonRESTError,
    SignatureDoesNotMatchError,
)
from moto.iam.access_control import IAMPolicyStatement, IAMRequest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.secretsmanager.responses import SecretsManagerResponse

# Every name patched below must exist in this moto version: fail loudly rather than run stock moto.
for owner, name in [(IAMPolicyStatement, "_check_element_matches"), (IAMPolicyStatement, "_check_principal"),
                    (SecretsManagerResponse, "_authenticate_and_authorize_normal_action"),
                    (SecretsManagerResponse, "batch_get_secret_value"), (moto.server, "DomainDispatcherApplication")]:
    if not hasattr(owner, name):
        sys.exit(f"moto_strict: this moto has no {getattr(owner, '__name__', owner)}.{name}; update the launcher")

# ---------------------------------------------------------------- IAM wildcards


def _iam_match(pattern, value, ignore_case):
    """IAM string matching: `*` = any run of characters, `?` = exactly one, the rest literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags)


def _check_element_matches(self, element, value):
    patterns = self._statement[element]
    if isinstance(patterns, str):
        patterns = [patterns]
    ignore_case = element in ("Action", "NotAction")  # actions are case-insensitive, ARNs are not
    return any(_iam_match(p, value, ignore_case) for p in patterns)


_orig_check_principal = IAMPolicyStatement._check_principal


def _check_principal(self, principal):
    # Stock moto raises TypeError (HTTP 500) on `Principal: {"Service": ...}` without an "AWS" key.
    expected = self._statement.get("Principal")
    if isinstance(expected, dict) and "AWS" not in expected:
        return False
    return _orig_check_principal(self, principal)


IAMPolicyStatement._check_element_matches = _check_element_matches
IAMPolicyStatement._check_principal = _check_principal

# ---------------------------------------------------------------- Secrets Manager resources


def _enforcing():
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def _secret_arn(self, secret_id):
    """The ARN IAM sees for `secret_id`: the real one, or a pattern ARN when no such secret exists."""
    secret = self.backend.secrets.get(secret_id) if secret_id else None
    if secret is not None:
        return secret.arn
    if str(secret_id).startswith("arn:"):
        return secret_id
    return f"arn:{self.partition}:secretsmanager:{self.region}:{self.current_account}:secret:{secret_id}-??????"


def _determine_resource(self):
    # Called by BaseResponse.call_action before authorization (with enforcement on or off).
    if self._get_action() == "BatchGetSecretValue":
        return "*"  # the call itself; each id is checked in batch_get_secret_value below
    try:
        secret_id = json.loads(self.body or "{}").get("SecretId")
    except (ValueError, AttributeError):
        secret_id = None
    return _secret_arn(self, secret_id) if secret_id else "*"


# ---------------------------------------------------------------- awsJson auth errors

_AUTH_ERRORS = {
    AccessDeniedError: "AccessDeniedException",
    SignatureDoesNotMatchError: "InvalidSignatureException",
    InvalidClientTokenIdError: "UnrecognizedClientException",
}
_orig_authorize = SecretsManagerResponse._authenticate_and_authorize_normal_action


def _authorize(self, resource="*"):
    try:
        _orig_authorize(self, resource)
    except tuple(_AUTH_ERRORS) as e:
        code = _AUTH_ERRORS[type(e)]
        message = e.message + (f" on resource: {resource}" if code == "AccessDeniedException" else "")
        # call_action answers an HTTPException with its description and code, keeping
        # self.response_headers (x-amzn-RequestId is added there by _enrich_response).
        self.response_headers["Content-Type"] = "application/x-amz-json-1.1"
        self.response_headers["X-Amzn-ErrorType"] = code
        err = JsonRESTError(code, message)
        err.code = 400
        raise err from None


def _may_get(self, secret_id):
    """Is the caller allowed secretsmanager:GetSecretValue on `secret_id`? (signature already checked)"""
    request = IAMRequest(
        account_id=self.current_account,
        method=self.method,
        path=self.path,
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action="GetSecretValue",
    )
    resource = _secret_arn(self, secret_id)
    try:
        request.check_action_permitted(resource)
        return True, None
    except AccessDeniedError as e:
        return False, f"{e.message} on resource: {resource}"


_orig_batch = SecretsManagerResponse.batch_get_secret_value


def batch_get_secret_value(self):
    ids = self._get_param("SecretIdList", if_none=[])
    if not ids or not _enforcing():
        return _orig_batch(self)
    allowed, denied = [], []
    for secret_id in ids:
        ok, message = _may_get(self, secret_id)
        if ok:
            allowed.append(secret_id)
        else:
            denied.append({"SecretId": secret_id, "ErrorCode": "AccessDeniedException", "Message": message})
    values, errors, token = [], [], None
    if allowed:
        values, errors, token = self.backend.batch_get_secret_value(secret_id_list=allowed)
    return json.dumps({"SecretValues": values, "Errors": denied + errors, "NextToken": token})


SecretsManagerResponse._determine_resource = _determine_resource
SecretsManagerResponse._authenticate_and_authorize_normal_action = _authorize
SecretsManagerResponse.batch_get_secret_value = batch_get_secret_value

# ---------------------------------------------------------------- request counting

_lock = threading.Lock()
_counts = {}
_batch_sizes = []


def _reply(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class CountingDispatcher(DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path == "/__counts" and method == "GET":
            with _lock:
                return _reply(start_response, "200 OK", {**_counts, "batch_sizes": list(_batch_sizes)})
        if path == "/__counts/reset" and method == "POST":
            with _lock:
                _counts.clear()
                _batch_sizes.clear()
            return _reply(start_response, "200 OK", {"status": "ok"})
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            operation = target.rsplit(".", 1)[-1]
            size = None
            if operation == "BatchGetSecretValue":
                # Read the body to count the ids, then hand moto an unread copy.
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                try:
                    size = len(json.loads(body).get("SecretIdList") or [])
                except (ValueError, AttributeError):
                    size = -1
            with _lock:
                _counts[operation] = _counts.get(operation, 0) + 1
                if size is not None:
                    _batch_sizes.append(size)
        return super().__call__(environ, start_response)


moto.server.DomainDispatcherApplication = CountingDispatcher  # main() builds the app from this name

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
