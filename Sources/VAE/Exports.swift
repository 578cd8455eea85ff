// VAE's public API speaks in Linalg types (Activation, FloatBuffer); importers get them for free.
@_exported import Linalg
