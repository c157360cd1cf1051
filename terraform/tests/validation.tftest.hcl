# Inputs the binary would reject (or that cannot work) must fail at plan time, with a message
# that says how to fix them. One run per rule, so that a rule cannot hide behind another. A malformed
# reference fails the precondition of output.lambda_secrets_json (the one check of the reference
# grammar); tests/terraform/test_references.py pins the message each rule gives.

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
}

variables {
  layer_zip = "tests/fixtures/layer.zip"
}

# Edge cases that are valid: trailing empty fields, a leading '_', a full ARN with fields after it,
# Lambda's level names in any case, empty strings for absent object fields.
run "accepts_edge_cases" {
  command = plan

  variables {
    secrets = {
      _PRIVATE = "a:::"
      x        = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf:key::"
      STAGE    = "prod/db::AWSPENDING"
      ID       = "prod/db:::EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"
      OBJ      = { secret_id = "prod/db", json_key = "", version_stage = null, optional = false }
      NAME     = "a/b_c+d=e.f@g-h"
    }
    log_level  = "Trace"
    timeout_ms = 900000
  }

  assert {
    condition     = jsondecode(output.environment_variables["LAMBDA_SECRETS"]).OBJ == { secret_id = "prod/db" }
    error_message = "empty and null fields of an object reference are left out"
  }
}

# Every parameter form the grammar allows (README "References").
run "accepts_parameter_forms" {
  command = plan

  variables {
    secrets = {
      HOST   = "ssm:/prod/db/host"
      PASS   = "ssm:/prod/db/password:3"
      LABEL  = "ssm:/prod/db/password:live-2_b.c"
      PLAIN  = "ssm:host"
      FLAGS  = "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags:live"
      BY_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/plain"
      PORT   = { parameter = "/prod/db/config", json_key = "port", optional = true }
      OBJARN = { parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/x/y:2" }
      EMPTY  = { parameter = "/prod/p", secret_id = "", version_stage = null, json_key = "" }
    }
  }

  assert {
    condition     = jsondecode(output.lambda_secrets_json).EMPTY == { parameter = "/prod/p" }
    error_message = "empty and null fields of an object reference are left out: ${output.lambda_secrets_json}"
  }
}

run "accepts_parameter_paths_in_expand" {
  command = plan

  variables {
    expand = ["ssm:/prod/app/", { parameter = "/prod/shared/", optional = true }, "ssm:/", "ssm:/prod/config", "prod/app-config"]
  }

  assert {
    condition     = output.lambda_secrets_json == "[\"ssm:/prod/app/\",{\"optional\":true,\"parameter\":\"/prod/shared/\"},\"ssm:/\",\"ssm:/prod/config\",\"prod/app-config\"]"
    error_message = "LAMBDA_SECRETS: ${output.lambda_secrets_json}"
  }
}

run "rejects_bad_name_leading_digit" {
  command = plan
  variables {
    secrets = { "1DB" = "prod/db" }
  }
  expect_failures = [var.secrets]
}

run "rejects_bad_name_dash" {
  command = plan
  variables {
    secrets = { "DB-PASSWORD" = "prod/db" }
  }
  expect_failures = [var.secrets]
}

run "rejects_reserved_lambda_name" {
  command = plan
  variables {
    secrets = { AWS_REGION = "prod/db" }
  }
  expect_failures = [var.secrets]
}

run "rejects_reserved_aws_lambda_prefix" {
  command = plan
  variables {
    secrets = { AWS_LAMBDA_EXEC_WRAPPER = "prod/db" }
  }
  expect_failures = [var.secrets]
}

run "rejects_reserved_own_prefix" {
  command = plan
  variables {
    secrets = { LAMBDA_SECRETS_LOG = "prod/db" }
  }
  expect_failures = [var.secrets]
}

run "rejects_empty_secret_id" {
  command = plan
  variables {
    secrets = { DB = ":password" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_too_many_fields_after_name" {
  command = plan
  variables {
    secrets = { DB = "prod/db:password:AWSCURRENT::extra" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_too_many_fields_after_arn" {
  command = plan
  variables {
    secrets = { DB = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:k:::x" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_arn_of_another_service" {
  command = plan
  variables {
    secrets = { DB = "arn:aws:s3:::bucket/db" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_bad_characters_in_name" {
  command = plan
  variables {
    secrets = { DB = "prod db" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_stage_and_id_string" {
  command = plan
  variables {
    secrets = { DB = "prod/db::AWSCURRENT:EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_stage_and_id_object" {
  command = plan
  variables {
    secrets = { DB = { secret_id = "prod/db", version_stage = "AWSCURRENT", version_id = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_unknown_object_field" {
  command = plan
  variables {
    secrets = { DB = { secret_id = "prod/db", key = "password" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_object_without_secret_id" {
  command = plan
  variables {
    secrets = { DB = { json_key = "password" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_fields_inside_object_secret_id" {
  command = plan
  variables {
    secrets = { DB = { secret_id = "prod/db:password" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_non_boolean_optional" {
  command = plan
  variables {
    secrets = { DB = { secret_id = "prod/db", optional = "sometimes" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_reference_of_wrong_type" {
  command = plan
  variables {
    secrets = { DB = 42 }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_secrets_not_a_map" {
  command = plan
  variables {
    secrets = "prod/db"
  }
  expect_failures = [var.secrets]
}

run "rejects_json_key_in_expand_string" {
  command = plan
  variables {
    expand = ["app/config", "app/db:password"]
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_json_key_in_expand_object" {
  command = plan
  variables {
    expand = [{ secret_id = "app/db", json_key = "password" }]
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_stage_and_id_in_expand" {
  command = plan
  variables {
    expand = ["app/db::AWSCURRENT:EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"]
  }
  expect_failures = [output.lambda_secrets_json]
}

# ---- Parameter Store references (README "References"): each refusal the binary makes, at plan. ----

run "rejects_selector_on_path" {
  command = plan
  variables {
    expand = ["ssm:/prod/app/:3"]
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_json_key_on_path" {
  command = plan
  variables {
    expand = [{ parameter = "/prod/app/", json_key = "port" }]
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_path_in_named_form" {
  command = plan
  variables {
    secrets = { APP = "ssm:/prod/app/" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_path_in_named_object_form" {
  command = plan
  variables {
    secrets = { APP = { parameter = "/prod/app/" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_path_by_arn" {
  command = plan
  variables {
    expand = ["arn:aws:ssm:us-east-1:123456789012:parameter/prod/app/"]
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_parameter_with_secret_id" {
  command = plan
  variables {
    secrets = { DB = { parameter = "/prod/db/host", secret_id = "prod/db" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_version_stage_with_parameter" {
  command = plan
  variables {
    secrets = { DB = { parameter = "/prod/db/host", version_stage = "AWSCURRENT" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_version_id_with_parameter" {
  command = plan
  variables {
    secrets = { DB = { parameter = "/prod/db/host", version_id = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_ssm_arn_that_is_not_a_parameter" {
  command = plan
  variables {
    secrets = { DB = "arn:aws:ssm:us-east-1:123456789012:document/prod-db" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_parameter_arn_without_account" {
  command = plan
  variables {
    secrets = { DB = "arn:aws:ssm:us-east-1::parameter/prod/db" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_colon_in_parameter_name" {
  command = plan
  variables {
    secrets = { DB = "ssm:/prod/db:3:extra" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_empty_parameter_name" {
  command = plan
  variables {
    secrets = { DB = "ssm:" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_ssm_prefix_in_object_form" {
  command = plan
  variables {
    secrets = { DB = { parameter = "ssm:/prod/db/host" } }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_ssm_prefix_before_an_arn" {
  command = plan
  variables {
    secrets = { DB = "ssm:arn:aws:ssm:us-east-1:123456789012:parameter/prod/db" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_bad_characters_in_parameter_name" {
  command = plan
  variables {
    secrets = { DB = "ssm:/prod/db host" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_hierarchy_without_leading_slash" {
  command = plan
  variables {
    secrets = { DB = "ssm:prod/db/host" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_empty_selector" {
  command = plan
  variables {
    secrets = { DB = "ssm:/prod/db/host:" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_label_starting_with_a_digit" {
  command = plan
  variables {
    secrets = { DB = "ssm:/prod/db/host:1abc" }
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_json_key_on_parameter_in_expand" {
  command = plan
  variables {
    expand = [{ parameter = "/prod/config", json_key = "port" }]
  }
  expect_failures = [output.lambda_secrets_json]
}

run "rejects_non_string_parameter" {
  command = plan
  variables {
    secrets = { DB = { parameter = ["/prod/db/host"] } }
  }
  expect_failures = [output.lambda_secrets_json]
}

# With a role, the inline policy is guarded by the same check (for references known only at apply).
run "rejects_malformed_reference_before_the_policy" {
  command = plan
  variables {
    role_name = "fn-role"
    secrets   = { HOST = "ssm:/prod/db/host", APP = "ssm:/prod/app/" }
  }
  expect_failures = [output.lambda_secrets_json, aws_iam_role_policy.this]
}

run "rejects_expand_not_a_list" {
  command = plan
  variables {
    expand = "app/config"
  }
  expect_failures = [var.expand]
}

run "rejects_secrets_and_expand" {
  command = plan
  variables {
    secrets = { DB = "prod/db" }
    expand  = ["app/config"]
  }
  expect_failures = [var.expand]
}

run "rejects_nothing_to_fetch" {
  command         = plan
  expect_failures = [var.expand]
}

run "rejects_both_layer_inputs" {
  command = plan
  variables {
    secrets   = { DB = "prod/db" }
    layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:lambda-secrets:1"
  }
  expect_failures = [var.layer_arn]
}

run "rejects_no_layer_input" {
  command = plan
  variables {
    secrets   = { DB = "prod/db" }
    layer_zip = null
  }
  expect_failures = [var.layer_arn]
}

run "rejects_layer_arn_without_version" {
  command = plan
  variables {
    secrets   = { DB = "prod/db" }
    layer_zip = null
    layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:lambda-secrets"
  }
  expect_failures = [var.layer_arn]
}

run "rejects_missing_layer_zip" {
  command = plan
  variables {
    secrets   = { DB = "prod/db" }
    layer_zip = "tests/fixtures/no-such-layer.zip"
  }
  expect_failures = [var.layer_zip]
}

run "rejects_bad_option_values" {
  command = plan
  variables {
    secrets      = { DB = "prod/db" }
    timeout_ms   = 0
    concurrency  = 0
    batch        = "AUTO"
    log_level    = "verbose"
    next_wrapper = "otel-instrument"
  }
  expect_failures = [var.timeout_ms, var.concurrency, var.batch, var.log_level, var.next_wrapper]
}

run "rejects_more_bad_option_values" {
  command = plan
  variables {
    secrets      = { DB = "prod/db" }
    timeout_ms   = 1.5
    concurrency  = 2.5
    batch        = "sometimes"
    log_level    = ""
    next_wrapper = "/opt/bin/lambda-secrets"
  }
  expect_failures = [var.timeout_ms, var.concurrency, var.batch, var.log_level, var.next_wrapper]
}

run "rejects_bad_aws_inputs" {
  command = plan
  variables {
    secrets       = { DB = "prod/db" }
    name          = "has space"
    role_name     = "arn:aws:iam::123456789012:role/fn"
    kms_key_arns  = ["alias/aws/secretsmanager"]
    architectures = ["amd64"]
    region        = "EU"
    account_id    = "12345"
    partition     = "azure"
  }
  expect_failures = [var.name, var.role_name, var.kms_key_arns, var.architectures, var.region, var.account_id, var.partition]
}
