"""Platform adapters: translate platform events to core calls and core messages to platform output."""
