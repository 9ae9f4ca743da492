"""The triage worklist of a listener's folder (SQLite, written by `cxr listen`)."""
