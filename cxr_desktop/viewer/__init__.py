"""The image viewer: window/level, zoom/pan, heatmap overlay."""
