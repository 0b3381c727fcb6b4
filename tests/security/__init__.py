"""Cross-cutting security suites: the authorization matrix, security defaults, bad input."""
