// Placeholder until the Linalg module lands; replaced by its first real file.
