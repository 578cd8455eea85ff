// Linalg's timers and products report in Basics' clock; importers get it for free.
@_exported import Basics
