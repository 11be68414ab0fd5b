"""The local stack behind ``make run``: PostgreSQL, SMTP sink, the services and the gateway."""
