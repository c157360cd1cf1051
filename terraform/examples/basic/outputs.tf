output "function_name" {
  value = aws_lambda_function.fn.function_name
}

output "layer_arn" {
  value = module.lambda_secrets.layer_arn
}

output "environment_variables" {
  value = module.lambda_secrets.environment_variables
}

output "policy_json" {
  value = module.lambda_secrets.policy_json
}

output "secret_arn_patterns" {
  value = module.lambda_secrets.secret_arn_patterns
}

output "parameter_arns" {
  value = module.lambda_secrets.parameter_arns
}

output "parameter_path_arns" {
  value = module.lambda_secrets.parameter_path_arns
}
