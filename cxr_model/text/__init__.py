"""Report text: the Keras-compatible tokenizer and the text branch's input vectors."""
