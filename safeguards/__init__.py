"""What stands between the store and every reader: sign-in, users, roles, the role-scoped query,
disclosure control and the hash-chained audit trail."""
