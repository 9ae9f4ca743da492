"""Image input: one reader for every X-ray file format, and the model's preprocessing."""
