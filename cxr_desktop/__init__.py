"""CXR Desktop: a PySide6 chest X-ray viewer with an AI second reader. Not a medical device."""
