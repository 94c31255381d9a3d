"""Hostile inputs: every case ends in a verdict or one clear line, never a traceback or a hang."""
