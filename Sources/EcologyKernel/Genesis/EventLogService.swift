import EcologyCore
import GRDB

/// `genesis_event_log`: read the world's events and publish custom ones (pub/sub).
struct EventLogService: GenesisService {
    static let id = "genesis_event_log"
    let summary = "Read events (offset = last seq seen) with filters; publish custom events on a topic."
    let tools: [ToolSpec] = [
        ToolSpec("read", "Events after seq 'offset'; filter keys: type, principal, topic.",
                 [("filter", "object", "filter", false), ("limit", "integer", "max events (≤ 500)", false),
                  ("offset", "integer", "last seq already seen", false)]),
        ToolSpec("publish", "Publish a custom event on a topic.",
                 [("topic", "string", "topic (1-64 chars)", true), ("data", "object", "payload", false)]),
    ]

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        switch method {
        case "read":
            let offset = try args.optionalInt("offset") ?? 0
            let limit = Int(clamping: try args.optionalInt("limit") ?? 50)
            guard offset >= 0 else { throw KernelError.invalid("offset must be ≥ 0") }
            guard (1...500).contains(limit) else { throw KernelError.invalid("limit must be 1-500") }
            let f = Args(try args.object("filter"))
            let known: Set = ["type", "principal", "topic"]
            if let bad = f.values.keys.first(where: { !known.contains($0) }) {
                throw KernelError.invalid("unknown filter key '\(bad.prefix(40))'; keys: type, principal, topic")
            }
            return try k.readOnly { db in
                .array(try WorldEvent.fetch(db, afterSeq: offset, limit: limit, type: try f.optionalString("type"),
                                            principal: try f.optionalString("principal"),
                                            topic: try f.optionalString("topic"), cache: k.eventCache).map(\.json))
            }
        case "publish":
            let topic = try args.string("topic")
            guard (1...64).contains(topic.count) else { throw KernelError.invalid("topic must be 1-64 characters") }
            let data = JSONValue.object(try args.object("data"))
            guard JSONCodec.string(data).utf8.count <= 16_384 else { throw KernelError.invalid("data must be ≤ 16 KiB") }
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                let seq = try k.events.append(db, "custom", principal: ctx.caller, ["topic": .string(topic), "data": data])
                return .object(["seq": .int(seq)])
            }
        default: throw unknown(method)
        }
    }
}
