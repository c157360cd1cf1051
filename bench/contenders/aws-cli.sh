#!/bin/sh
# aws-cli.sh VAR=REF... -- COMMAND [ARGS...]
#
# The common hand-written wrapper: one `aws` call per variable,
#   export DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id prod/db --query SecretString --output text)
# and, for a REF `ssm:NAME`, a Parameter Store parameter read decrypted,
#   export DB_HOST=$(aws ssm get-parameters --names /prod/db/host --with-decryption --query 'Parameters[0].Value' --output text)
# then exec the runtime. `aws` is the AWS CLI found on PATH. (`aws ssm get-parameter` would be the
# usual spelling; its GetParameter call is one the benchmark's endpoint does not answer, and
# GetParameters with one name is the same single request.)
set -eu
while [ "$1" != "--" ]; do
  var=${1%%=*}
  id=${1#*=}
  case $id in
    ssm:*) value=$(aws ssm get-parameters --names "${id#ssm:}" --with-decryption --query 'Parameters[0].Value' --output text) ;;
    *) value=$(aws secretsmanager get-secret-value --secret-id "$id" --query SecretString --output text) ;;
  esac
  export "$var=$value"
  shift
done
shift
exec "$@"
