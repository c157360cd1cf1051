variable "name" {
  description = "Prefix of every name in this example."
  type        = string
  default     = "lambda-secrets-example"
}

variable "region" {
  description = "Region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "endpoint" {
  description = "One endpoint URL for every AWS service (moto_server, LocalStack), for example http://127.0.0.1:5000. Null: real AWS."
  type        = string
  default     = null
}

variable "layer_zip" {
  description = "Path of the lambda-secrets layer zip for var.architecture (lambda-secrets-<version>-<arch>.zip)."
  type        = string
}

variable "function_zip" {
  description = "Path of the function's deployment package: app.py zipped (zip function.zip app.py)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64: must match the binary in layer_zip."
  type        = string
  default     = "x86_64"
}

variable "db_password" {
  description = "Demo value stored in the example's database secret."
  type        = string
  default     = "example-only-password"
  sensitive   = true
}

variable "api_key" {
  description = "Demo value stored in the example's API key secret."
  type        = string
  default     = "example-api-key"
  sensitive   = true
}

variable "db_host" {
  description = "Demo value of the example's plain String parameter."
  type        = string
  default     = "db.internal.example"
}

variable "db_token" {
  description = "Demo value of the example's SecureString parameter."
  type        = string
  default     = "example-only-token"
  sensitive   = true
}
