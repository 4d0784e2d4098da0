"""Pure PyTorch building blocks: no scikit-learn, skorch or pandas in here."""
