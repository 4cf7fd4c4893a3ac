"""Who may do what on the cluster: principals, their credentials, TLS material, the ACL plan."""
