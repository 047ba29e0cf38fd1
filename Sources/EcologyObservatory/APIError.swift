import EcologyCore

/// A request the API refuses: an HTTP status and one sentence, sent as `{"error": "..."}`.
public struct APIError: Error, CustomStringConvertible, Equatable {
    public let status: Int
    public let description: String

    public static func badRequest(_ message: String) -> APIError { APIError(status: 400, description: message) }
    public static func notFound(_ message: String) -> APIError { APIError(status: 404, description: message) }
    public static func forbidden(_ message: String) -> APIError { APIError(status: 403, description: message) }
    public static func unauthorized(_ message: String) -> APIError { APIError(status: 401, description: message) }

    var json: JSONValue { .object(["error": .string(description)]) }
}

/// Query parameters of one request, validated: every route says which names it takes,
/// and an unknown name, a repeated one or a malformed value is a 400 naming it.
struct QueryParameters {
    private let values: [String: String]

    /// `pairs` as decoded from the URL; `allowed` the names this route takes.
    init(_ pairs: [(String, String)], allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in pairs {
            guard allowed.contains(name) else {
                throw APIError.badRequest("unknown query parameter \(String(name.prefix(40))) (this route takes: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard values[name] == nil else { throw APIError.badRequest("query parameter \(name) given twice") }
            values[name] = value
        }
        self.values = values
    }

    /// An integer in `range`, or `defaultValue` when absent.
    func integer(_ name: String, in range: ClosedRange<Int64>, default defaultValue: Int64) throws -> Int64 {
        guard let text = values[name] else { return defaultValue }
        guard text.count <= 19, let value = Int64(text), range.contains(value) else {
            throw APIError.badRequest("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A number of seconds in `range` (decimals allowed), or nil when absent.
    func seconds(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let text = values[name] else { return nil }
        guard text.count <= 24, let value = Double(text), value.isFinite, range.contains(value) else {
            throw APIError.badRequest("\(name) must be a number of seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A name (an event type, a principal id): 1–128 printable characters, or nil when absent.
    func name(_ name: String) throws -> String? {
        guard let text = values[name] else { return nil }
        try Self.requireName(text, field: name)
        return text
    }

    /// One of `choices`, or `defaultValue` when absent.
    func choice(_ name: String, _ choices: [String], default defaultValue: String) throws -> String {
        guard let text = values[name] else { return defaultValue }
        guard choices.contains(text) else { throw APIError.badRequest("\(name) must be one of \(choices.joined(separator: ", "))") }
        return text
    }

    static func requireName(_ text: String, field: String) throws {
        guard (1...128).contains(text.count), text.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value != 0x7F }) else {
            throw APIError.badRequest("\(field) must be 1 to 128 printable characters without spaces")
        }
    }
}
