"""The AI result as DICOM objects in the source study: a Comprehensive 3D SR (TID 1500
measurement report) and a Secondary Capture with the heatmap burned in (highdicom)."""
