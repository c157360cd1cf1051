output "layer_arn" {
  description = "ARN of the layer version to put in the function's layers (the published one, or layer_arn as given)."
  value       = var.layer_arn != null ? var.layer_arn : aws_lambda_layer_version.this[0].arn
}

output "environment_variables" {
  description = "AWS_LAMBDA_EXEC_WRAPPER, LAMBDA_SECRETS and the LAMBDA_SECRETS_* options that are set: merge() them into the function's environment variables."
  value       = local.environment_variables

  precondition {
    # Lambda refuses a function whose variables take more than 4 KB (names and values); fail at
    # plan rather than at apply.
    condition     = length(jsonencode(local.environment_variables)) <= 4096
    error_message = "The variables from this module alone take about ${length(jsonencode(local.environment_variables))} bytes, more than the 4 KB Lambda allows for all of a function's environment variables. Use names rather than ARNs, fewer references, or expand with fewer JSON secrets holding several keys each."
  }
}

output "lambda_secrets_json" {
  description = "The LAMBDA_SECRETS value alone (also in environment_variables)."
  value       = local.lambda_secrets_json

  precondition {
    # The one check of the reference grammar (main.tf, local.refs): what the binary would refuse at
    # cold start fails the plan, naming the entry and the fix.
    condition     = length(local.reference_errors) == 0
    error_message = "Invalid reference(s): ${join("; ", local.reference_errors)}."
  }
}

output "policy_json" {
  description = "IAM policy (JSON) granting what fetching the references needs: attached to role_name when given, or attach it yourself."
  value       = local.policy_json
}

output "secret_arn_patterns" {
  description = "Resources of the secretsmanager:GetSecretValue statement, one per distinct secret (sorted)."
  value       = local.secret_arn_patterns
}

output "parameter_arns" {
  description = "Resources of the ssm:GetParameters statement: the ARN of each distinct parameter, selector stripped (sorted)."
  value       = local.parameter_arns
}

output "parameter_path_arns" {
  description = "Resources of the ssm:GetParametersByPath statement: each path's ARN, with and without its final '/' (sorted)."
  value       = local.parameter_path_arns
}

output "batch_get_secret_value_granted" {
  description = "Whether the policy grants secretsmanager:BatchGetSecretValue (the binary may batch with these references and options)."
  value       = local.batch_possible
}
