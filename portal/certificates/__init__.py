"""Certificates: PDFs a department issues for a decision (and a receipt for every case),
rendered once by a job, stored, downloaded by their holder and checkable by anyone.

- ``models``: the certificate row (serial, hashed verification code, state, file digest).
- ``codes``: serial numbers and verification codes, and how a code is kept (an HMAC).
- ``kinds``: which certificates a case's definitions ask for, and when.
- ``documents``: the certificate's HTML, in the case's language, with its QR code.
- ``rendering``: WeasyPrint behind one helper (no ``file:``, no outside URL, one font config).
- ``storage``: the stored files, written atomically.
- ``services``: every change (ask for, issue, retry) and the verification.
- ``tasks``: the job that issues a certificate.
- ``views``: downloads, the clerk's retry, the public ``/verify`` page.
"""
