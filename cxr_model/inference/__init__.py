"""Inference without torch: model card, ONNX Runtime backend, predictor, heatmaps, folder scans."""
