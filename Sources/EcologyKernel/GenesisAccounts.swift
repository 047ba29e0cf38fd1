import EcologyCore

/// The one table of what each genesis account may hold, and through which service.
///
/// The world's own accounts (`genesis_mint`, `genesis_escrow`, and the system identity
/// `genesis` that owns the services and handbook) are principals or owners like any
/// other as far as the database is concerned, so any generic path — a transfer, a
/// quota gift, a debt naming one of them, an ownership change — could put holdings
/// in them that no service accounts for, and then the invariants (the mint's scrip =
/// its held bids, the escrow's = 0) break or, worse, scrip is stranded where nobody
/// can spend it. So every shared mutation helper (`Kernel.moveScrip`,
/// `Kernel.moveOwnership`, `Kernel.adjustDisk`, the budget and quota transfers, the
/// debt parties, the mint's bidder and payee) asks this table before it touches a
/// genesis account, and `Kernel.checkInvariants` checks each account against it.
/// A service names the path it acts through; any other path is refused with
/// `INVALID_ARGS` ("a genesis account cannot be a party to this").
enum GenesisAccounts {
    /// What a genesis account may hold.
    enum Holding: String {
        case scrip, llmBudget = "llm_budget", compute, diskQuota = "disk quota", artifacts, debts, bids
        /// Bytes charged to it (`artifacts.charged_to`): never, for any genesis account.
        case storage
    }

    /// The kernel paths through which a genesis account's holdings may change.
    enum Path: String {
        /// `genesis_mint.bid` moves the amount bidder → mint; a withdrawal, a lost bid or a
        /// winner's change moves it back.
        case mintBid = "genesis_mint bid"
        /// The mint pays out the winners' payments as UBI at resolution.
        case mintPayout = "genesis_mint resolution"
        /// `genesis_escrow.deposit` moves an artifact to the escrow; purchase and cancel move it out.
        case escrowListing = "genesis_escrow listing"
        /// `genesis_debt.issue`: the system makes the debt artifact and hands it to the creditor.
        case debtIssue = "genesis_debt issue"
    }

    struct Role {
        let summary: String
        /// Per holding, the paths through which it may change (absent: never).
        let paths: [Holding: Set<Path>]
    }

    /// Per genesis account, its role. An ID with the reserved prefix that is not listed
    /// here (every other genesis service) may hold nothing at all.
    static let roles: [String: Role] = [
        MintService.id: Role(summary: "holds exactly the active bids' scrip; spends its own llm_budget on scoring; owns nothing",
                             paths: [.scrip: [.mintBid, .mintPayout]]),
        EscrowService.id: Role(summary: "owns exactly the artifacts of active listings (their bytes stay charged to the seller); holds no scrip",
                               paths: [.artifacts: [.escrowListing]]),
        Kernel.systemID: Role(summary: "owns the genesis services and the handbook (unmetered); hands each new debt artifact to its creditor",
                              paths: [.artifacts: [.debtIssue]]),
    ]

    /// True for the system identity and every ID with the reserved `genesis` prefix
    /// (`Kernel.create` refuses such IDs to anyone but the system, so the prefix alone decides).
    static func isGenesis(_ id: String) -> Bool { id.hasPrefix(Kernel.systemID) }

    static func may(_ id: String, hold holding: Holding, via path: Path?) -> Bool {
        guard isGenesis(id) else { return true }
        guard let path, let allowed = roles[id]?.paths[holding] else { return false }
        return allowed.contains(path)
    }

    /// Throws `INVALID_ARGS` unless `id` is an ordinary principal or a genesis account
    /// whose role lets `holding` change through `path`.
    static func require(_ id: String, mayHold holding: Holding, via path: Path? = nil, as party: String) throws {
        if may(id, hold: holding, via: path) { return }
        let role = roles[id].map { " (its role: \($0.summary))" } ?? " (it holds nothing)"
        throw KernelError(.invalidArgs, "\(id) is a genesis account and cannot be the \(party) here: it takes no \(holding.rawValue) through this path\(role)",
                          details: ["account": .string(id), "holding": .string(holding.rawValue), "party": .string(party)])
    }
}
