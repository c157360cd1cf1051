# lambda-secrets: publishes (or reuses) the layer, turns the references into the LAMBDA_SECRETS
# JSON the binary reads, and grants exactly what fetching them needs.

data "aws_region" "current" {
  count = var.region == null ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.account_id == null ? 1 : 0
}

data "aws_partition" "current" {
  count = local.partition_from_provider ? 1 : 0
}

locals {
  wrapper_path = "/opt/bin/lambda-secrets"

  region     = var.region != null ? var.region : data.aws_region.current[0].name
  account_id = var.account_id != null ? var.account_id : data.aws_caller_identity.current[0].account_id

  # With an explicit region the partition follows from it; otherwise ask the provider.
  partition_from_provider = var.partition == null && !(var.region != null && can(regex("^(cn|us-gov)-", var.region)))
  partition = (
    var.partition != null ? var.partition :
    local.partition_from_provider ? data.aws_partition.current[0].partition :
    startswith(var.region, "cn-") ? "aws-cn" : "aws-us-gov"
  )

  # DNS suffix of each partition's service endpoints (botocore partitions.json); used for kms:ViaService.
  dns_suffixes = {
    aws-cn    = "amazonaws.com.cn"
    aws-iso   = "c2s.ic.gov"
    aws-iso-b = "sc2s.sgov.gov"
    aws-iso-e = "cloud.adc-e.uk"
    aws-iso-f = "csp.hci.ic.gov"
  }

  array_form = length(var.expand) > 0

  # Every reference, keyed by variable name (object form) or "[i]" (array form). The variable
  # validations have already rejected anything malformed; try() only keeps a rejected input from
  # adding errors of its own here.
  raw_refs = merge(
    { for k, v in var.secrets : k => v },
    { for i, v in var.expand : format("[%d]", i) => v },
  )

  # Step 1: both forms to { secret_id, json_key, version_stage, version_id, optional }, "" meaning "not given".
  parsed_refs = {
    for k, v in local.raw_refs : k => can(keys(v)) ? {
      secret_id     = try(tostring(coalesce(v.secret_id)), "")
      json_key      = try(tostring(coalesce(v.json_key)), "")
      version_stage = try(tostring(coalesce(v.version_stage)), "")
      version_id    = try(tostring(coalesce(v.version_id)), "")
      optional      = try(tobool(v.optional), null) == true
      } : try([for p in [split(":", v)] : [for n in [startswith(v, "arn:") ? 7 : 1] : {
        # An ARN is its first seven fields; a name has no ':'. Then JSON_KEY:VERSION_STAGE:VERSION_ID.
        secret_id     = join(":", slice(p, 0, min(n, length(p))))
        json_key      = try(p[n], "")
        version_stage = try(p[n + 1], "")
        version_id    = try(p[n + 2], "")
        optional      = false
    }][0]][0], { secret_id = "", json_key = "", version_stage = "", version_id = "", optional = false })
  }

  # Step 2: where each secret lives and the IAM resource pattern that matches it.
  refs = {
    for k, r in local.parsed_refs : k => merge(r, {
      is_arn    = startswith(r.secret_id, "arn:")
      partition = startswith(r.secret_id, "arn:") ? split(":", r.secret_id)[1] : local.partition
      region    = startswith(r.secret_id, "arn:") ? split(":", r.secret_id)[3] : local.region
      # A pinned reference (stage or id) is always read with GetSecretValue.
      pinned = r.version_stage != "" || r.version_id != ""
      # Name: add the 6-character random suffix Secrets Manager appends. Full ARN (ends in -XXXXXX):
      # as is. Partial ARN: add the suffix. Exactly six '?' so that "prod/db" does not also match
      # "prod/db-old-AbCdEf".
      arn_pattern = (
        !startswith(r.secret_id, "arn:") ? "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${r.secret_id}-??????" :
        can(regex("-[A-Za-z0-9]{6}$", try(split(":", r.secret_id)[6], ""))) ? r.secret_id :
        "${r.secret_id}-??????"
      )
    })
  }

  secret_arn_patterns = sort(distinct([for k, r in local.refs : r.arn_pattern]))

  # ---- BatchGetSecretValue: granted only when the binary can call it (SPEC, "Fetching"). ----
  batch_mode = var.batch == null ? "auto" : var.batch
  # Distinct current-version (not pinned) secrets per region, as the binary groups them.
  current_by_region = {
    for region in distinct([for k, r in local.refs : r.region]) :
    region => distinct([for k, r in local.refs : r.secret_id if r.region == region && !r.pinned])
  }
  batch_possible = (
    local.batch_mode == "never" ? false :
    local.batch_mode == "always" ? anytrue([for region, ids in local.current_by_region : length(ids) > 0]) :
    anytrue([for region, ids in local.current_by_region : length(ids) >= 2])
  )

  # kms:Decrypt only on behalf of Secrets Manager, in every region a secret is read from.
  kms_via_services = sort(distinct([
    for k, r in local.refs :
    "secretsmanager.${r.region}.${startswith(r.region, "cn-") ? "amazonaws.com.cn" : lookup(local.dns_suffixes, r.partition, "amazonaws.com")}"
  ]))

  policy = {
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid      = "GetSecretValue"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = local.secret_arn_patterns
      }],
      local.batch_possible ? [{
        # BatchGetSecretValue has no resource type: it is granted on "*", and each secret in a
        # batch is still checked against GetSecretValue above.
        Sid      = "BatchGetSecretValue"
        Effect   = "Allow"
        Action   = "secretsmanager:BatchGetSecretValue"
        Resource = "*"
      }] : [],
      length(var.kms_key_arns) > 0 ? [{
        Sid       = "DecryptSecretsViaSecretsManager"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = sort(distinct(var.kms_key_arns))
        Condition = { StringEquals = { "kms:ViaService" = local.kms_via_services } }
      }] : [],
    )
  }
  policy_json = jsonencode(local.policy)

  # ---- The environment. A string reference is passed exactly as written; an object keeps only
  # the fields that are given. Built as text because a Terraform expression cannot yield a string
  # for one element and an object for another. ----
  ref_json = {
    for k, v in local.raw_refs : k => can(keys(v)) ? jsonencode({
      for f, x in local.parsed_refs[k] : f => x if x != "" && x != false
    }) : jsonencode(tostring(v))
  }
  lambda_secrets_json = (
    local.array_form
    ? "[${join(",", [for i, v in var.expand : local.ref_json[format("[%d]", i)]])}]"
    : "{${join(",", [for k in sort(keys(var.secrets)) : "${jsonencode(k)}:${local.ref_json[k]}"])}}"
  )

  options = {
    LAMBDA_SECRETS_TIMEOUT_MS   = var.timeout_ms == null ? null : format("%d", var.timeout_ms)
    LAMBDA_SECRETS_CONCURRENCY  = var.concurrency == null ? null : format("%d", var.concurrency)
    LAMBDA_SECRETS_BATCH        = var.batch
    LAMBDA_SECRETS_LOG          = var.log_level
    LAMBDA_SECRETS_NEXT_WRAPPER = var.next_wrapper
  }

  environment_variables = merge(
    {
      AWS_LAMBDA_EXEC_WRAPPER = local.wrapper_path
      LAMBDA_SECRETS          = local.lambda_secrets_json
    },
    { for k, v in local.options : k => v if v != null },
  )
}

resource "aws_lambda_layer_version" "this" {
  count = var.layer_zip != null ? 1 : 0

  layer_name               = var.name
  description              = "lambda-secrets: Secrets Manager secrets into the environment at cold start (AWS_LAMBDA_EXEC_WRAPPER=/opt/bin/lambda-secrets)"
  filename                 = var.layer_zip
  source_code_hash         = filebase64sha256(var.layer_zip)
  compatible_architectures = var.architectures
  compatible_runtimes      = length(var.compatible_runtimes) > 0 ? var.compatible_runtimes : null
}

resource "aws_iam_role_policy" "this" {
  count = var.role_name != null ? 1 : 0

  name   = var.name
  role   = var.role_name
  policy = local.policy_json
}
