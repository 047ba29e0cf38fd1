import EcologyCore
import EcologyKernel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The routes (each documented in docs/OBSERVATORY.md, "HTTP API").
extension ObservatoryServer {
    func addRoutes(to router: Router<BasicRequestContext>, guardFor: @escaping @Sendable () -> RequestGuard) {
        let reader = self.reader
        let maxPage = WorldReader.maxPage

        router.get("/") { request, _ -> Response in
            // `/?token=…` (a non-loopback server): keep the token in a same-site cookie and drop it from the address bar.
            if let token = request.uri.queryParameters["token"], self.options.token?.matches(String(token)) == true {
                var headers = Self.securityHeaders
                headers[.location] = "/"
                headers[.setCookie] = "\(RequestGuard.cookieName)=\(token); HttpOnly; SameSite=Strict; Path=/"
                return Response(status: .seeOther, headers: headers)
            }
            if let refusal = self.refusal(request, .read, guardFor()) { return Self.error(refusal) }
            return Self.asset(DashboardAssets.html, type: "text/html; charset=utf-8")
        }
        router.get("/dashboard.js") { request, _ -> Response in
            if let refusal = self.refusal(request, .read, guardFor()) { return Self.error(refusal) }
            return Self.asset(DashboardAssets.script, type: "text/javascript; charset=utf-8")
        }
        router.get("/dashboard.css") { request, _ -> Response in
            if let refusal = self.refusal(request, .read, guardFor()) { return Self.error(refusal) }
            return Self.asset(DashboardAssets.style, type: "text/css; charset=utf-8")
        }
        router.get("/metrics") { request, _ -> Response in
            if let refusal = self.refusal(request, .read, guardFor()) { return Self.error(refusal) }
            do {
                let text = try await self.blocking { try reader.scrape() }
                var headers = Self.securityHeaders
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
            } catch { return Self.error(Self.apiError(error)) }
        }
        route(router, "/api/overview", guardFor, allowed: []) { _, _ in try reader.overview() }
        route(router, "/api/series", guardFor, allowed: ["window", "buckets"]) { q, _ in
            let window = try q.seconds("window", in: 10...(366 * 86400)) ?? 3600
            return try reader.series(window: window, buckets: try q.integer("buckets", in: 1...WorldReader.maxBuckets, default: 60), sampler: self.sampler)
        }
        route(router, "/api/kpis", guardFor, allowed: ["window"]) { q, _ in
            guard let source = reader.kpiSource else { throw APIError(status: 501, description: "the KPI module is not available in this build") }
            let report = try source.kpis(window: try q.seconds("window", in: 1...(366 * 86400)))
            return .object(["kpis": report.json, "keys": .array(report.keys.map(JSONValue.string))])
        }
        route(router, "/api/agents", guardFor, allowed: ["limit", "offset"]) { q, _ in
            let limit = try q.integer("limit", in: 1...maxPage, default: 500), offset = try q.integer("offset", in: 0...Int64(Int32.max), default: 0)
            let all = try reader.agents()
            let page = all.dropFirst(Int(clamping: offset)).prefix(Int(clamping: limit))
            return .object(["agents": .array(Array(page)), "total": .int(Int64(all.count)), "offset": .int(offset), "limit": .int(limit)])
        }
        route(router, "/api/agents/:id", guardFor, allowed: ["traces"]) { q, context in
            let id = try Self.pathID(context)
            return try reader.agent(id, traceLimit: Int(try q.integer("traces", in: 0...maxPage, default: 50)))
        }
        route(router, "/api/graph", guardFor, allowed: ["window", "limit"]) { q, _ in
            try reader.toolUseGraph(window: try q.seconds("window", in: 1...(366 * 86400)), limit: try q.integer("limit", in: 1...maxPage, default: 200))
        }
        route(router, "/api/market", guardFor, allowed: ["limit"]) { q, _ in try reader.market(limit: try q.integer("limit", in: 1...maxPage, default: 100)) }
        route(router, "/api/mint", guardFor, allowed: ["limit"]) { q, _ in try reader.mint(limit: try q.integer("limit", in: 1...maxPage, default: 50)) }
        route(router, "/api/debt", guardFor, allowed: ["limit"]) { q, _ in try reader.debt(limit: try q.integer("limit", in: 1...maxPage, default: 100)) }
        route(router, "/api/sandbox", guardFor, allowed: ["limit"]) { q, _ in try reader.sandbox(limit: try q.integer("limit", in: 1...maxPage, default: 50)) }
        route(router, "/api/event-types", guardFor, allowed: []) { _, _ in .object(["types": .array(try reader.eventTypes())]) }
        route(router, "/api/events", guardFor, allowed: ["after", "limit", "type", "principal"]) { q, _ in
            let limit = try q.integer("limit", in: 1...maxPage, default: 100)
            let type = try q.name("type"), principal = try q.name("principal")
            let after = try q.integer("after", in: -1...Int64.max, default: -1)
            // after=-1 (the default): the latest `limit` events; otherwise the page after that seq.
            let events = after < 0 ? try reader.latestEvents(limit: limit, type: type, principal: principal)
                                   : try reader.events(after: after, limit: limit, type: type, principal: principal)
            let last = events.last?["seq"]?.intValue ?? max(after, 0)
            return .object(["events": .array(events), "next_after": .int(last)])
        }
        router.get("/api/stream") { request, _ in try await self.eventStream(request, guardFor()) }
        for (verb, pause, unpark) in [("pause", Optional(true), false), ("resume", Optional(false), false), ("unpark", nil, true)] {
            control(router, "/api/agents/:id/\(verb)", guardFor) { _, context in
                let id = try Self.pathID(context)
                do { try reader.kernel.setAgentControl(id, pause: pause, unpark: unpark) } catch let e as KernelError {
                    throw e.code == .notFound ? APIError.notFound(e.message) : APIError.badRequest(e.message)
                }
                return .object(["agent": .string(id), "done": .string(verb == "pause" ? "paused" : verb == "resume" ? "resumed" : "unparked")])
            }
        }
        control(router, "/api/inject", guardFor) { body, _ in
            guard let topic = body["topic"]?.stringValue, (1...64).contains(topic.count) else { throw APIError.badRequest("topic must be a string of 1-64 characters") }
            let data = body["data"] ?? .object([:])
            guard data.objectValue != nil else { throw APIError.badRequest("data must be a JSON object") }
            let principal = body["principal"]?.stringValue ?? "operator"
            try QueryParameters.requireName(principal, field: "principal")
            let seq = try reader.kernel.recordEvent("custom", principal: principal, ["topic": .string(topic), "data": data, "injected": true])
            return .object(["seq": .int(seq)])
        }
    }

    /// A GET route answering JSON: guard, validate the query, read on the blocking pool.
    private func route(_ router: Router<BasicRequestContext>, _ path: RouterPath, _ guardFor: @escaping @Sendable () -> RequestGuard,
                       allowed: Set<String>, _ body: @escaping @Sendable (QueryParameters, BasicRequestContext) throws -> JSONValue) {
        router.get(path) { request, context -> Response in
            if let refusal = self.refusal(request, .read, guardFor()) { return Self.error(refusal) }
            do {
                let query = try QueryParameters(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, allowed: allowed)
                let value = try await self.blocking { try body(query, context) }
                return Self.json(value)
            } catch { return Self.error(Self.apiError(error)) }
        }
    }

    /// The largest control request body.
    static let maxControlBody = 64 * 1024

    /// A POST control route: token, Origin and Host checked; the body (if any) a JSON object.
    private func control(_ router: Router<BasicRequestContext>, _ path: RouterPath, _ guardFor: @escaping @Sendable () -> RequestGuard,
                         _ body: @escaping @Sendable (JSONValue, BasicRequestContext) throws -> JSONValue) {
        router.post(path) { request, context -> Response in
            if let refusal = self.refusal(request, .control, guardFor()) { return Self.error(refusal) }
            do {
                var request = request
                let bytes: ByteBuffer
                do { bytes = try await request.collectBody(upTo: Self.maxControlBody) } catch {
                    throw APIError(status: 413, description: "the request body exceeds \(Self.maxControlBody) bytes")
                }
                let text = String(buffer: bytes)
                let parsed: JSONValue
                if text.isEmpty { parsed = .object([:]) } else {
                    guard let value = try? JSONCodec.decode(text), value.objectValue != nil else { throw APIError.badRequest("the body must be a JSON object") }
                    parsed = value
                }
                let value = try await self.blocking { try body(parsed, context) }
                return Self.json(value)
            } catch { return Self.error(Self.apiError(error)) }
        }
    }

    func refusal(_ request: Request, _ access: RequestGuard.Access, _ requestGuard: RequestGuard) -> APIError? {
        requestGuard.check(access: access, host: request.head.authority, origin: request.headers[.origin],
                           authorization: request.headers[.authorization], cookie: request.headers[.cookie])
    }

    static func pathID(_ context: BasicRequestContext) throws -> String {
        guard let id = context.parameters.get("id") else { throw APIError.badRequest("missing agent id") }
        try QueryParameters.requireName(id, field: "agent id")
        return id
    }

    static func apiError(_ error: Error) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? KernelError { return APIError(status: e.code == .notFound ? 404 : 400, description: e.message) }
        return APIError(status: 500, description: "internal error: \(error)")
    }

    /// No caching (every answer is live), no MIME sniffing, no framing, no script or
    /// connection to anywhere but this server.
    static let securityHeaders: HTTPFields = {
        var headers: HTTPFields = [.cacheControl: "no-store"]
        if let name = HTTPField.Name("X-Content-Type-Options") { headers[name] = "nosniff" }
        if let name = HTTPField.Name("Content-Security-Policy") {
            headers[name] = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
        }
        return headers
    }()

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONCodec.encode(value))))
    }

    static func error(_ e: APIError) -> Response { json(e.json, status: HTTPResponse.Status(code: e.status)) }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
