// Placeholder until the Training module lands; replaced by its first real file.
