import EcologyCore
import GRDB

/// `genesis_store`: discovery (list, search, get) and `create`, which is how agents spawn agents.
struct StoreService: GenesisService {
    static let id = "genesis_store"
    let summary = "Find artifacts (list, full-text search, metadata) and create new ones, including new agents."
    let tools: [ToolSpec] = [
        ToolSpec("list", "List artifacts; filter keys: kind, owner, executable, include_deleted, limit, offset.",
                 [("filter", "object", "filter", false)]),
        ToolSpec("get", "An artifact with content (needs read permission).", [("artifact_id", "string", "artifact", true)]),
        ToolSpec("get_metadata", "An artifact without content or code.", [("artifact_id", "string", "artifact", true)]),
        ToolSpec("search", "Full-text search over ids, content, code and interfaces.",
                 [("query", "string", "search words", true), ("limit", "integer", "max results (≤ 100)", false)]),
        ToolSpec("list_by_owner", "Artifacts owned by a principal.", [("owner", "string", "principal", true)]),
        ToolSpec("list_agents", "Live agents (standing and executable)."),
        ToolSpec("list_principals", "Live principals (artifacts with standing)."),
        ToolSpec("count", "Count artifacts matching a filter (as in list).", [("filter", "object", "filter", false)]),
        ToolSpec("create", "Create an artifact: config {id, content, code, interface, executable, standing, contract, price, metadata}. A new principal starts with nothing; fund it.",
                 [("config", "object", "artifact config", true)]),
    ]

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        switch method {
        case "list":
            let f = try Filter(try args.object("filter"))
            return try k.readOnly { db in .array(try f.fetch(db).map(\.metadataJSON)) }
        case "count":
            let f = try Filter(try args.object("filter"))
            return try k.readOnly { db in .int(try f.count(db)) }
        case "get":
            return try k.read(try args.id("artifact_id"), ctx)
        case "get_metadata":
            let id = try args.id("artifact_id")
            return try k.readOnly { db in
                guard let a = try Artifact.load(db, id) else { throw KernelError.notFound("artifact \(id)") }
                return a.metadataJSON
            }
        case "search":
            let limit = Int(clamping: try args.optionalInt("limit") ?? 20)
            return try k.readOnly { db in .array(try k.search(db, query: try args.string("query"), limit: limit, requester: ctx.caller)) }
        case "list_by_owner":
            let f = try Filter(["owner": .string(try args.id("owner")), "limit": 1000])
            return try k.readOnly { db in .array(try f.fetch(db).map(\.metadataJSON)) }
        case "list_agents":
            return try k.readOnly { db in
                .array(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM artifacts WHERE has_standing = 1 AND can_execute = 1 AND deleted_at IS NULL AND kind != 'genesis' ORDER BY id")).map(JSONValue.string))
            }
        case "list_principals":
            return try k.readOnly { db in
                .array(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM artifacts WHERE has_standing = 1 AND deleted_at IS NULL ORDER BY id")).map(JSONValue.string))
            }
        case "create":
            let config = try args.object("config")
            let inner = Args(config, maxAmount: args.maxAmount)
            let id = try inner.id("id")
            let spec = try ArtifactSpec(args: inner, limits: k.config.limits)
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                if try Artifact.load(db, id) != nil { throw KernelError.invalid("artifact \(id) already exists") }
                return try k.create(db, id: id, spec: spec, by: ctx).metadataJSON
            }
        default: throw unknown(method)
        }
    }

    struct Filter {
        var kind: String?, owner: String?, executable: Bool?, includeDeleted: Bool, limit: Int, offset: Int

        init(_ o: [String: JSONValue]) throws {
            let a = Args(o)
            let known: Set = ["kind", "owner", "executable", "include_deleted", "limit", "offset"]
            if let bad = o.keys.first(where: { !known.contains($0) }) {
                throw KernelError.invalid("unknown filter key '\(bad.prefix(40))'; keys: \(known.sorted().joined(separator: ", "))")
            }
            kind = try a.optionalString("kind"); owner = try a.optionalID("owner")
            executable = a.has("executable") ? try a.bool("executable", default: false) : nil
            includeDeleted = try a.bool("include_deleted", default: false)
            limit = Int(clamping: try a.optionalInt("limit") ?? 100); offset = Int(clamping: try a.optionalInt("offset") ?? 0)
            if limit < 1 || limit > 1000 { throw KernelError.invalid("limit must be 1-1000") }
            if offset < 0 { throw KernelError.invalid("offset must be ≥ 0") }
        }

        func whereClause() -> (String, [any DatabaseValueConvertible]) {
            var sql = "1=1"
            var args: [any DatabaseValueConvertible] = []
            if !includeDeleted { sql += " AND deleted_at IS NULL" }
            if let kind { sql += " AND kind = ?"; args.append(kind) }
            if let owner { sql += " AND owner_id = ?"; args.append(owner) }
            if let executable { sql += " AND can_execute = ?"; args.append(executable) }
            return (sql, args)
        }

        func fetch(_ db: Database) throws -> [Artifact] {
            let (w, a) = whereClause()
            return try Row.fetchAll(db, sql: "SELECT \(Artifact.columns) FROM artifacts WHERE \(w) ORDER BY id LIMIT ? OFFSET ?",
                                    arguments: StatementArguments(a + [limit, offset])).map(Artifact.init(row:))
        }

        func count(_ db: Database) throws -> Int64 {
            let (w, a) = whereClause()
            return try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM artifacts WHERE \(w)", arguments: StatementArguments(a)) ?? 0
        }
    }
}

extension Kernel {
    /// Full-text search (FTS5, bm25 ranking) over live artifacts. The query is taken as
    /// plain words (each quoted), so FTS syntax in it cannot fail or inject. Results carry
    /// a content snippet only where the requester may read the artifact under a genesis
    /// contract; private text never leaks through search (custom contracts: no snippet,
    /// since evaluating each would cost a sandboxed run per hit).
    public func search(_ db: Database, query: String, limit: Int, requester: String) throws -> [JSONValue] {
        guard (1...100).contains(limit) else { throw KernelError.invalid("limit must be 1-100") }
        let words = query.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
            .prefix(16).map { "\"" + $0.replacingOccurrences(of: "\"", with: "") + "\"" }
        guard !words.isEmpty else { throw KernelError.invalid("query has no searchable words") }
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT a.id, a.kind, a.owner_id, a.price, snippet(artifacts_fts, 1, '[', ']', '…', 12), a.access_contract_id
            FROM artifacts_fts JOIN artifacts a ON a.rowid = artifacts_fts.rowid
            WHERE artifacts_fts MATCH ? AND a.deleted_at IS NULL ORDER BY artifacts_fts.rank LIMIT ?
            """), arguments: [words.joined(separator: " "), limit])
        return rows.map { r in
            let id: String = r[0], owner: String = r[2]
            let readable = GenesisContract(rawValue: r[5])?.decide(.read, artifactID: id, owner: owner, requester: requester).0 ?? false
            return .object(["id": .string(id), "kind": .string(r[1]), "owner_id": .string(owner), "price": .int(r[3]),
                            "snippet": readable ? .string(r[4] ?? "") : .null])
        }
    }
}
