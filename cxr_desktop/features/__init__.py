"""One object per feature of the window. Each owns its actions, widgets, state and worker
wiring; `MainWindow` only builds them (in dependency order) and places what they expose."""
