/// A setting, flag, spec or config file that no run can use: the message names it, says what it
/// takes and what it got, on one line. Lives below every module that reads settings (the model's
/// specs, the trainer's config, the command line), so none of them owns it.
public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
