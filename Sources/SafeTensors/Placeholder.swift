// Placeholder until the SafeTensors module lands; replaced by its first real file.
