import Yams

/// Strict readings of YAML scalars.
///
/// Ecology reads scalars itself instead of trusting YAML's implicit typing, so that
/// `slots: 1.0`, `slots: "1"` and `slots: yes` are errors rather than guesses.
enum ConfigScalar {
    /// `~`, `null`, or nothing at all, written plainly.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A plain decimal integer: optional sign, digits only.
    static func integer<Value: FixedWidthInteger>(_ node: Node) -> Value? {
        guard let text = plain(node) else { return nil }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Value(text.hasPrefix("+") ? String(digits) : text)
    }

    /// A plain finite decimal number (`5`, `0.5`, `1e-3`); not `.inf`, `.nan` or hex.
    static func number(_ node: Node) -> Double? {
        guard let text = plain(node),
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || "+-.eE".utf8.contains($0) }),
              text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }),
              let value = Double(text), value.isFinite
        else { return nil }
        return value
    }

    /// Any non-null scalar, quoted or not.
    static func text(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, !isNull(node) else { return nil }
        return scalar.string
    }

    /// How a rejected value is shown back to the user: numbers and words as written,
    /// strings in quotes, collections by their shape.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(node) { return "null" }
            if scalar.style == .plain, number(node) != nil || ["true", "false"].contains(scalar.string) {
                return scalar.string
            }
            return quoted(scalar.string.count > 60 ? String(scalar.string.prefix(60)) + "…" : scalar.string)
        }
    }

    /// A double-quoted YAML string (JSON escaping, which YAML's double-quoted style reads).
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func plain(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return nil }
        return scalar.string
    }
}
