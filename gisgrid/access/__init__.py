"""Who may do what: accounts, roles and area scopes, the audit log, the household register."""
