"""tap_exactonline: the Singer tap of this project (see README.md in this folder)."""
