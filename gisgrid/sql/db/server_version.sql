-- PostgreSQL's version, for /healthz.
SHOW server_version
