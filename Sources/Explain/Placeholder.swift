// Placeholder until the Explain module lands; replaced by its first real file.
