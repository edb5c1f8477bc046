"""Lambda code for ordermail: thin handlers over plain domain modules.

This package is the deployed Lambda asset. It may import only the standard library, the Powertools
layer (aws-lambda-powertools, pydantic, aws-xray-sdk, boto3 from the runtime) and what
`tasks/requirements.txt` bundles (Jinja2, email-validator).
"""
