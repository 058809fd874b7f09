"""Cases: their keys and grants, and (later) the workflow that moves them."""
