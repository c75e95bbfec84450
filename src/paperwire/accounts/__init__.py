"""Accounts: who may sign up (policy.py), e-mailed sign-in links and sessions (signin.py), the secrets they
carry (tokens.py)."""
