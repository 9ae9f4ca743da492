"""Widgets beside the image: the AI result, the report editor, the message bar."""
