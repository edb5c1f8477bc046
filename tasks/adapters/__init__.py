"""Adapters from the domain to AWS services (boto3 clients are built lazily)."""
