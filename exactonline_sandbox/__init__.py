"""exactonline_sandbox."""
