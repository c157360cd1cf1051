# Plan/apply the module against a mocked AWS provider: no AWS, no network.
# Run with scripts/test-terraform (it points Terraform at the offline provider mirror).

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_resource "aws_lambda_layer_version" {
    defaults = {
      arn       = "arn:aws:lambda:us-east-1:123456789012:layer:lambda-secrets:7"
      layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:lambda-secrets"
    }
  }
}

# A provider in a China region, for partition and endpoint suffix handling.
mock_provider "aws" {
  alias = "cn"
  mock_data "aws_region" {
    defaults = { name = "cn-north-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "210987654321" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
}

variables {
  layer_zip = "tests/fixtures/layer.zip"
}

# Both reference forms side by side, every kind of secret id, a role and a KMS key.
run "object_form" {
  command = plan

  variables {
    role_name    = "fn-role"
    kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"]
    secrets = {
      DB_PASSWORD = "prod/db:password"
      DB_USER     = "prod/db:username"
      OLD_TOKEN   = "prod/token::AWSPREVIOUS:"
      API_KEY     = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-key-AbCdEf"
      PARTIAL     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared/partial:field"
      TLS_CERT    = { secret_id = "prod/cert", optional = true }
      PINNED      = { secret_id = "prod/pinned", version_id = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE", json_key = null }
    }
  }

  assert {
    condition = jsondecode(output.environment_variables["LAMBDA_SECRETS"]) == {
      DB_PASSWORD = "prod/db:password"
      DB_USER     = "prod/db:username"
      OLD_TOKEN   = "prod/token::AWSPREVIOUS:"
      API_KEY     = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-key-AbCdEf"
      PARTIAL     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared/partial:field"
      TLS_CERT    = { secret_id = "prod/cert", optional = true }
      PINNED      = { secret_id = "prod/pinned", version_id = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE" }
    }
    error_message = "LAMBDA_SECRETS: ${output.environment_variables["LAMBDA_SECRETS"]}"
  }

  assert {
    condition     = output.environment_variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bin/lambda-secrets"
    error_message = "AWS_LAMBDA_EXEC_WRAPPER must point at the binary inside the layer"
  }

  assert {
    condition     = keys(output.environment_variables) == ["AWS_LAMBDA_EXEC_WRAPPER", "LAMBDA_SECRETS"]
    error_message = "options that are not set must not be emitted: ${jsonencode(keys(output.environment_variables))}"
  }

  # Name -> -??????, full ARN as is (its own region and account), partial ARN -> -??????, deduplicated.
  assert {
    condition = output.secret_arn_patterns == tolist([
      "arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-key-AbCdEf",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/cert-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/pinned-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/token-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared/partial-??????",
    ])
    error_message = "patterns: ${jsonencode(output.secret_arn_patterns)}"
  }

  assert {
    condition = output.policy_json == jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "GetSecretValue"
          Effect   = "Allow"
          Action   = "secretsmanager:GetSecretValue"
          Resource = output.secret_arn_patterns
        },
        {
          # prod/db, prod/cert and the partial ARN: three current-version secrets in us-east-1.
          Sid      = "BatchGetSecretValue"
          Effect   = "Allow"
          Action   = "secretsmanager:BatchGetSecretValue"
          Resource = "*"
        },
        {
          Sid      = "DecryptSecretsViaSecretsManager"
          Effect   = "Allow"
          Action   = "kms:Decrypt"
          Resource = ["arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"]
          Condition = { StringEquals = { "kms:ViaService" = [
            "secretsmanager.eu-west-1.amazonaws.com",
            "secretsmanager.us-east-1.amazonaws.com",
          ] } }
        },
      ]
    })
    error_message = "policy: ${output.policy_json}"
  }

  assert {
    condition     = length(aws_iam_role_policy.this) == 1 && aws_iam_role_policy.this[0].role == "fn-role" && aws_iam_role_policy.this[0].policy == output.policy_json
    error_message = "the inline policy must be attached to role_name"
  }
}

# Publishing the layer: "apply" against the mock, so the layer ARN is known.
run "layer_zip" {
  variables {
    secrets = { DB = "prod/db" }
  }

  assert {
    condition     = output.layer_arn == "arn:aws:lambda:us-east-1:123456789012:layer:lambda-secrets:7"
    error_message = "layer_arn must be the published version's ARN: ${output.layer_arn}"
  }
  assert {
    condition     = aws_lambda_layer_version.this[0].layer_name == "lambda-secrets" && aws_lambda_layer_version.this[0].compatible_architectures == toset(["x86_64"]) && contains(aws_lambda_layer_version.this[0].compatible_runtimes, "python3.12")
    error_message = "layer version attributes"
  }
  assert {
    condition     = aws_lambda_layer_version.this[0].source_code_hash == filebase64sha256("tests/fixtures/layer.zip")
    error_message = "a new zip must publish a new layer version"
  }
  # No role_name: nothing attached, but the policy is still an output.
  assert {
    condition     = length(aws_iam_role_policy.this) == 0 && can(jsondecode(output.policy_json).Statement)
    error_message = "no inline policy without role_name"
  }
  # One secret in one region: auto mode never batches, so no BatchGetSecretValue.
  assert {
    condition     = [for s in jsondecode(output.policy_json).Statement : s.Sid] == ["GetSecretValue"]
    error_message = "only GetSecretValue expected: ${output.policy_json}"
  }
}

# An existing layer version shared from another account, arm64, and every option.
run "layer_arn_and_options" {
  command = plan

  variables {
    layer_zip     = null
    layer_arn     = "arn:aws:lambda:eu-west-1:999988887777:layer:lambda-secrets-arm64:3"
    architectures = ["arm64"]
    secrets       = { ONE = "app/one" }
    batch         = "always"
    timeout_ms    = 2500
    concurrency   = 4
    log_level     = "DEBUG"
    next_wrapper  = "/opt/otel-instrument"
  }

  assert {
    condition     = output.layer_arn == "arn:aws:lambda:eu-west-1:999988887777:layer:lambda-secrets-arm64:3" && length(aws_lambda_layer_version.this) == 0
    error_message = "layer_arn must be passed through and nothing published"
  }
  assert {
    condition = output.environment_variables == {
      AWS_LAMBDA_EXEC_WRAPPER     = "/opt/bin/lambda-secrets"
      LAMBDA_SECRETS              = "{\"ONE\":\"app/one\"}"
      LAMBDA_SECRETS_TIMEOUT_MS   = "2500"
      LAMBDA_SECRETS_CONCURRENCY  = "4"
      LAMBDA_SECRETS_BATCH        = "always"
      LAMBDA_SECRETS_LOG          = "DEBUG"
      LAMBDA_SECRETS_NEXT_WRAPPER = "/opt/otel-instrument"
    }
    error_message = "environment: ${jsonencode(output.environment_variables)}"
  }
  # always: even a single current-version secret is batched.
  assert {
    condition     = [for s in jsondecode(output.policy_json).Statement : s.Sid] == ["GetSecretValue", "BatchGetSecretValue"]
    error_message = "BatchGetSecretValue expected with batch = always: ${output.policy_json}"
  }
}

# When batching can and cannot happen in auto mode, and never.
run "batch_rules" {
  command = plan

  variables {
    secrets = {
      # Same secret twice (fetched once), one pinned secret, and a second current secret in another region.
      A = "app/one:a"
      B = "app/one:b"
      C = "app/two::AWSPENDING"
      D = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/three"
    }
  }

  assert {
    condition     = !output.batch_get_secret_value_granted && length(jsondecode(output.policy_json).Statement) == 1
    error_message = "no region has two current-version secrets, so no BatchGetSecretValue: ${output.policy_json}"
  }
  assert {
    condition     = contains(output.secret_arn_patterns, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/three-??????") && length(output.secret_arn_patterns) == 3
    error_message = "patterns: ${jsonencode(output.secret_arn_patterns)}"
  }
}

run "batch_never" {
  command = plan

  variables {
    secrets = { A = "app/one", B = "app/two", C = "app/three" }
    batch   = "never"
  }

  assert {
    condition     = !output.batch_get_secret_value_granted && [for s in jsondecode(output.policy_json).Statement : s.Sid] == ["GetSecretValue"]
    error_message = "batch = never must not grant BatchGetSecretValue: ${output.policy_json}"
  }
}

# Array form; names in a China region (provider's partition and region), an explicit account.
run "expand_cn" {
  command   = plan
  providers = { aws = aws.cn }

  variables {
    expand       = ["app/config", { secret_id = "app/other", optional = true }, "app/old::AWSPREVIOUS"]
    account_id   = "444455556666"
    kms_key_arns = ["arn:aws-cn:kms:cn-north-1:444455556666:key/abcd"]
  }

  assert {
    condition     = output.environment_variables["LAMBDA_SECRETS"] == "[\"app/config\",{\"optional\":true,\"secret_id\":\"app/other\"},\"app/old::AWSPREVIOUS\"]"
    error_message = "LAMBDA_SECRETS must be an array in the given order: ${output.environment_variables["LAMBDA_SECRETS"]}"
  }
  assert {
    condition = output.secret_arn_patterns == tolist([
      "arn:aws-cn:secretsmanager:cn-north-1:444455556666:secret:app/config-??????",
      "arn:aws-cn:secretsmanager:cn-north-1:444455556666:secret:app/old-??????",
      "arn:aws-cn:secretsmanager:cn-north-1:444455556666:secret:app/other-??????",
    ])
    error_message = "patterns: ${jsonencode(output.secret_arn_patterns)}"
  }
  assert {
    condition     = jsondecode(output.policy_json).Statement[2].Condition.StringEquals["kms:ViaService"] == ["secretsmanager.cn-north-1.amazonaws.com.cn"]
    error_message = "kms:ViaService in a China region: ${output.policy_json}"
  }
  assert {
    condition     = output.batch_get_secret_value_granted
    error_message = "two current-version secrets in cn-north-1: BatchGetSecretValue expected"
  }
}

# Explicit region: the partition follows from it, and no data source is read.
run "explicit_region" {
  command = plan

  variables {
    region     = "us-gov-west-1"
    account_id = "123456789012"
    secrets    = { X = "gov/secret" }
  }

  assert {
    condition     = output.secret_arn_patterns == tolist(["arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:gov/secret-??????"])
    error_message = "patterns: ${jsonencode(output.secret_arn_patterns)}"
  }
  assert {
    condition     = length(data.aws_region.current) == 0 && length(data.aws_caller_identity.current) == 0 && length(data.aws_partition.current) == 0
    error_message = "data sources must not be read when region and account are given"
  }
}

# Lambda's 4 KB environment limit, checked at plan time.
run "environment_too_large" {
  command = plan

  variables {
    secrets = { for i in range(40) : "VARIABLE_${i}" => "arn:aws:secretsmanager:us-east-1:123456789012:secret:some/long/secret/name-AbCdEf:key_${i}" }
  }

  expect_failures = [output.environment_variables]
}

# References, keys and a role that are unknown until apply (created in the same run): the plan
# must go through, and apply must produce the policy from the real ARNs.
run "unknown_until_apply_plan" {
  command = plan

  module {
    source = "./tests/fixtures/unknown_refs"
  }
}

run "unknown_until_apply" {
  module {
    source = "./tests/fixtures/unknown_refs"
  }

  override_resource {
    target = aws_secretsmanager_secret.a
    values = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:unknown/a-AbCdEf" }
  }
  override_resource {
    target = aws_kms_key.k
    values = { arn = "arn:aws:kms:us-east-1:123456789012:key/abcd" }
  }

  assert {
    condition     = jsondecode(output.environment_variables["LAMBDA_SECRETS"]).A == "arn:aws:secretsmanager:us-east-1:123456789012:secret:unknown/a-AbCdEf:key"
    error_message = "LAMBDA_SECRETS: ${output.environment_variables["LAMBDA_SECRETS"]}"
  }
  assert {
    condition = jsondecode(output.policy_json).Statement[0].Resource == [
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:plain/name-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:unknown/a-AbCdEf",
    ]
    error_message = "policy: ${output.policy_json}"
  }
  assert {
    condition     = jsondecode(output.policy_json).Statement[2].Resource == ["arn:aws:kms:us-east-1:123456789012:key/abcd"]
    error_message = "policy: ${output.policy_json}"
  }
}

# ---- SSM Parameter Store references (README "What the policy grants") ----

# Secrets and parameters in one map: GetParameters on exactly the parameters' ARNs (selectors
# stripped; a name without '/' gets one; an ARN keeps its region and account), kms:Decrypt through
# each service in the regions it reads from.
run "parameters_and_secrets" {
  command = plan

  variables {
    role_name    = "fn-role"
    kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"]
    secrets = {
      DB_PASSWORD = "prod/db:password"
      DB_HOST     = "ssm:/prod/db/host"
      OLD_PASS    = "ssm:/prod/db/password:3"
      LIVE_PASS   = "ssm:/prod/db/password:live"
      PLAIN       = "ssm:host"
      FLAGS       = "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags:live"
      PORT        = { parameter = "/prod/db/config", json_key = "port", optional = true }
    }
  }

  assert {
    condition = jsondecode(output.lambda_secrets_json) == {
      DB_PASSWORD = "prod/db:password"
      DB_HOST     = "ssm:/prod/db/host"
      OLD_PASS    = "ssm:/prod/db/password:3"
      LIVE_PASS   = "ssm:/prod/db/password:live"
      PLAIN       = "ssm:host"
      FLAGS       = "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags:live"
      PORT        = { parameter = "/prod/db/config", json_key = "port", optional = true }
    }
    error_message = "LAMBDA_SECRETS: ${output.lambda_secrets_json}"
  }

  assert {
    condition = output.parameter_arns == tolist([
      "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags",
      "arn:aws:ssm:us-east-1:123456789012:parameter/host",
      "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/config",
      "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/host",
      "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password",
    ]) && length(output.parameter_path_arns) == 0
    error_message = "parameter ARNs: ${jsonencode(output.parameter_arns)} paths: ${jsonencode(output.parameter_path_arns)}"
  }

  assert {
    condition = output.policy_json == jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "GetSecretValue"
          Effect   = "Allow"
          Action   = "secretsmanager:GetSecretValue"
          Resource = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-??????"]
        },
        {
          Sid      = "GetParameters"
          Effect   = "Allow"
          Action   = "ssm:GetParameters"
          Resource = output.parameter_arns
        },
        {
          Sid       = "DecryptSecretsViaSecretsManager"
          Effect    = "Allow"
          Action    = "kms:Decrypt"
          Resource  = ["arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"]
          Condition = { StringEquals = { "kms:ViaService" = ["secretsmanager.us-east-1.amazonaws.com"] } }
        },
        {
          Sid       = "DecryptParametersViaSSM"
          Effect    = "Allow"
          Action    = "kms:Decrypt"
          Resource  = ["arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"]
          Condition = { StringEquals = { "kms:ViaService" = ["ssm.eu-west-1.amazonaws.com", "ssm.us-east-1.amazonaws.com"] } }
        },
      ]
    })
    error_message = "policy: ${output.policy_json}"
  }

  assert {
    condition     = aws_iam_role_policy.this[0].policy == output.policy_json && !output.batch_get_secret_value_granted
    error_message = "the inline policy must be the policy; one secret alone is never batched"
  }
}

# Paths in the array form, in a China region: GetParametersByPath on each path's ARN, both with and
# without its final '/' (AWS evaluates the path as the request spells it); the root path is
# parameter/. No secret: no Secrets Manager statement at all.
run "expand_paths_cn" {
  command   = plan
  providers = { aws = aws.cn }

  variables {
    expand       = ["ssm:/prod/app/", { parameter = "/prod/shared/", optional = true }, "ssm:/", "ssm:/prod/config", "ssm:/prod/config:2"]
    kms_key_arns = ["arn:aws-cn:kms:cn-north-1:210987654321:key/abcd"]
  }

  assert {
    condition = output.parameter_path_arns == tolist([
      "arn:aws-cn:ssm:cn-north-1:210987654321:parameter/",
      "arn:aws-cn:ssm:cn-north-1:210987654321:parameter/prod/app",
      "arn:aws-cn:ssm:cn-north-1:210987654321:parameter/prod/app/",
      "arn:aws-cn:ssm:cn-north-1:210987654321:parameter/prod/shared",
      "arn:aws-cn:ssm:cn-north-1:210987654321:parameter/prod/shared/",
    ])
    error_message = "path ARNs: ${jsonencode(output.parameter_path_arns)}"
  }

  assert {
    condition = output.policy_json == jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "GetParameters"
          Effect   = "Allow"
          Action   = "ssm:GetParameters"
          Resource = ["arn:aws-cn:ssm:cn-north-1:210987654321:parameter/prod/config"]
        },
        {
          Sid      = "GetParametersByPath"
          Effect   = "Allow"
          Action   = "ssm:GetParametersByPath"
          Resource = output.parameter_path_arns
        },
        {
          Sid       = "DecryptParametersViaSSM"
          Effect    = "Allow"
          Action    = "kms:Decrypt"
          Resource  = ["arn:aws-cn:kms:cn-north-1:210987654321:key/abcd"]
          Condition = { StringEquals = { "kms:ViaService" = ["ssm.cn-north-1.amazonaws.com.cn"] } }
        },
      ]
    })
    error_message = "policy: ${output.policy_json}"
  }

  assert {
    condition     = length(output.secret_arn_patterns) == 0 && !output.batch_get_secret_value_granted
    error_message = "no secret, so nothing of Secrets Manager"
  }
}

# Parameters only, without KMS keys (String parameters, or SecureStrings under aws/ssm).
run "parameters_only_without_kms" {
  command = plan

  variables {
    secrets = { HOST = "ssm:/prod/db/host", PORT = "ssm:/prod/db/port" }
  }

  assert {
    condition     = [for s in jsondecode(output.policy_json).Statement : s.Sid] == ["GetParameters"]
    error_message = "only GetParameters expected: ${output.policy_json}"
  }
}

# The layer's runtimes come from the project's one list unless given.
run "compatible_runtimes_from_the_list" {
  variables {
    secrets = { DB = "prod/db" }
  }

  assert {
    condition = aws_lambda_layer_version.this[0].compatible_runtimes == toset([
      for l in split("\n", file("compatible-runtimes.txt")) : trimspace(l) if trimspace(l) != "" && !startswith(trimspace(l), "#")
    ]) && contains(aws_lambda_layer_version.this[0].compatible_runtimes, "provided.al2023")
    error_message = "compatible_runtimes: ${jsonencode(aws_lambda_layer_version.this[0].compatible_runtimes)}"
  }
}

run "compatible_runtimes_given_or_unset" {
  variables {
    secrets             = { DB = "prod/db" }
    compatible_runtimes = []
  }

  assert {
    condition     = aws_lambda_layer_version.this[0].compatible_runtimes == null
    error_message = "an empty list leaves compatible_runtimes unset"
  }
}
