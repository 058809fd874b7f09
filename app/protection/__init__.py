"""Post-report monitoring (DESIGN.md section 7, issue 8): no reporter may suffer for having reported.

``persons`` makes and extends protected-person records (blind index only,
identity under the case's identity key); ``matching`` raises retaliation
alerts when an adverse personnel event of a protected person falls in their
protection period; ``checkins`` asks protected reporters through their inbox
and flags the check-ins they miss; ``retaliation`` turns a complaint or an
alert into a linked ``retaliation`` case and keeps the dates the law asks
for, with its compliance checks; ``dashboard`` gathers it all for the
protection team.
"""
