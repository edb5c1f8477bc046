"""ordermail: operator CLI, embedded local runtime and benchmark."""
