"""Plain-Python domain logic of ordermail: no boto3, no I/O, unit-tested without mocks."""
