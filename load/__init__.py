"""The load test (`make load`, issue 10): a real gunicorn on PostgreSQL, many concurrent actors."""
