# lambda-secrets: publishes (or reuses) the layer, turns the references (Secrets Manager secrets and
# SSM parameters) into the LAMBDA_SECRETS JSON the binary reads, and grants exactly what fetching
# them needs.

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

  # The project's one list of runtimes (compatible-runtimes.txt, one a line, '#' comments).
  compatible_runtimes = var.compatible_runtimes != null ? var.compatible_runtimes : [
    for line in split("\n", file("${path.module}/compatible-runtimes.txt")) : trimspace(line)
    if trimspace(line) != "" && !startswith(trimspace(line), "#")
  ]

  # ---- Names (the variables' validations read these; they do not depend on the variables). ----
  variable_name_pattern = "^[A-Za-z_][A-Za-z0-9_]*$"
  reserved_name_pattern = "^(_HANDLER|_X_AMZN_TRACE_ID|AWS_REGION|AWS_DEFAULT_REGION|AWS_EXECUTION_ENV|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_ACCESS_KEY|AWS_SECRET_KEY|AWS_SECURITY_TOKEN|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ|AWS_LAMBDA_.*|LAMBDA_SECRETS.*)$"

  # ---- The reference grammar, the only copy (README "References"). ----
  object_fields      = ["secret_id", "parameter", "json_key", "version_stage", "version_id", "optional"]
  secret_id_pattern  = "^(arn:[a-z0-9-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]+$"
  parameter_arn_head = "^arn:[a-z0-9-]+:ssm:[a-z0-9-]+:[0-9]{12}:parameter/"
  # SSM parameter names: letters, digits, '_', '.', '-' and '/' for the hierarchy. A selector is a
  # version number or a label (a label cannot start with a digit).
  parameter_name_pattern = "^[A-Za-z0-9_./-]+$"
  selector_pattern       = "^([0-9]+|[A-Za-z_.-][A-Za-z0-9_.-]*)$"

  # Every reference, keyed by variable name (secrets) or "[i]" (expand). try(): a `secrets` or
  # `expand` of the wrong shape is reported by its own validation, not by an error here.
  raw_refs = merge(
    try({ for k, v in var.secrets : k => { value = v, named = true, label = k } }, {}),
    try({ for i, v in var.expand : format("[%d]", i) => { value = v, named = false, label = "expand[${i}]" } }, {}),
  )

  # Step 1: what was written. `fields` holds the object form's fields ("" = not given); a string is
  # split into the same fields: a secret's SECRET_ID:JSON_KEY:VERSION_STAGE:VERSION_ID (an ARN is
  # its first seven ':'-fields, a name has no ':'), or a parameter's NAME[:SELECTOR] / ARN[:SELECTOR]
  # (`ssm:` prefix removed) in `parameter`.
  given = { for k, r in local.raw_refs : k => [for v in [r.value] :
    can(keys(v)) ? {
      form    = "object"
      unknown = join(", ", sort(setsubtract(keys(v), local.object_fields)))
      typed = alltrue([for f in local.object_fields : can(regex(
        f == "optional" ? "^(true|false|null)$" : "^(\"|null$)", jsonencode(try(v[f], null))
      ))])
      kind       = try(coalesce(v.parameter), "") != "" ? "parameter" : "secret"
      extra      = false
      ssm_prefix = false
      fields = {
        secret_id     = try(tostring(coalesce(v.secret_id)), "")
        parameter     = try(tostring(coalesce(v.parameter)), "")
        json_key      = try(tostring(coalesce(v.json_key)), "")
        version_stage = try(tostring(coalesce(v.version_stage)), "")
        version_id    = try(tostring(coalesce(v.version_id)), "")
        optional      = try(tobool(v.optional), null) == true
      }
      } : [for s in [try(tostring(v), "")] : [for p in [split(":", s)] : [for n in [startswith(s, "arn:") ? 7 : 1] : [
        for is_parameter in [startswith(s, "ssm:") || (startswith(s, "arn:") && try(p[2], "") == "ssm")] : {
          form       = can(regex("^\"", jsonencode(v))) ? "string" : "other"
          unknown    = ""
          typed      = true
          kind       = is_parameter ? "parameter" : "secret"
          extra      = !is_parameter && length(p) > n + 3
          ssm_prefix = startswith(s, "ssm:")
          fields = {
            secret_id     = is_parameter ? "" : join(":", slice(p, 0, min(n, length(p))))
            parameter     = !is_parameter ? "" : startswith(s, "ssm:") ? substr(s, 4, -1) : s
            json_key      = is_parameter ? "" : try(p[n], "")
            version_stage = is_parameter ? "" : try(p[n + 1], "")
            version_id    = is_parameter ? "" : try(p[n + 2], "")
            optional      = false
          }
  }][0]][0]][0]][0]][0] }

  # Step 2: one record per reference: what it names, where that lives, its IAM resources, and
  # `error`, "" or why the binary would refuse it (checked by the preconditions below).
  refs = { for k, g in local.given : k => merge(
    { kind = g.kind, named = local.raw_refs[k].named, label = local.raw_refs[k].label, fields = g.fields },

    # A secret. Name: add the 6-character random suffix Secrets Manager appends. Full ARN (ends in
    # -XXXXXX): as is. Partial ARN: add the suffix. Exactly six '?' so that "prod/db" does not also
    # match "prod/db-old-AbCdEf".
    g.kind == "secret" ? [for id in [g.fields.secret_id] : [for arn in [startswith(id, "arn:") ? split(":", id) : []] : {
      region    = try(arn[3], local.region)
      partition = try(arn[1], local.partition)
      # A pinned reference (stage or id) is always read with GetSecretValue.
      pinned = g.fields.version_stage != "" || g.fields.version_id != ""
      arn_pattern = (
        length(arn) == 0 ? "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${id}-??????" :
        can(regex("-[A-Za-z0-9]{6}$", try(arn[6], ""))) ? id : "${id}-??????"
      )
      is_path   = false
      arn       = ""
      path_arns = []
      error = (
        g.form == "other" ? "a reference must be a string (SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]], ssm:NAME[:SELECTOR] or a parameter ARN) or an object with secret_id or parameter" :
        g.unknown != "" ? "unknown field(s) ${g.unknown}: the object form takes secret_id or parameter (one of them), json_key, optional, and for a secret version_stage or version_id" :
        !g.typed ? "secret_id, parameter, json_key, version_stage and version_id must be strings, optional true or false" :
        id == "" ? (g.form == "object" ? "secret_id or parameter is required and must not be empty" : "the secret id is empty") :
        !can(regex(local.secret_id_pattern, id)) ? (
          length(arn) > 0 ? "neither a Secrets Manager secret ARN (arn:PARTITION:secretsmanager:REGION:ACCOUNT_ID:secret:NAME) nor an SSM parameter ARN (arn:PARTITION:ssm:REGION:ACCOUNT_ID:parameter/NAME)" :
          g.form == "object" ? "secret_id is neither a secret name (letters, digits and /_+=.@-) nor a Secrets Manager secret ARN; in the object form json_key, version_stage and version_id go in their own fields" :
          "a secret name may contain only letters, digits and /_+=.@-"
        ) :
        g.extra ? "too many ':'-separated fields: expected SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]], where SECRET_ID is a secret name (which cannot contain ':') or a secret ARN" :
        g.fields.version_stage != "" && g.fields.version_id != "" ? "VERSION_STAGE and VERSION_ID together: give only one of them (for example prod/db::AWSPREVIOUS or prod/db:::VERSION_ID)" :
        !local.raw_refs[k].named && g.fields.json_key != "" ? "a JSON_KEY is not allowed in expand (every top-level key of the secret becomes a variable); to take one key, use secrets instead" :
        ""
      )
    }][0]][0] :

    # A parameter: NAME[:SELECTOR] or arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]. Its
    # IAM resource is arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME without the selector, where a
    # hierarchical name keeps its leading '/' as the separator (/prod/db/host -> parameter/prod/db/host,
    # host -> parameter/host). A name ending in '/' is a path, read with GetParametersByPath, which AWS
    # authorizes against the path as sent, not against the parameters it returns (README "What the
    # policy grants"): both spellings of the path are granted, with and without the final '/'.
    [for t in [g.fields.parameter] : [for p in [split(":", t)] : [for is_arn in [startswith(t, "arn:")] : [
      for name in [is_arn ? [for rest in [trimprefix(try(p[5], ""), "parameter/")] : strcontains(rest, "/") ? "/${rest}" : rest][0] : p[0]] : {
        region    = is_arn ? try(p[3], "") : local.region
        partition = is_arn ? try(p[1], "") : local.partition
        pinned    = false
        is_path   = endswith(name, "/")
        arn = (is_arn ? join(":", slice(p, 0, min(6, length(p)))) :
        "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${startswith(name, "/") ? "" : "/"}${name}")
        path_arns = [for base in ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${trimsuffix(name, "/")}"] :
        trimsuffix(name, "/") == "" ? ["${base}/"] : [base, "${base}/"]][0]
        arn_pattern = ""
        error = (
          g.form == "other" ? "a reference must be a string or an object" :
          g.unknown != "" ? "unknown field(s) ${g.unknown}: the object form of a parameter takes parameter, json_key and optional" :
          !g.typed ? "parameter and json_key must be strings, optional true or false" :
          g.fields.secret_id != "" ? "parameter and secret_id together: an object names either a parameter or a secret" :
          g.form == "object" && (g.fields.version_stage != "" || g.fields.version_id != "") ? "version_stage and version_id are for secrets; a parameter's version or label goes after its name (\"/prod/db/host:3\")" :
          g.form == "object" && startswith(t, "ssm:") ? "parameter takes a name or a parameter ARN without the ssm: prefix (for example /prod/db/host)" :
          g.ssm_prefix && is_arn ? "ssm: takes a parameter name; give a parameter ARN as it is, without ssm:" :
          is_arn && !can(regex(local.parameter_arn_head, t)) ? "not an SSM parameter ARN: expected arn:PARTITION:ssm:REGION:ACCOUNT_ID:parameter/NAME, then an optional :SELECTOR" :
          length(p) > (is_arn ? 7 : 2) ? "a parameter name cannot contain ':': expected ssm:NAME[:SELECTOR] or arn:PARTITION:ssm:REGION:ACCOUNT_ID:parameter/NAME[:SELECTOR]" :
          name == "" ? "the parameter name is empty" :
          !can(regex(local.parameter_name_pattern, name)) ? "a parameter name may contain only letters, digits and _.-/" :
          strcontains(name, "/") && !startswith(name, "/") ? "a parameter name in a hierarchy starts with '/' (for example ssm:/prod/db/host)" :
          endswith(name, "/") && is_arn ? "a path (a name ending in '/') is given by name, not by ARN: ssm:/prod/app/ or parameter = \"/prod/app/\"" :
          endswith(name, "/") && length(p) > (is_arn ? 6 : 1) ? "a path (a name ending in '/') takes no selector" :
          endswith(name, "/") && g.fields.json_key != "" ? "a path (a name ending in '/') takes no json_key: every parameter under it becomes a variable" :
          endswith(name, "/") && local.raw_refs[k].named ? "a path (a name ending in '/') expands only in expand, where every parameter directly under it becomes a variable; here name one parameter" :
          length(p) > (is_arn ? 6 : 1) && !can(regex(local.selector_pattern, try(p[is_arn ? 6 : 1], ""))) ? "the selector after the name must be a version number or a label (letters, digits, '.', '-', '_', not starting with a digit)" :
          !local.raw_refs[k].named && g.fields.json_key != "" ? "json_key is not allowed in expand (every top-level key of the parameter becomes a variable); to take one key, use secrets instead" :
          ""
        )
    }][0]][0]][0]][0],
  ) }

  # Malformed references, for the preconditions (unknown until apply when a reference is).
  reference_errors = [for k, r in local.refs : "${r.label} = ${jsonencode(local.raw_refs[k].value)}: ${r.error}" if r.error != ""]

  secret_refs    = { for k, r in local.refs : k => r if r.kind == "secret" }
  parameter_refs = { for k, r in local.refs : k => r if r.kind == "parameter" }

  secret_arn_patterns = sort(distinct([for k, r in local.secret_refs : r.arn_pattern]))
  parameter_arns      = sort(distinct([for k, r in local.parameter_refs : r.arn if !r.is_path]))
  parameter_path_arns = sort(distinct(flatten([for k, r in local.parameter_refs : r.path_arns if r.is_path])))

  # ---- BatchGetSecretValue: granted only when the binary can call it (README "Fetching"). ----
  batch_mode = var.batch == null ? "auto" : var.batch
  # Distinct current-version (not pinned) secrets per region, as the binary groups them.
  current_by_region = {
    for region in distinct([for k, r in local.secret_refs : r.region]) :
    region => distinct([for k, r in local.secret_refs : r.fields.secret_id if r.region == region && !r.pinned])
  }
  batch_possible = (
    local.batch_mode == "never" ? false :
    local.batch_mode == "always" ? anytrue([for region, ids in local.current_by_region : length(ids) > 0]) :
    anytrue([for region, ids in local.current_by_region : length(ids) >= 2])
  )

  # kms:Decrypt only on behalf of Secrets Manager and SSM, in every region each reads from.
  kms_via = { for service, rs in { secretsmanager = local.secret_refs, ssm = local.parameter_refs } : service => sort(distinct([
    for k, r in rs :
    "${service}.${r.region}.${startswith(r.region, "cn-") ? "amazonaws.com.cn" : lookup(local.dns_suffixes, r.partition, "amazonaws.com")}"
  ])) }

  kms_statement_sids = { secretsmanager = "DecryptSecretsViaSecretsManager", ssm = "DecryptParametersViaSSM" }

  policy = {
    Version = "2012-10-17"
    Statement = concat(
      length(local.secret_arn_patterns) > 0 ? [{
        Sid      = "GetSecretValue"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = local.secret_arn_patterns
      }] : [],
      local.batch_possible ? [{
        # BatchGetSecretValue has no resource type: it is granted on "*", and each secret in a
        # batch is still checked against GetSecretValue above.
        Sid      = "BatchGetSecretValue"
        Effect   = "Allow"
        Action   = "secretsmanager:BatchGetSecretValue"
        Resource = "*"
      }] : [],
      length(local.parameter_arns) > 0 ? [{
        Sid      = "GetParameters"
        Effect   = "Allow"
        Action   = "ssm:GetParameters"
        Resource = local.parameter_arns
      }] : [],
      length(local.parameter_path_arns) > 0 ? [{
        Sid      = "GetParametersByPath"
        Effect   = "Allow"
        Action   = "ssm:GetParametersByPath"
        Resource = local.parameter_path_arns
      }] : [],
      # One statement per service that reads through a customer-managed key (secretsmanager sorts
      # before ssm, so the order is stable).
      [for service, sid in local.kms_statement_sids : {
        Sid       = sid
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = sort(distinct(var.kms_key_arns))
        Condition = { StringEquals = { "kms:ViaService" = local.kms_via[service] } }
      } if length(var.kms_key_arns) > 0 && length(local.kms_via[service]) > 0],
    )
  }
  policy_json = jsonencode(local.policy)

  # ---- The environment. A string reference is passed exactly as written; an object keeps only
  # the fields that are given. Built as text because a Terraform expression cannot yield a string
  # for one element and an object for another. ----
  ref_json = {
    for k, r in local.raw_refs : k => local.given[k].form == "object" ? jsonencode({
      for f, x in local.given[k].fields : f => x if x != "" && x != false
    }) : jsonencode(try(tostring(r.value), null))
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
  description              = "lambda-secrets: Secrets Manager secrets and SSM parameters into the environment at cold start (AWS_LAMBDA_EXEC_WRAPPER=/opt/bin/lambda-secrets)"
  filename                 = var.layer_zip
  source_code_hash         = filebase64sha256(var.layer_zip)
  compatible_architectures = var.architectures
  compatible_runtimes      = length(local.compatible_runtimes) > 0 ? local.compatible_runtimes : null
}

resource "aws_iam_role_policy" "this" {
  count = var.role_name != null ? 1 : 0

  name   = var.name
  role   = var.role_name
  policy = local.policy_json

  lifecycle {
    # References known only at apply are checked here, before a policy is written from them.
    precondition {
      condition     = length(local.reference_errors) == 0
      error_message = "Invalid reference(s): ${join("; ", local.reference_errors)}."
    }
  }
}
