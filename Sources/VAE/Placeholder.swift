// Placeholder until the VAE module lands; replaced by its first real file.
