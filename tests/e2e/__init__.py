"""Browser tests (DESIGN 6.2 "browser"): the system Chromium against the live, threaded server."""
