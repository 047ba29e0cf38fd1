/// The one rule for text the world stores as SQLite TEXT: it must come back byte for
/// byte, or be refused with INVALID_ARGS.
///
/// A Swift `String` is always valid Unicode (the JSON parser already refuses invalid
/// UTF-8 and lone surrogates such as `"\ud800"`), so the only text that cannot be kept
/// whole is text containing U+0000: SQLite's text binding through C strings (GRDB's
/// `String` binding and its column reads both go through NUL-terminated C strings) ends
/// the value at the first NUL, and the rest would be silently lost. Text that reaches
/// the store as JSON (interfaces, metadata, event data, traces' data) is escaped
/// (`\u0000`) and round-trips; raw text columns (content, code, kinds, IDs, trace kinds)
/// call `require` at the point where they are written.
public enum StoredText {
    /// Throws INVALID_ARGS when `text` cannot be stored and read back unchanged.
    public static func require(_ text: String, field: @autoclosure () -> String) throws {
        guard let offset = nulOffset(text) else { return }
        throw KernelError(.invalidArgs,
                          "\(field()) contains a NUL character (U+0000) at byte \(offset); the store cannot keep it whole, so it is refused",
                          details: ["field": .string(field()), "byte": .int(Int64(offset))])
    }

    /// Byte offset of the first U+0000 in `text`'s UTF-8, if any.
    public static func nulOffset(_ text: String) -> Int? {
        // UTF-8 never uses the byte 0x00 except for U+0000 itself.
        text.utf8.firstIndex(of: 0).map { text.utf8.distance(from: text.utf8.startIndex, to: $0) }
    }

    /// Throws INVALID_ARGS for the first string anywhere in `value` (object keys included)
    /// that `require` would refuse; `path` names where it was found.
    public static func requireAll(_ value: JSONValue, path: String) throws {
        switch value {
        case .string(let s): try require(s, field: path)
        case .array(let a): for (i, e) in a.enumerated() { try requireAll(e, path: "\(path)[\(i)]") }
        case .object(let o):
            for (k, v) in o {
                try require(k, field: "a key of \(path)")
                try requireAll(v, path: "\(path).\(k)")
            }
        default: return
        }
    }
}
