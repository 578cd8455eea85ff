/// Foundation's JSONSerialization keeps one of two equal keys and says nothing, so a settings
/// file that gives `"lr"` twice silently means one of them. The strict parser finds them.
public enum DuplicateKeys {
    /// The first key given twice in one object of the JSON text `bytes`, or nil (also when the
    /// text is not strict JSON for another reason: its reader reports that).
    public static func first(in bytes: [UInt8]) -> String? {
        do {
            _ = try bytes.withUnsafeBufferPointer { buffer -> JSONValue? in
                guard firstInvalidUTF8Offset(buffer) == nil else { return nil }
                return try StrictJSONParser.parse(buffer)
            }
        } catch let error as JSONSyntaxError where error.message.hasPrefix("duplicate key ") {
            // The parser quotes the key as 'key'; settings messages quote keys as JSON does.
            return "\"" + String(error.message.dropFirst("duplicate key ".count).dropFirst().dropLast()) + "\""
        } catch {}
        return nil
    }
}
