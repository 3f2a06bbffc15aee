"""The chaos soak's tools. `dynamodb_proxy`: throttling and lost answers in front of
DynamoDB Local. A dev tool: nothing here is part of the function's package."""
