import EcologyCore
import GRDB

/// What the mint knows about a winning artifact when it scores it: how useful it has been
/// to others since it last earned an award, counted so that self-dealing earns nothing.
public struct ScoringInput: Sendable {
    public var artifact: Artifact
    /// Successful invokes of the artifact by principals other than its owner (paid or not, ever).
    public var invokesByOthers: Int64
    /// Distinct unaffiliated beneficiaries (see `Kernel.scoringInput`) who paid for a successful
    /// invoke since the artifact's last award.
    public var paidUsersSinceAward: Int64 = 0
    /// Successful paid invokes by unaffiliated beneficiaries since the last award.
    public var paidUsesSinceAward: Int64 = 0
    /// Distinct unaffiliated owners whose priced tools the artifact's own code invoked and paid
    /// for (composition through `invoke()`, paid through its standing) since the last award.
    public var composedOwnersSinceAward: Int64 = 0

    public init(artifact: Artifact, invokesByOthers: Int64, paidUsersSinceAward: Int64 = 0,
                paidUsesSinceAward: Int64 = 0, composedOwnersSinceAward: Int64 = 0) {
        self.artifact = artifact
        self.invokesByOthers = invokesByOthers
        self.paidUsersSinceAward = paidUsersSinceAward
        self.paidUsesSinceAward = paidUsesSinceAward
        self.composedOwnersSinceAward = composedOwnersSinceAward
    }
}

/// Scores a winning artifact 0–100. The LLM scorer (through the supervisor's gateway)
/// and the built-in scorer both conform.
public protocol MintScorer: Sendable {
    func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError>
}

/// The offline, deterministic scorer: it rewards usefulness to others, not self-made
/// polish. An artifact nobody else paid for since its last award scores 0, whatever its
/// interface or documentation (so neither a stream of self-invokes nor the same old uses
/// earn again); with fresh paid use, quality (≤ 30), distinct paying users (≤ 40), volume of
/// paid use (≤ 15) and composition of other owners' tools (≤ 15) add up. Same input, same score.
public struct BuiltinMintScorer: MintScorer {
    public init() {}

    public func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError> {
        guard input.paidUsersSinceAward > 0 else {
            return .success((0, "no paid use by others since its last award"))
        }
        let a = input.artifact
        var score = 0
        var reasons: [String] = []
        let tools = a.interface?["tools"]?.arrayValue ?? []
        if !tools.isEmpty {
            score += 10; reasons.append("has an interface")
            let described = tools.filter { ($0["description"]?.stringValue?.count ?? 0) >= 10 && $0["inputSchema"] != nil }
            if described.count == tools.count { score += 5; reasons.append("documented tools") }
        }
        if let code = a.code, !code.isEmpty { score += 5; reasons.append("has code") }
        let words = a.content.split(whereSeparator: \.isWhitespace).count
        let docPoints = min(10, words / 6)
        if docPoints > 0 { score += docPoints; reasons.append("\(words) words of content") }
        score += Int(min(40, input.paidUsersSinceAward * 10))
        reasons.append("paid for by \(input.paidUsersSinceAward) other principal(s)")
        score += Int(min(15, input.paidUsesSinceAward))
        reasons.append("\(input.paidUsesSinceAward) paid use(s)")
        if input.composedOwnersSinceAward > 0 {
            score += Int(min(15, input.composedOwnersSinceAward * 5))
            reasons.append("composes tools of \(input.composedOwnersSinceAward) other owner(s)")
        }
        return .success((min(100, score), reasons.joined(separator: ", ")))
    }
}

extension Kernel {
    /// The mint's view of an artifact: its use by others, counted since its last award.
    /// A use counts for its **beneficiary** (`beneficiary(_:of:)`): the payer, or the principal
    /// that owns or made it (a spawned child, a tool with standing), so one owner's many
    /// principals are one user. Uses whose beneficiary is the artifact's owner, or the
    /// owner's own owner (a parent paying its child), are self-dealing and never count.
    func scoringInput(_ db: Database, for a: Artifact) throws -> ScoringInput {
        let anyUse = try Int64.fetchOne(db, sql: """
            SELECT COUNT(*) FROM events WHERE type='invoke' AND json_extract(data,'$.artifact_id') = ?
            AND json_extract(data,'$.payer') != ? AND json_extract(data,'$.error') IS NULL
            """, arguments: [a.id, a.ownerID]) ?? 0
        let since = try Int64.fetchOne(db, sql: """
            SELECT MAX(r.resolved_at) FROM mint_bids b JOIN mint_rounds r ON r.round = b.round
            WHERE b.artifact_id = ? AND b.status = 'won' AND b.minted > 0
            """, arguments: [a.id]) ?? Int64.min
        let owner = try payee(db, of: a)
        let affiliated: Set<String> = [owner, try beneficiary(db, of: owner)]
        // Paid uses of the artifact, grouped by payer.
        var users: Set<String> = []
        var uses: Int64 = 0
        for row in try Row.fetchAll(db, sql: """
            SELECT json_extract(data,'$.payer'), COUNT(*) FROM events WHERE type='invoke' AND time > ?
            AND json_extract(data,'$.artifact_id') = ? AND json_extract(data,'$.error') IS NULL
            AND json_extract(data,'$.price_paid') > 0 GROUP BY 1 ORDER BY 1
            """, arguments: [since, a.id]) {
            guard let payer: String = row[0] else { continue }
            let who = try beneficiary(db, of: payer)
            if affiliated.contains(who) { continue }
            users.insert(who)
            uses += row[1] as Int64
        }
        // Priced tools of other owners that this artifact's code invoked and paid for.
        var composed: Set<String> = []
        for row in try Row.fetchAll(db, sql: """
            SELECT DISTINCT json_extract(data,'$.owner') FROM events WHERE type='invoke' AND time > ?
            AND json_extract(data,'$.caller') = ? AND json_extract(data,'$.payer') = ?
            AND json_extract(data,'$.error') IS NULL AND json_extract(data,'$.price_paid') > 0 ORDER BY 1
            """, arguments: [since, a.id, a.id]) {
            guard let toolOwner: String = row[0] else { continue }
            let who = try beneficiary(db, of: toolOwner)
            if !affiliated.contains(who) { composed.insert(who) }
        }
        return ScoringInput(artifact: a, invokesByOthers: anyUse, paidUsersSinceAward: Int64(users.count),
                            paidUsesSinceAward: uses, composedOwnersSinceAward: Int64(composed.count))
    }

    /// Who benefits from what a principal does: the root of its lineage. From the principal,
    /// follow its owner when another principal owns it (a spawned child, a tool with standing),
    /// else its creator when another principal made it (a child given its own artifact keeps
    /// its parent), up to a principal that is its own origin. Walking the whole chain, not one
    /// step, is what makes a wash trader's shill of a shill (a grandchild) count as self-dealing
    /// (docs/THREAT_MODEL.md, red team R2). The walk is bounded and stops at a cycle.
    func beneficiary(_ db: Database, of principal: String) throws -> String {
        var current = principal
        var seen: Set<String> = [principal]
        for _ in 0..<Self.maxLineageDepth {
            guard let a = try Artifact.load(db, current),
                  let next = [a.ownerID, a.createdBy].first(where: { $0 != current && !GenesisAccounts.isGenesis($0) }),
                  seen.insert(next).inserted else { return current }
            current = next
        }
        return current
    }

    /// Deeper lineages than this are cut (each spawn costs scrip, so real ones are far shallower).
    static let maxLineageDepth = 64
}
