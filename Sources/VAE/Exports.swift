// VAE's public API speaks in Linalg types (Activation, FloatBuffer) and throws Basics'
// ConfigError for specs that do not fit; importers get them for free.
@_exported import Linalg
@_exported import Basics
