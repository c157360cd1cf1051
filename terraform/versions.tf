terraform {
  # 1.9 is the first release whose variable validations may refer to other
  # variables (layer_zip / layer_arn, secrets / expand).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100.0.
      version = ">= 5.0, < 7.0"
    }
  }
}
