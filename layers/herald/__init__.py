"""herald: scheduled social-media campaigns, published exactly once from AWS Lambda."""

__version__ = "0.1.0"
