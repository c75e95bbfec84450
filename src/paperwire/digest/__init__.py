"""Daily and weekly e-mail digests.

The pure core lives here: ``schedule`` (arXiv's announcement calendar and when each subscriber's digest is
due), ``compose`` (which papers a digest holds, and why) and ``render`` (its HTML and plain-text parts).
Delivery (the ledger, the mailer, the job) calls these and does the I/O.
"""
