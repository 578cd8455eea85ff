import Basics

/// The settings given on a command line, read against `TrainSettings.all`: `--flag VALUE`,
/// `--flag=VALUE`, `--flag` / `--no-flag` for toggles, repeated flags for lists. Values are kept
/// as given until `apply`, so they can go over whichever base the command resolves (defaults,
/// `--config`, a run's saved settings).
public struct SettingArguments {
    /// Each given setting with its texts, in the order first given.
    public private(set) var given: [(setting: TrainSetting, texts: [String])] = []

    public init(_ arguments: [String]) throws {
        var i = 0
        func record(_ setting: TrainSetting, _ text: String) {
            if let at = given.firstIndex(where: { $0.setting.flag == setting.flag }) {
                given[at].texts.append(text)
            } else {
                given.append((setting, [text]))
            }
        }
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigError("unexpected argument '\(argument)'; train takes only --flags (see mpivae train --help)")
            }
            let body = argument.dropFirst(2)
            let name: String, inline: String?
            if let eq = body.firstIndex(of: "=") {
                name = String(body[..<eq])
                inline = String(body[body.index(after: eq)...])
            } else {
                name = String(body)
                inline = nil
            }
            if let setting = TrainSettings.named(flag: name) {
                switch setting.form {
                case .toggle:
                    guard inline == nil else {
                        throw ConfigError("--\(name) takes no value (use --\(name) or --no-\(name)), got \(argument)")
                    }
                    record(setting, "true")
                case .value(let placeholder), .repeated(let placeholder):
                    if let inline {
                        record(setting, inline)
                    } else {
                        guard i + 1 < arguments.count else {
                            throw ConfigError("--\(name) needs a value (<\(placeholder)>): \(setting.help)")
                        }
                        i += 1
                        record(setting, arguments[i])
                    }
                }
            } else if name.hasPrefix("no-"), let setting = TrainSettings.named(flag: String(name.dropFirst(3))),
                      case .toggle = setting.form {
                guard inline == nil else {
                    throw ConfigError("--\(name) takes no value (use --\(setting.flag) or --\(name)), got \(argument)")
                }
                record(setting, "false")
            } else {
                throw ConfigError("unknown option --\(name)" + (Self.nearest(name).map { "; did you mean --\($0)?" } ?? " (see mpivae train --help)"))
            }
            i += 1
        }
    }

    public var isEmpty: Bool { given.isEmpty }

    /// Whether `--flag` was given.
    public func contains(flag: String) -> Bool { given.contains { $0.setting.flag == flag } }

    /// Sets every given setting over `config` (the last of a value flag's texts wins; a repeated
    /// flag's texts together replace the list). Values are checked by `TrainConfig.validate`.
    public func apply(to config: inout TrainConfig) throws {
        for (setting, texts) in given {
            switch setting.form {
            case .repeated: try setting.parse(&config, texts)
            case .value, .toggle: try setting.parse(&config, [texts.last!])
            }
        }
    }

    /// The known flag closest to a mistyped one, when one is close enough to be what was meant.
    static func nearest(_ name: String) -> String? {
        let flags = TrainSettings.all.map(\.flag)
        let scored = flags.map { ($0, editDistance(name, $0)) }.min { $0.1 < $1.1 }
        guard let (flag, distance) = scored, distance <= max(1, name.count / 3) else { return nil }
        return flag
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                previous = row[j]
                row[j] = min(substitution, row[j] + 1, row[j - 1] + 1)
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
