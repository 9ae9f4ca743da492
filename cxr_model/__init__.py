"""CXR core: reading X-rays, preprocessing, tokenizer, model runtime, Grad-CAM. No Qt here."""
