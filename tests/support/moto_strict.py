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

* an SSM Parameter Store read is authorized as AWS does it (see "SSM Parameter Store resources" below):
  ``GetParameters`` against every requested parameter's ARN, the whole call refused with
  AccessDeniedException when one is denied; ``GetParametersByPath`` against the ARN of the path itself;
  other SSM calls against the ARN of their ``Name`` (``"*"`` without one);
* ``GetParameters`` reads a parameter named by its ARN (this region and account), as AWS does; stock
  moto answers InvalidParameters.

Limits: Condition and NotResource are not evaluated; Filters batches skip the per-secret check;
kms:Decrypt is never checked (moto reads neither a secret's nor a SecureString's KMS key).
"""

import io
import json
import re
import sys
import threading

import moto.server
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import ActionResult
from moto.core.exceptions import (
    AccessDeniedError,
    InvalidClientTokenIdError,
    JsonRESTError,
    SignatureDoesNotMatchError,
)
from moto.iam.access_control import IAMPolicyStatement, IAMRequest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.ssm.responses import SimpleSystemManagerResponse

# Every name patched below must exist in this moto version: fail loudly rather than run stock moto.
for owner, name in [(IAMPolicyStatement, "_check_element_matches"), (IAMPolicyStatement, "_check_principal"),
                    (SecretsManagerResponse, "_authenticate_and_authorize_normal_action"),
                    (SecretsManagerResponse, "batch_get_secret_value"), (moto.server, "DomainDispatcherApplication"),
                    (SimpleSystemManagerResponse, "_authenticate_and_authorize_normal_action"),
                    (SimpleSystemManagerResponse, "get_parameters"),
                    (SimpleSystemManagerResponse, "get_parameters_by_path")]:
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


def _aws_json_auth(authorize):
    """`authorize(self, resource)` with moto's IAM-style XML/403 failures turned into awsJson/400 ones."""

    def wrapped(self, resource="*"):
        try:
            authorize(self, resource)
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

    return wrapped


_authorize = _aws_json_auth(SecretsManagerResponse._authenticate_and_authorize_normal_action)


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

# ---------------------------------------------------------------- SSM Parameter Store resources
#
# What AWS does (stock moto 5.2.1 authorizes every SSM call against the literal "*", like Secrets
# Manager above: a role scoped to parameter/prod/db/* is refused even parameter/prod/db/host):
#
# * The IAM resource of a parameter is arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME, where a
#   hierarchical name keeps its leading '/' as the separator (/prod/db/host -> parameter/prod/db/host)
#   and a plain name gets one (host -> parameter/host); a selector (:3, :label) is not part of it.
#   ("parameter" resource type in https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html)
# * GetParameters is authorized against each requested parameter ("Resource authorized against: Each
#   requested parameter", https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html).
#   Its reply has no per-name error field except InvalidParameters (names that do not exist,
#   https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html), so one denied
#   name fails the whole call with AccessDeniedException and returns nothing, not even the allowed names.
# * GetParametersByPath is authorized against the path in the request, not against the parameters it
#   returns ("The path specified in the request, not the parameters returned", same page; and
#   https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html: a principal
#   allowed the path /a reads /a/b even when /a/b is denied). The resource is the path's ARN as sent:
#   Path /prod/app -> parameter/prod/app, Path /prod/app/ -> parameter/prod/app/ (AWS's own error text
#   names such a resource with its trailing '/').


def _ssm_name_arn(self, name):
    """The ARN IAM evaluates for a parameter given by name or by ARN, selector stripped."""
    name = str(name)
    if name.startswith("arn:"):
        return ":".join(name.split(":")[:6])  # arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME
    name = name.split(":", 1)[0]
    return f"arn:{self.partition}:ssm:{self.region}:{self.current_account}:parameter{'' if name.startswith('/') else '/'}{name}"


def _ssm_path_arn(self, path):
    """The ARN IAM evaluates for GetParametersByPath: the path itself, exactly as sent."""
    path = str(path)
    return f"arn:{self.partition}:ssm:{self.region}:{self.current_account}:parameter{'' if path.startswith('/') else '/'}{path}"


def _ssm_resources(self):
    """Every resource this SSM request must be allowed on (all of them, or the call is refused)."""
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        return ["*"]
    action = self._get_action()
    if action in ("GetParameters", "DeleteParameters"):
        return [_ssm_name_arn(self, n) for n in body.get("Names") or []] or ["*"]
    if action == "GetParametersByPath" and body.get("Path"):
        return [_ssm_path_arn(self, body["Path"])]
    if body.get("Name"):
        return [_ssm_name_arn(self, body["Name"])]
    return ["*"]


_ssm_check = _aws_json_auth(SimpleSystemManagerResponse._authenticate_and_authorize_normal_action)


def _ssm_authorize(self, resource="*"):
    # call_action passes "*" (no _determine_resource); the real resources come from the body. The
    # first denied one refuses the whole call, as AWS does for GetParameters.
    for arn in _ssm_resources(self):
        _ssm_check(self, arn)


def _ssm_local_name(self, name):
    """A parameter ARN of this region and account -> the parameter's name (SSM's rule: parameter/prod/db/host
    is /prod/db/host, parameter/host is host), selector kept; anything else unchanged."""
    prefix = f"arn:{self.partition}:ssm:{self.region}:{self.current_account}:parameter/"
    if not name.startswith(prefix):
        return name
    rest = name[len(prefix):]
    return ("/" + rest) if "/" in rest.split(":", 1)[0] else rest


def get_parameters(self):
    # Stock moto 5.2.1 answers a name given as an ARN with InvalidParameters; AWS reads it (that is how
    # ECS valueFrom names parameters). Resolve ARNs of this region and account, then as stock moto.
    names = self._get_param("Names") or []
    with_decryption = self._get_param("WithDecryption")
    local = {n: _ssm_local_name(self, n) for n in names}
    found = self.ssm_backend.get_parameters(sorted(set(local.values())))
    response = {"Parameters": [], "InvalidParameters": []}
    returned = set()
    for name in names:
        parameter = found.get(local[name])
        if parameter is None:
            response["InvalidParameters"].append(name)
        elif local[name] not in returned:
            returned.add(local[name])
            response["Parameters"].append(parameter.response_object(with_decryption, self.region))
    return ActionResult(response)


SimpleSystemManagerResponse._authenticate_and_authorize_normal_action = _ssm_authorize
SimpleSystemManagerResponse.get_parameters = get_parameters

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
