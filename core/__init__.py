"""The vocabulary every layer shares: feeds and their fields, errors, filters, calendar periods,
roles. Imports nothing else of the project."""
