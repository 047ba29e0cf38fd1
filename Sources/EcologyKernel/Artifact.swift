import EcologyCore
import GRDB

/// One row of the single artifact namespace: agents, tools, accounts, data,
/// contracts and the genesis services are all artifacts.
public struct Artifact: Sendable, Equatable {
    public var id: String
    /// agent / tool / account / data / contract / genesis / handbook / debt / memory
    public var kind: String
    public var content: String
    public var code: String?
    /// The interface and metadata are kept as their stored JSON text and decoded on use:
    /// most loads (permission checks, transfers) never look at them.
    public var interface: JSONValue? {
        get { interfaceText.flatMap { try? JSONCodec.decode($0) } }
        set { interfaceText = newValue.map(JSONCodec.string) }
    }
    private var interfaceText: String?
    public var accessContractID: String
    public var hasStanding: Bool
    public var canExecute: Bool
    public var createdBy: String
    public var ownerID: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var deletedAt: Int64?
    public var sizeBytes: Int64
    public var version: Int64
    /// Scrip the invoker pays the owner for each successful invoke.
    public var price: Int64
    public var metadata: JSONValue {
        get { metadataText.flatMap { try? JSONCodec.decode($0) } ?? .object([:]) }
        set { metadataText = newValue == .object([:]) ? nil : JSONCodec.string(newValue) }
    }
    private var metadataText: String?

    public var isDeleted: Bool { deletedAt != nil }

    static let columns = "id, kind, content, code, interface, access_contract_id, has_standing, can_execute, created_by, owner_id, created_at, updated_at, deleted_at, size_bytes, version, price, metadata"

    init(row: Row) {
        id = row[0]; kind = row[1]; content = row[2]; code = row[3]
        interfaceText = row[4]
        accessContractID = row[5]; hasStanding = row[6]; canExecute = row[7]
        createdBy = row[8]; ownerID = row[9]; createdAt = row[10]; updatedAt = row[11]
        deletedAt = row[12]; sizeBytes = row[13]; version = row[14]; price = row[15]
        let meta: String = row[16]
        metadataText = meta == "{}" ? nil : meta
    }

    init(id: String, kind: String, content: String, code: String?, interface: JSONValue?, contract: String,
         standing: Bool, executable: Bool, createdBy: String, owner: String, now: Int64, price: Int64 = 0,
         metadata: JSONValue = .object([:])) {
        self.id = id; self.kind = kind; self.content = content; self.code = code
        self.interfaceText = interface.map(JSONCodec.string)
        self.accessContractID = contract; self.hasStanding = standing; self.canExecute = executable
        self.createdBy = createdBy; self.ownerID = owner; self.createdAt = now; self.updatedAt = now
        self.deletedAt = nil; self.version = 1; self.price = price
        self.metadataText = metadata == .object([:]) ? nil : JSONCodec.string(metadata)
        self.sizeBytes = 0
        self.sizeBytes = computedSize
    }

    /// Bytes this artifact occupies on its owner's disk quota.
    var computedSize: Int64 {
        Int64(content.utf8.count + (code?.utf8.count ?? 0)
              + (interfaceText?.utf8.count ?? 0) + (metadataText?.utf8.count ?? 0))
    }

    static func load(_ db: Database, _ id: String) throws -> Artifact? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM artifacts WHERE id = ?"),
                         arguments: [id]).map(Artifact.init(row:))
    }

    func insert(_ db: Database) throws {
        try requireStorableText()
        try db.cachedStatement(sql: """
            INSERT INTO artifacts (\(Self.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """).execute(arguments: argumentsInOrder)
    }

    func update(_ db: Database) throws {
        try requireStorableText()
        try db.cachedStatement(sql: """
            UPDATE artifacts SET kind=?, content=?, code=?, interface=?, access_contract_id=?, has_standing=?,
            can_execute=?, created_by=?, owner_id=?, created_at=?, updated_at=?, deleted_at=?, size_bytes=?,
            version=?, price=?, metadata=? WHERE id=?
            """).execute(arguments: StatementArguments(Array(fieldValues.dropFirst()) + [id]))
    }

    /// Every artifact row passes here on its way into SQLite, whichever action wrote it
    /// (write, edit, genesis_store.create, the CLI, bootstrap): the raw text columns must
    /// come back whole (`StoredText`). Interface and metadata are JSON text, NUL escaped.
    private func requireStorableText() throws {
        try StoredText.require(id, field: "artifact_id")
        try StoredText.require(kind, field: "kind")
        try StoredText.require(content, field: "content of \(id)")
        if let code { try StoredText.require(code, field: "code of \(id)") }
        try StoredText.require(accessContractID, field: "contract")
        try StoredText.require(createdBy, field: "created_by")
        try StoredText.require(ownerID, field: "owner_id")
    }

    private var argumentsInOrder: StatementArguments { StatementArguments(fieldValues) }

    private var fieldValues: [(any DatabaseValueConvertible)?] {
        [
            id, kind, content, code, interfaceText, accessContractID, hasStanding, canExecute,
            createdBy, ownerID, createdAt, updatedAt, deletedAt, sizeBytes, version, price, metadataText ?? "{}",
        ]
    }

    /// The artifact as returned by `read` and `genesis_store.get`.
    public var json: JSONValue {
        var o = metadataJSON.objectValue ?? [:]
        o["content"] = .string(content)
        o["code"] = code.map(JSONValue.string) ?? .null
        return .object(o)
    }

    /// Everything but content and code.
    public var metadataJSON: JSONValue {
        .object([
            "id": .string(id), "kind": .string(kind), "interface": interface ?? .null,
            "access_contract_id": .string(accessContractID), "has_standing": .bool(hasStanding),
            "can_execute": .bool(canExecute), "created_by": .string(createdBy), "owner_id": .string(ownerID),
            "created_at": .number(seconds(createdAt)), "updated_at": .number(seconds(updatedAt)),
            "deleted_at": deletedAt.map { .number(seconds($0)) } ?? .null,
            "size_bytes": .int(sizeBytes), "version": .int(version), "price": .int(price), "metadata": metadata,
        ])
    }
}

func seconds(_ micros: Int64) -> Double { Double(micros) / 1_000_000 }
