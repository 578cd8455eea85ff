// Placeholder until the MPI module lands; replaced by its first real file.
