/// The wire error codes of SPEC section 5. Every failure in Ecology maps to exactly one.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case notFound = "NOT_FOUND"
    case deleted = "DELETED"
    case accessDenied = "ACCESS_DENIED"
    case invalidArgs = "INVALID_ARGS"
    case insufficientFunds = "INSUFFICIENT_FUNDS"
    case insufficientCompute = "INSUFFICIENT_COMPUTE"
    case budgetExhausted = "BUDGET_EXHAUSTED"
    case rateLimited = "RATE_LIMITED"
    case quotaExceeded = "QUOTA_EXCEEDED"
    case executionError = "EXECUTION_ERROR"
    case timeout = "TIMEOUT"
    case outOfMemory = "OUT_OF_MEMORY"
    case sandboxViolation = "SANDBOX_VIOLATION"
    case protocolError = "PROTOCOL_ERROR"
    case `internal` = "INTERNAL"
}

/// A typed kernel failure. It maps one-to-one onto the error envelope
/// `{"ok":false,"error":{"code","message","details","retry_after"}}`.
public struct KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var details: JSONValue?
    /// Seconds after which a retry may succeed (RATE_LIMITED, INSUFFICIENT_COMPUTE).
    public var retryAfter: Double?

    public init(_ code: ErrorCode, _ message: String, details: JSONValue? = nil, retryAfter: Double? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public var json: JSONValue {
        var error: [String: JSONValue] = [
            "code": .string(code.rawValue),
            "message": .string(message),
            "details": details ?? .null,
            "retry_after": retryAfter.map(JSONValue.number) ?? .null,
        ]
        if details == nil { error["details"] = .null }
        return .object(error)
    }

    public static func notFound(_ what: String) -> KernelError { KernelError(.notFound, "\(what) not found") }
    public static func invalid(_ message: String) -> KernelError { KernelError(.invalidArgs, message) }
    public static func denied(_ message: String) -> KernelError { KernelError(.accessDenied, message) }
}

/// The response envelope of every kernel call (SPEC section 5).
public enum Envelope: Sendable, Equatable {
    case ok(JSONValue)
    case failure(KernelError)

    public init(_ result: Result<JSONValue, KernelError>) {
        switch result {
        case .success(let v): self = .ok(v)
        case .failure(let e): self = .failure(e)
        }
    }

    public var json: JSONValue {
        switch self {
        case .ok(let v): return .object(["ok": .bool(true), "result": v])
        case .failure(let e): return .object(["ok": .bool(false), "error": e.json])
        }
    }

    public var isOK: Bool { if case .ok = self { return true } else { return false } }
    public var error: KernelError? { if case .failure(let e) = self { return e } else { return nil } }
    public var value: JSONValue? { if case .ok(let v) = self { return v } else { return nil } }

    /// Parses an envelope received over the wire; anything malformed is a PROTOCOL_ERROR.
    public init(json: JSONValue) {
        guard case .object(let o) = json, case .bool(let ok)? = o["ok"] else {
            self = .failure(KernelError(.protocolError, "response is not an envelope")); return
        }
        if ok { self = .ok(o["result"] ?? .null); return }
        guard case .object(let e)? = o["error"], case .string(let c)? = e["code"],
              let code = ErrorCode(rawValue: c) else {
            self = .failure(KernelError(.protocolError, "error envelope without a known code")); return
        }
        let message = e["message"]?.stringValue ?? ""
        let details: JSONValue? = e["details"].flatMap { $0 == .null ? JSONValue?.none : $0 }
        self = .failure(KernelError(code, message, details: details, retryAfter: e["retry_after"]?.doubleValue))
    }
}
