"""tap_exactonline."""
