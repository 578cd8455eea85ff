// MPI's errors come out through Basics' one-line rule; importers get it for free.
@_exported import Basics
