"""Live recording (``conformance record --live``): re-record the corpus from the vendors.

I/O through the driver (``conformance.live.record``), the sender (``send``, the network)
and the writer (``store``, the output folder); the rest is pure:

* ``conformance.live.vendors`` -- which vendor a case talks to, the key variables, the
  auth headers (added at send time only);
* ``conformance.live.request`` -- which cases are recordable, the request to send;
* ``conformance.live.scrub``   -- deny-by-default scrubbing of a capture (headers, query,
  cookies, organisation and project ids, credential-like body values);
* ``conformance.live.draft``   -- a scrubbed capture as a case folder's content;
* ``conformance.live.select``  -- ``-k`` expressions over case ids;
* ``conformance.live.send``    -- httpx + the recording transport (``conformance.capture``);
* ``conformance.live.store``   -- secret scans and the atomic write, never into the baseline;
* ``conformance.live.record``  -- the loop and its outcomes.

docs/nightly.md explains the record -> drift loop and the scrubbing allow-lists.
"""

from __future__ import annotations

from conformance.live.record import Outcome, Selection, record_case, record_live, select_cases
from conformance.live.scrub import Scrubbed, scrub_capture
from conformance.live.vendors import VENDORS, Credentials, Missing, Vendor, credentials, vendor_for

__all__ = [
    "VENDORS",
    "Credentials",
    "Missing",
    "Outcome",
    "Scrubbed",
    "Selection",
    "Vendor",
    "credentials",
    "record_case",
    "record_live",
    "scrub_capture",
    "select_cases",
    "vendor_for",
]
