"""exactonline_api."""
