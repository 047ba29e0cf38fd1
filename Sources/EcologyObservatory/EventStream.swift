import EcologyCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/stream`: the live event log as server-sent events.
///
/// Each event is one SSE message: `id:` its seq (a reconnecting `EventSource` sends it back
/// as `Last-Event-ID` and resumes after it), `event: world`, `data:` the event's JSON on one
/// line. Filters `type` and `principal` (exact match); `after` starts after a seq (default:
/// now, i.e. only new events). The stream polls the log every 250 ms on the blocking pool,
/// sends at most 200 events per poll, and a `: keep-alive` comment every 15 s so proxies and
/// browsers keep the connection. At most `Options.maxStreams` streams are open at once (503).
extension ObservatoryServer {
    static let streamPollSeconds = 0.25
    static let streamBatch: Int64 = 200
    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")

    func eventStream(_ request: Request, _ requestGuard: RequestGuard) async throws -> Response {
        if let refusal = refusal(request, .read, requestGuard) { return Self.error(refusal) }
        let type: String?, principal: String?, start: Int64
        do {
            let q = try QueryParameters(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, allowed: ["after", "type", "principal"])
            type = try q.name("type"); principal = try q.name("principal")
            var after = try q.integer("after", in: -1...Int64.max, default: -1)
            if let name = Self.lastEventIDHeader, let last = request.headers[name] {
                guard let seq = Int64(last), seq >= 0 else { throw APIError.badRequest("Last-Event-ID must be an event seq") }
                after = seq
            }
            let reader = self.reader
            if after >= 0 { start = after } else { start = try await blocking { try reader.kernel.lastEventSeq() } }
        } catch { return Self.error(Self.apiError(error)) }
        guard streams.acquire(max: options.maxStreams) else {
            return Self.error(APIError(status: 503, description: "too many open event streams (at most \(options.maxStreams))"))
        }
        var headers = Self.securityHeaders
        headers[.contentType] = "text/event-stream"
        let reader = self.reader, stopFlag = self.stopFlag, streams = self.streams
        let body = ResponseBody { writer in
            defer { streams.release() }
            var cursor = start
            var quiet = 0.0
            try await writer.write(ByteBuffer(string: "retry: 2000\n: stream of events after seq \(start)\n\n"))
            while !stopFlag.isSet && !Task.isCancelled {
                // The filter skips events without sending them: the cursor still moves past them.
                let from = cursor
                let (events, scanned) = try await self.blocking { () -> ([JSONValue], Int64) in
                    let page = try reader.events(after: from, limit: Self.streamBatch, type: nil, principal: nil)
                    let upTo = page.last?["seq"]?.intValue ?? from
                    let kept = page.filter { e in
                        (type == nil || e["type"]?.stringValue == type) && (principal == nil || e["principal"]?.stringValue == principal)
                    }
                    return (kept, upTo)
                }
                cursor = scanned
                if !events.isEmpty {
                    try await writer.write(ByteBuffer(string: events.map(Self.sseMessage).joined()))
                    quiet = 0
                } else {
                    quiet += Self.streamPollSeconds
                    if quiet >= 15 { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")); quiet = 0 }
                }
                try await Task.sleep(nanoseconds: UInt64(Self.streamPollSeconds * 1_000_000_000))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// One SSE message. JSON from `JSONCodec` has no raw newline (they are escaped in
    /// strings), so `data:` is one line.
    static func sseMessage(_ event: JSONValue) -> String {
        "id: \(event["seq"]?.intValue ?? 0)\nevent: world\ndata: \(JSONCodec.string(event))\n\n"
    }
}
