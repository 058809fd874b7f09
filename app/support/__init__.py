"""Legal and financial support for reporters (DESIGN.md section 7): requests, decisions, the ledger, budgets."""
