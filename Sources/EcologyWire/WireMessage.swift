import EcologyCore

/// Why a well-formed frame is still not an acceptable message.
public struct MessageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var kernelError: KernelError { KernelError(.protocolError, message) }
}

/// The payload of an `execute` message: what a fresh child must run.
/// Identity (`caller`) is set by the supervisor; the child never names itself.
public struct ExecuteMessage: Sendable, Equatable {
    public var kind: ChildKind
    public var artifactID: String
    public var code: String
    public var method: String
    public var args: [JSONValue]
    public var caller: String
    public var depth: Int
    /// Largest result (encoded JSON bytes) the child may return.
    public var maxOutputBytes: Int

    public init(kind: ChildKind, artifactID: String, code: String, method: String, args: [JSONValue],
                caller: String, depth: Int, maxOutputBytes: Int) {
        self.kind = kind; self.artifactID = artifactID; self.code = code; self.method = method
        self.args = args; self.caller = caller; self.depth = depth; self.maxOutputBytes = maxOutputBytes
    }

    public init(_ request: ExecutionRequest) {
        self.init(kind: request.kind, artifactID: request.artifactID, code: request.code, method: request.method,
                  args: request.args, caller: request.caller, depth: request.depth,
                  maxOutputBytes: request.maxOutputBytes)
    }
}

/// Every message of the supervisor ↔ child protocol (docs/PROTOCOL.md).
/// `id` 0 belongs to the execution itself; kernel calls use ids the child picks (≥ 1).
public enum WireMessage: Sendable, Equatable {
    /// supervisor → child: run this (id 0).
    case execute(ExecuteMessage)
    /// child → supervisor: a kernel call (`invoke`, `read`, ...) on behalf of the socket's identity.
    case call(id: Int64, action: String, params: JSONValue)
    /// supervisor → child: the answer to call `id`.
    case reply(id: Int64, response: Envelope)
    /// child → supervisor: the execution's final response (id 0).
    case result(id: Int64, response: Envelope)
    /// A message type this module does not define, kept whole for higher layers
    /// (long-lived agents add their own types). Executors treat it as a protocol error.
    case other(type: String, body: [String: JSONValue])

    public static let executeID: Int64 = 0

    public var type: String {
        switch self {
        case .execute: return "execute"
        case .call: return "call"
        case .reply: return "reply"
        case .result: return "result"
        case .other(let type, _): return type
        }
    }

    public var json: JSONValue {
        switch self {
        case .execute(let m):
            return .object([
                "type": "execute", "id": .int(Self.executeID), "kind": .string(m.kind.rawValue),
                "artifact_id": .string(m.artifactID), "code": .string(m.code), "method": .string(m.method),
                "args": .array(m.args), "caller": .string(m.caller), "depth": .int(Int64(m.depth)),
                "max_output_bytes": .int(Int64(m.maxOutputBytes)),
            ])
        case .call(let id, let action, let params):
            return .object(["type": "call", "id": .int(id), "action": .string(action), "params": params])
        case .reply(let id, let response):
            return .object(["type": "reply", "id": .int(id), "response": response.json])
        case .result(let id, let response):
            return .object(["type": "result", "id": .int(id), "response": response.json])
        case .other(let type, var body):
            body["type"] = .string(type)
            return .object(body)
        }
    }

    /// Interprets a decoded frame. Missing or mistyped fields are a `MessageError`.
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw MessageError("message is not an object") }
        guard let type = o["type"]?.stringValue else { throw MessageError("message has no string \"type\"") }
        func id() throws -> Int64 {
            guard let v = o["id"]?.intValue else { throw MessageError("\(type) message has no integer \"id\"") }
            return v
        }
        func string(_ key: String) throws -> String {
            guard let v = o[key]?.stringValue else { throw MessageError("\(type) message has no string \"\(key)\"") }
            return v
        }
        func envelope() throws -> Envelope {
            guard let r = o["response"], case .object = r else {
                throw MessageError("\(type) message has no object \"response\"")
            }
            guard r["ok"]?.boolValue != nil else { throw MessageError("\(type) response has no boolean \"ok\"") }
            let e = Envelope(json: r)
            if r["ok"]?.boolValue == false, ErrorCode(rawValue: r["error"]?["code"]?.stringValue ?? "") == nil {
                throw MessageError("\(type) response is an error without a known code")
            }
            return e
        }
        switch type {
        case "execute":
            guard let kind = ChildKind(rawValue: try string("kind")) else { throw MessageError("execute has an unknown kind") }
            guard let args = o["args"]?.arrayValue else { throw MessageError("execute has no array \"args\"") }
            guard let depth = o["depth"]?.intValue else { throw MessageError("execute has no integer \"depth\"") }
            let maxOut = o["max_output_bytes"]?.intValue ?? Int64(Frame.defaultMaxFrameBytes)
            self = .execute(ExecuteMessage(kind: kind, artifactID: try string("artifact_id"), code: try string("code"),
                                           method: try string("method"), args: args, caller: try string("caller"),
                                           depth: Int(depth), maxOutputBytes: Int(maxOut)))
        case "call":
            self = .call(id: try id(), action: try string("action"), params: o["params"] ?? .object([:]))
        case "reply":
            self = .reply(id: try id(), response: try envelope())
        case "result":
            self = .result(id: try id(), response: try envelope())
        default:
            var body = o
            body.removeValue(forKey: "type")
            self = .other(type: type, body: body)
        }
    }
}
