# A complete deployment: two secrets (one under a customer-managed KMS key), two SSM parameters
# under one path (a String and a SecureString under the same key), a function role, the
# lambda-secrets module in the array form (every key of each JSON secret, and every parameter
# under the path, becomes a variable), and the function that uses it.
#
#   zip function.zip app.py
#   terraform init
#   terraform apply -var layer_zip=/path/to/lambda-secrets-<version>-x86_64.zip -var function_zip=function.zip
#
# Against moto_server instead of AWS: add -var endpoint=http://127.0.0.1:PORT.

provider "aws" {
  region = var.region

  # Only when an endpoint is given (moto, LocalStack): fixed test credentials, no account or
  # metadata look-ups, and fail fast (the default 25 retries keep apply going for minutes when
  # the endpoint is down).
  access_key                  = var.endpoint != null ? "testing" : null
  secret_key                  = var.endpoint != null ? "testing" : null
  skip_credentials_validation = var.endpoint != null
  skip_requesting_account_id  = var.endpoint != null
  skip_metadata_api_check     = var.endpoint != null
  skip_region_validation      = var.endpoint != null
  max_retries                 = var.endpoint != null ? 1 : null

  dynamic "endpoints" {
    for_each = var.endpoint != null ? [var.endpoint] : []
    content {
      iam            = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      secretsmanager = endpoints.value
      ssm            = endpoints.value
      sts            = endpoints.value
    }
  }
}

# ---- Secrets ----

resource "aws_kms_key" "secrets" {
  description             = "${var.name}: encrypts the database secret and the token parameter"
  deletion_window_in_days = 7
  enable_key_rotation     = true
}

resource "aws_secretsmanager_secret" "db" {
  name                    = "${var.name}/db"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 0 # example only: lets destroy + apply reuse the name at once
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = aws_secretsmanager_secret.db.id
  # In the array form every top-level key becomes a variable of the same name.
  secret_string = jsonencode({ DB_USER = "app", DB_PASSWORD = var.db_password, DB_PORT = 5432 })
}

# Encrypted with the AWS managed key aws/secretsmanager: no kms grant needed.
resource "aws_secretsmanager_secret" "api_key" {
  name                    = "${var.name}/api-key"
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "api_key" {
  secret_id     = aws_secretsmanager_secret.api_key.id
  secret_string = jsonencode({ API_KEY = var.api_key })
}

# ---- Parameters: every parameter directly under /<name>/config/ becomes a variable named by the
# last segment of its name. ----

resource "aws_ssm_parameter" "db_host" {
  name  = "/${var.name}/config/DB_HOST"
  type  = "String"
  value = var.db_host
}

# Under the customer-managed key: the module grants kms:Decrypt on it through SSM only.
resource "aws_ssm_parameter" "db_token" {
  name   = "/${var.name}/config/DB_TOKEN"
  type   = "SecureString"
  key_id = aws_kms_key.secrets.arn
  value  = var.db_token
}

# ---- The function's role ----

resource "aws_iam_role" "fn" {
  name = "${var.name}-fn"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# What AWSLambdaBasicExecutionRole grants, inline (moto does not load AWS managed policies by default).
resource "aws_iam_role_policy" "logs" {
  name = "logs"
  role = aws_iam_role.fn.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "*"
    }]
  })
}

# ---- lambda-secrets ----

module "lambda_secrets" {
  source = "../.."

  name          = var.name
  layer_zip     = var.layer_zip
  architectures = [var.architecture]
  role_name     = aws_iam_role.fn.name
  kms_key_arns  = [aws_kms_key.secrets.arn]

  expand = [
    # Every key of the JSON secret: DB_USER, DB_PASSWORD, DB_PORT.
    aws_secretsmanager_secret.db.name,
    # Every parameter directly under the path: DB_HOST, DB_TOKEN.
    "ssm:/${var.name}/config/",
    # The object form; optional: the function still starts if this one cannot be read.
    { secret_id = aws_secretsmanager_secret.api_key.name, optional = true },
  ]

  timeout_ms = 3000
}

# ---- The function ----

resource "aws_lambda_function" "fn" {
  function_name    = var.name
  role             = aws_iam_role.fn.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = var.function_zip
  source_code_hash = filebase64sha256(var.function_zip)
  architectures    = [var.architecture]
  timeout          = 10

  layers = [module.lambda_secrets.layer_arn]

  environment {
    variables = merge(
      { APP_ENV = "example" },
      module.lambda_secrets.environment_variables,
    )
  }

  # The role must be able to read the secrets before the first cold start, and the values must
  # exist: wait for the inline policy and the secret versions.
  depends_on = [
    module.lambda_secrets,
    aws_iam_role_policy.logs,
    aws_secretsmanager_secret_version.db,
    aws_secretsmanager_secret_version.api_key,
    aws_ssm_parameter.db_host,
    aws_ssm_parameter.db_token,
  ]
}
