"""The command line: ``intake-bot`` and its commands (run, try, flow, roles, stats).

A channel of its own for admins and reporting clerks at a terminal, and the place where
the channels are started from; the core imports nothing from here.
"""
