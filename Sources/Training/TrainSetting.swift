import Basics

/// One training setting as the user meets it: its `--flag`, its key in `--config` files and in
/// the run's config.json, its line in `train --help`, how a flag's text becomes its value, and
/// which values a run can use. `TrainSettings.all` declares each setting once with these; the
/// flag parser, the config file reader, the help text and `TrainConfig.validate` all read it.
public struct TrainSetting {
    public enum Form {
        /// `--flag VALUE` (or `--flag=VALUE`).
        case value(placeholder: String)
        /// `--flag` / `--no-flag`.
        case toggle
        /// `--flag VALUE`, repeatable; the values given replace the default list.
        case repeated(placeholder: String)
    }

    public let flag: String
    /// The property of `TrainConfig` (and key of config.json) this setting is.
    public let key: String
    public let help: String
    public let form: Form
    /// What a value must be, in words: "a whole number of at least 1".
    public let expects: String
    /// What a config file's JSON value must be to fit the setting's type, in words.
    public let jsonType: String
    /// Sets the value from one flag's text (a repeated flag: from all its texts in order).
    let parse: (inout TrainConfig, [String]) throws -> Void
    /// The value as help shows its default, and errors show what they found.
    let show: (TrainConfig) -> String
    /// Whether the value is one a run can use (or a refusal of its own, naming what it expects).
    let accepts: (TrainConfig) throws -> Bool

    /// The error for a value this setting refuses, naming the flag, or the key of `source`.
    func refusal(_ config: TrainConfig, source: String?) -> ConfigError {
        refusal(found: show(config), source: source)
    }

    func refusal(found: String, source: String?) -> ConfigError {
        guard let source else { return ConfigError("--\(flag) expects \(expects), got \(found)") }
        return ConfigError("\(source): key \"\(key)\" expects \(expects), got \(found)")
    }
}

// MARK: Builders for the kinds of value settings take

extension TrainSetting {
    /// The flag's name in camelCase: the key, unless a setting says otherwise.
    static func camelCase(_ flag: String) -> String {
        let words = flag.split(separator: "-")
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }
            .joined()
    }

    static func number<T: LosslessStringConvertible & Comparable>(
        _ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, T>, placeholder: String = "n",
        expects: String, help: String, accepts: @escaping (T) -> Bool = { _ in true }
    ) -> TrainSetting {
        var setting: TrainSetting!
        setting = TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .value(placeholder: placeholder), expects: expects,
            jsonType: jsonDescription(T.self),
            parse: { config, texts in
                let text = texts.last ?? ""
                guard let value = T(text.trimmingSpaces) else { throw setting.refusal(found: text, source: nil) }
                config[keyPath: path] = value
            },
            show: { "\($0[keyPath: path])" },
            accepts: { accepts($0[keyPath: path]) })
        return setting
    }

    static func text(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, String>,
                     placeholder: String, expects: String, help: String,
                     accepts: @escaping (String) -> Bool = { _ in true }) -> TrainSetting {
        TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .value(placeholder: placeholder), expects: expects,
            jsonType: "a string",
            parse: { config, texts in config[keyPath: path] = texts.last ?? "" },
            show: { $0[keyPath: path].isEmpty ? "an empty string" : $0[keyPath: path] },
            accepts: { accepts($0[keyPath: path]) })
    }

    /// A string that names one of `choices`.
    static func choice(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, String>,
                       _ choices: [String], help: String) -> TrainSetting {
        text(flag, key: key, path, placeholder: choices.joined(separator: "|"), expects: choices.joined(separator: "|"),
             help: help, accepts: { choices.contains($0) })
    }

    /// A string or nothing (nil: the setting is not used).
    static func optionalText(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, String?>,
                             placeholder: String, expects: String, help: String,
                             accepts: @escaping (String) -> Bool = { _ in true }) -> TrainSetting {
        TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .value(placeholder: placeholder), expects: expects,
            jsonType: "a string or null",
            parse: { config, texts in config[keyPath: path] = texts.last },
            show: { $0[keyPath: path] ?? "none" },
            accepts: { $0[keyPath: path].map(accepts) ?? true })
    }

    static func toggle(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, Bool>,
                       help: String) -> TrainSetting {
        TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .toggle, expects: "true or false",
            jsonType: "true or false",
            parse: { config, texts in config[keyPath: path] = texts.last == "true" },
            show: { $0[keyPath: path] ? "on" : "off" },
            accepts: { _ in true })
    }

    /// Comma-separated positive widths: `512,256`.
    static func widths(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, [Int]>,
                       help: String) -> TrainSetting {
        var setting: TrainSetting!
        setting = TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .value(placeholder: "w1,w2,..."),
            expects: "comma-separated positive widths such as 512,256", jsonType: "a list of whole numbers",
            parse: { config, texts in config[keyPath: path] = try parseWidths(texts.last ?? "", setting) },
            show: { $0[keyPath: path].map(String.init).joined(separator: ",") },
            accepts: { !$0[keyPath: path].isEmpty && $0[keyPath: path].allSatisfy { $0 >= 1 } })
        return setting
    }

    static func optionalWidths(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, [Int]?>,
                               help: String) -> TrainSetting {
        var setting: TrainSetting!
        setting = TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .value(placeholder: "w1,w2,..."),
            expects: "comma-separated positive widths such as 512,256", jsonType: "a list of whole numbers or null",
            parse: { config, texts in config[keyPath: path] = try parseWidths(texts.last ?? "", setting) },
            show: { $0[keyPath: path].map { $0.map(String.init).joined(separator: ",") } ?? "none" },
            accepts: { $0[keyPath: path].map { !$0.isEmpty && $0.allSatisfy { $0 >= 1 } } ?? true })
        return setting
    }

    /// Repeated `--flag N`: whole numbers, each at least 0.
    static func indices(_ flag: String, key: String? = nil, _ path: WritableKeyPath<TrainConfig, [Int]>,
                        help: String) -> TrainSetting {
        var setting: TrainSetting!
        setting = TrainSetting(
            flag: flag, key: key ?? camelCase(flag), help: help, form: .repeated(placeholder: "i"),
            expects: "sample indices >= 0", jsonType: "a list of whole numbers",
            parse: { config, texts in
                config[keyPath: path] = try texts.map { text in
                    guard let i = Int(text.trimmingSpaces) else { throw setting.refusal(found: text, source: nil) }
                    return i
                }
            },
            show: { "\($0[keyPath: path])" },
            accepts: { $0[keyPath: path].allSatisfy { $0 >= 0 } })
        return setting
    }

    /// How a config file's value must look for a setting of type `T`.
    static func jsonDescription<T>(_ type: T.Type) -> String {
        switch type {
        case is Int.Type: return "a whole number that fits 64 bits"
        case is UInt64.Type: return "a whole number from 0 to \(UInt64.max)"
        case is Float.Type: return "a number within 32-bit float range (about 1e-38 to 3e38 in size, or 0)"
        case is Double.Type: return "a number"
        default: return "a value of type \(type)"
        }
    }

    private static func parseWidths(_ text: String, _ setting: TrainSetting) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int(String($0).trimmingSpaces) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 > 0 }) else {
            throw setting.refusal(found: text, source: nil)
        }
        return values
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
