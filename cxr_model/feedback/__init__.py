"""The radiologist's verdicts on the AI's results, kept as the site's training data."""
