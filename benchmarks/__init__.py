"""Performance suite of CXR Desktop: `python -m benchmarks.run [--quick] [--model DIR]`."""
