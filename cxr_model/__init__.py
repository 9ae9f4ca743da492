"""CXR core: reading X-rays, preprocessing, tokenizer, model runtime, Grad-CAM. No Qt here."""

NOT_A_DEVICE = "Research tool, not a medical device: not for diagnosis."
