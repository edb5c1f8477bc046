"""The ordermail CDK app: one construct per concern, composed by `OrderMailStack`.

Entry point: `app.py` (calls `workflow.app.build_app`). Parameters: `workflow.context`.
"""
