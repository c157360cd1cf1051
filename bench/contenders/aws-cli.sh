#!/bin/sh
# aws-cli.sh VAR=SECRET_ID... -- COMMAND [ARGS...]
#
# The common hand-written wrapper: one `aws secretsmanager get-secret-value` per variable,
#   export DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id prod/db --query SecretString --output text)
# then exec the runtime. `aws` is the AWS CLI found on PATH.
set -eu
while [ "$1" != "--" ]; do
  var=${1%%=*}
  id=${1#*=}
  value=$(aws secretsmanager get-secret-value --secret-id "$id" --query SecretString --output text)
  export "$var=$value"
  shift
done
shift
exec "$@"
