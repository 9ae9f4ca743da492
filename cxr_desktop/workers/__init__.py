"""Worker threads: file reading, inference and batch scans, off the GUI thread.

Each worker is a QObject living in its own QThread. Requests go in by queued signals
carrying a request id; answers come back by signal with that id, so the GUI side can drop
answers to requests that a newer one has superseded.
"""
