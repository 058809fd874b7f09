"""The anonymous reporter surface: submit a report, get a receipt, come back to the inbox."""
