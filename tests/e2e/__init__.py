"""Browser tests: the dashboard in Chromium, with every request to another origin blocked."""
