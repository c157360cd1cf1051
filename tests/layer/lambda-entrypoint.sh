#!/bin/sh
# A stand-in for the AWS base images' /lambda-entrypoint.sh, used by tests/layer/test_container.py to check the
# chain lambda-secrets -> entrypoint -> runtime without a container engine. Like the real one it
# takes exactly one argument (the handler, from CMD), exports _HANDLER, and execs the runtime
# bootstrap; here the runtime is awslambdaric under $LAMBDA_TEST_PYTHON.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" >&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  echo "AWS_LAMBDA_RUNTIME_API is not set (the real entrypoint would start aws-lambda-rie here)" >&2
  exit 1
fi
exec "${LAMBDA_TEST_PYTHON:-python3}" -m awslambdaric "$_HANDLER"
