"""Staff e-mail notifications (issue 9): preferences, the outbox, hooks, the cron sender.

Other packages call the hooks in :mod:`app.notifications.service` inside their
own transaction; :mod:`app.notifications.mailer` delivers later, from
``flask notifications send``. Reporters never get mail (anonymity).
"""
