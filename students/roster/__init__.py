"""Roster import and export (花名册): template, reading what offices send, validation, commit, export."""
