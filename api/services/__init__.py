"""Services, one module per domain: each write is validated, written, audited, committed, then applied."""
