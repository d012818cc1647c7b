"""Action buttons and self-service actions: a signed POST to the user's server, every run audited."""
