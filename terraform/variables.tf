# Inputs of the lambda-secrets module. See README.md for examples.
#
# The reference grammar (secrets and parameters, string and object forms) is written once, in
# main.tf (local.refs), and a malformed reference fails the precondition of the lambda_secrets_json
# output and of the inline policy. It cannot be a validation of `secrets` or `expand`: a validation
# must refer to its own variable, and one that reads a local derived from that variable is a cycle.
# The validations below only check what does not need the grammar: the shape of the two inputs and
# the variable names.

variable "name" {
  description = "Name of the published layer (when layer_zip is given) and of the inline IAM policy (when role_name is given)."
  type        = string
  default     = "lambda-secrets"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1 to 64 letters, digits, '-' or '_' (it names a Lambda layer and an IAM policy)."
  }
}

variable "secrets" {
  description = <<-EOT
    Map from environment variable name to a reference (becomes LAMBDA_SECRETS as a JSON object).
    A Secrets Manager secret: a string SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]] (SECRET_ID: a
    secret name, a partial ARN or a full ARN) or an object { secret_id, json_key, version_stage,
    version_id, optional }. An SSM Parameter Store parameter: a string ssm:NAME[:SELECTOR] or a
    parameter ARN arn:PARTITION:ssm:REGION:ACCOUNT_ID:parameter/NAME[:SELECTOR], or an object
    { parameter, json_key, optional }. The forms may be mixed in one map; the type is `any` because a
    Terraform map type cannot hold strings and objects side by side.
  EOT
  type        = any
  default     = {}
  nullable    = false

  validation {
    condition     = can(keys(var.secrets))
    error_message = "secrets must be a map from environment variable name to reference, for example { DB_PASSWORD = \"prod/db:password\" }."
  }

  validation {
    condition     = alltrue([for k in try(keys(var.secrets), []) : can(regex(local.variable_name_pattern, k))])
    error_message = "secrets: invalid environment variable name(s) ${join(", ", [for k in try(keys(var.secrets), []) : jsonencode(k) if !can(regex(local.variable_name_pattern, k))])}: use only letters, digits and '_', not starting with a digit (for example DB_PASSWORD)."
  }

  validation {
    condition     = !anytrue([for k in try(keys(var.secrets), []) : can(regex(local.reserved_name_pattern, k))])
    error_message = "secrets: reserved name(s) ${join(", ", [for k in try(keys(var.secrets), []) : k if can(regex(local.reserved_name_pattern, k))])} cannot receive a value: Lambda's own variables (_HANDLER, _X_AMZN_TRACE_ID, AWS_REGION, AWS_DEFAULT_REGION, AWS_EXECUTION_ENV, AWS_LAMBDA_*, the AWS credential variables, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, TZ) and lambda-secrets' own LAMBDA_SECRETS* are refused. Choose another name."
  }
}

variable "expand" {
  description = <<-EOT
    References for the array form of LAMBDA_SECRETS: every top-level key of each (JSON object) secret
    or parameter becomes an environment variable of the same name, and a parameter path ending in '/'
    (ssm:/prod/app/) gives one variable per parameter directly under it, named by the last segment of
    its name. Same reference syntax as `secrets`, without a JSON_KEY. Give either `secrets` or
    `expand`, not both.
  EOT
  type        = any
  default     = []
  nullable    = false

  validation {
    condition     = can(regex("^\\[", jsonencode(var.expand)))
    error_message = "expand must be a list of references, for example [\"prod/app-config\", \"ssm:/prod/app/\"]."
  }

  validation {
    condition     = try(length(var.secrets) == 0 || length(var.expand) == 0, true)
    error_message = "Give either secrets (one variable per reference) or expand (every key of each secret, or every parameter under a path, becomes a variable), not both: LAMBDA_SECRETS is either a JSON object or a JSON array."
  }

  validation {
    condition     = try(length(var.secrets) > 0 || length(var.expand) > 0, true)
    error_message = "Nothing to fetch: give secrets (a map of environment variable name to reference) or expand (a list of references)."
  }
}

variable "role_name" {
  description = "Name (not ARN) of the function's execution role. When set, an inline policy granting what the references need is attached to it. Must be known at plan time."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null ? true : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name is the role's name (for example aws_iam_role.fn.name), not its ARN: 1 to 64 characters from letters, digits and +=,.@_-."
  }
}

variable "kms_key_arns" {
  description = "ARNs of the customer-managed KMS keys that encrypt the secrets and SecureString parameters. Granted kms:Decrypt only through Secrets Manager (when a secret is referenced) and SSM (when a parameter is). Not needed for the AWS managed keys aws/secretsmanager and aws/ssm."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.kms_key_arns : can(regex("^arn:[a-z0-9-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", a))])
    error_message = "kms_key_arns takes key ARNs (arn:PARTITION:kms:REGION:ACCOUNT_ID:key/KEY_ID, for example aws_kms_key.x.arn): an alias or a bare key id cannot be the resource of kms:Decrypt. Bad: ${join(", ", [for a in var.kms_key_arns : a if !can(regex("^arn:[a-z0-9-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", a))])}."
  }
}

variable "layer_zip" {
  description = "Path of a lambda-secrets layer zip (lambda-secrets-<version>-<arch>.zip) to publish as a new layer version. Give this or layer_arn."
  type        = string
  default     = null

  validation {
    condition     = var.layer_zip == null ? true : fileexists(var.layer_zip)
    error_message = "layer_zip: no such file. Build or download the layer zip first; a relative path is taken from the directory terraform runs in (use \"$${path.root}/...\" or \"$${path.module}/...\")."
  }
}

variable "layer_arn" {
  description = "ARN of an existing layer version (…:layer:NAME:VERSION), possibly shared from another account. Give this or layer_zip."
  type        = string
  default     = null

  validation {
    condition     = (var.layer_arn == null) != (var.layer_zip == null)
    error_message = "Give exactly one of layer_zip (publish the layer from a zip) and layer_arn (use an existing layer version)."
  }

  validation {
    condition     = var.layer_arn == null ? true : can(regex("^arn:[a-z0-9-]+:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.layer_arn))
    error_message = "layer_arn must be a layer version ARN, arn:PARTITION:lambda:REGION:ACCOUNT_ID:layer:NAME:VERSION (a function can only use a layer version, so the trailing :VERSION is required)."
  }
}

variable "architectures" {
  description = "Instruction set(s) of the published layer (compatible_architectures): x86_64 and/or arm64. Must match the binary inside layer_zip and the function's architectures."
  type        = list(string)
  default     = ["x86_64"]
  nullable    = false

  validation {
    condition     = length(var.architectures) >= 1 && length(var.architectures) <= 2 && length(distinct(var.architectures)) == length(var.architectures) && alltrue([for a in var.architectures : contains(["x86_64", "arm64"], a)])
    error_message = "architectures must be [\"x86_64\"], [\"arm64\"] or both (Lambda's names; not amd64 or aarch64)."
  }
}

variable "compatible_runtimes" {
  description = "compatible_runtimes of the published layer (informational: used to filter ListLayers and the console). Null: the project's one list, compatible-runtimes.txt (also read by scripts/publish-layer and checked against layer/template.yaml). Empty list: not set."
  type        = list(string)
  default     = null

  validation {
    condition     = var.compatible_runtimes == null ? true : length(var.compatible_runtimes) <= 15
    error_message = "Lambda accepts at most 15 compatible_runtimes for a layer version."
  }
}

# ---- Options: each becomes a LAMBDA_SECRETS_* variable only when set (null: the binary's default). ----

variable "timeout_ms" {
  description = "LAMBDA_SECRETS_TIMEOUT_MS: deadline in milliseconds for all fetching, retries included (binary default 5000)."
  type        = number
  default     = null

  validation {
    condition     = var.timeout_ms == null ? true : (floor(var.timeout_ms) == var.timeout_ms && var.timeout_ms >= 1 && var.timeout_ms <= 900000)
    error_message = "timeout_ms must be a whole number of milliseconds from 1 to 900000 (Lambda's on-demand init phase is capped at 10 s)."
  }
}

variable "concurrency" {
  description = "LAMBDA_SECRETS_CONCURRENCY: most requests in flight at once (binary default 8)."
  type        = number
  default     = null

  validation {
    condition     = var.concurrency == null ? true : (floor(var.concurrency) == var.concurrency && var.concurrency >= 1 && var.concurrency <= 64)
    error_message = "concurrency must be a whole number from 1 to 64 (the binary refuses more)."
  }
}

variable "batch" {
  description = "LAMBDA_SECRETS_BATCH: auto, always or never (binary default auto). Also decides whether secretsmanager:BatchGetSecretValue is granted."
  type        = string
  default     = null

  validation {
    condition     = var.batch == null ? true : contains(["auto", "always", "never"], var.batch)
    error_message = "batch must be \"auto\", \"always\" or \"never\" (lower case), or null for the default (auto)."
  }
}

variable "log_level" {
  description = "LAMBDA_SECRETS_LOG: error, warn, info or debug (case-insensitive; Lambda's trace and fatal are accepted). Default: from AWS_LAMBDA_LOG_LEVEL, else info."
  type        = string
  default     = null

  validation {
    condition     = var.log_level == null ? true : can(regex("^(?i)(error|warn|info|debug|trace|fatal)$", var.log_level))
    error_message = "log_level must be one of error, warn, info, debug (or Lambda's trace, fatal), or null to follow AWS_LAMBDA_LOG_LEVEL."
  }
}

variable "next_wrapper" {
  description = "LAMBDA_SECRETS_NEXT_WRAPPER: absolute path of another exec wrapper (for example /opt/otel-instrument) to run between lambda-secrets and the runtime."
  type        = string
  default     = null

  validation {
    condition     = var.next_wrapper == null ? true : (can(regex("^/[^\\s]*$", var.next_wrapper)) && var.next_wrapper != "/opt/bin/lambda-secrets")
    error_message = "next_wrapper must be the absolute path of another exec wrapper, without white space (for example /opt/otel-instrument); it cannot be lambda-secrets itself (/opt/bin/lambda-secrets)."
  }
}

# ---- Where names are turned into ARNs. Null: taken from the provider (aws_region, aws_caller_identity, aws_partition). ----

variable "region" {
  description = "Region of the function, used for secrets given by name (an ARN keeps its own region). Default: the provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null ? true : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be a region code such as eu-west-1."
  }
}

variable "account_id" {
  description = "Account that owns the secrets given by name (an ARN keeps its own account). Default: the provider's account."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null ? true : can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "partition" {
  description = "ARN partition (aws, aws-cn, aws-us-gov, ...) for secrets given by name. Default: derived from region when it is set (cn-* gives aws-cn, us-gov-* gives aws-us-gov), else the provider's partition."
  type        = string
  default     = null

  validation {
    condition     = var.partition == null ? true : can(regex("^aws(-[a-z]+)*$", var.partition))
    error_message = "partition must be an ARN partition such as aws, aws-cn or aws-us-gov."
  }
}
