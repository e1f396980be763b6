"""People's accounts: sign-up, log-in, password reset, profile, personal access tokens."""
