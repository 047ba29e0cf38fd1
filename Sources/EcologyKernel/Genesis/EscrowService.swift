import EcologyCore
import GRDB

/// `genesis_escrow`: sell artifacts safely. The seller deposits an artifact (ownership
/// moves to the escrow account); a buyer's purchase pays the seller and takes ownership
/// in one transaction, so of two racing buyers exactly one wins.
struct EscrowService: GenesisService {
    static let id = "genesis_escrow"
    let summary = "Sell an artifact for scrip: deposit it with a price; anyone may purchase it atomically."
    let tools: [ToolSpec] = [
        ToolSpec("deposit", "List an artifact you may transfer, at a price in scrip.",
                 [("artifact_id", "string", "artifact", true), ("price", "integer", "scrip, > 0", true)]),
        ToolSpec("purchase", "Buy a listing: pays the seller and makes you the owner.", [("listing_id", "integer", "listing", true)]),
        ToolSpec("cancel", "Withdraw your listing; the artifact returns to you.", [("listing_id", "integer", "listing", true)]),
        ToolSpec("check", "One listing.", [("listing_id", "integer", "listing", true)]),
        ToolSpec("list_active", "All active listings."),
    ]

    static func load(_ db: Database, _ id: Int64) throws -> Row {
        guard let r = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, artifact_id, seller, price, status, buyer, created_at FROM escrow_listings WHERE id = ?"),
                                       arguments: [id]) else { throw KernelError.notFound("escrow listing \(id)") }
        return r
    }

    static func json(_ r: Row) -> JSONValue {
        .object(["listing_id": .int(r[0]), "artifact_id": .string(r[1]), "seller": .string(r[2]), "price": .int(r[3]),
                 "status": .string(r[4]), "buyer": (r[5] as String?).map(JSONValue.string) ?? .null])
    }

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        switch method {
        case "deposit":
            let id = try args.id("artifact_id"), price = try args.amount("price")
            return try k.deciding { decisions in try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                var a = try k.liveArtifact(db, id)
                try k.authorize(db, .transfer, on: a, by: ctx, decisions: decisions)
                if a.hasStanding { throw KernelError.invalid("principals cannot be sold through escrow; transfer ownership directly") }
                let seller = a.ownerID
                try GenesisAccounts.require(seller, mayHold: .scrip, as: "seller (the listing's payee)")
                // The listing first: while it is active the bytes stay charged to the seller
                // (`billingPrincipal`), who can cancel and get the artifact back.
                try db.execute(sql: "INSERT INTO escrow_listings (artifact_id, seller, price, status, created_at) VALUES (?,?,?,'active',?)",
                               arguments: [id, seller, price, k.clock.nowMicros()])
                let listing = db.lastInsertedRowID
                try k.moveOwnership(db, &a, to: Self.id, by: ctx.caller, via: .escrowListing)
                try k.events.append(db, "escrow_deposit", principal: ctx.caller,
                                    ["listing_id": .int(listing), "artifact_id": .string(id), "seller": .string(seller), "price": .int(price)])
                return Self.json(try Self.load(db, listing))
            } }
        case "purchase":
            let listing = try args.int("listing_id")
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                let r = try Self.load(db, listing)
                let status: String = r[4], seller: String = r[2], price: Int64 = r[3], artifactID: String = r[1]
                guard status == "active" else {
                    throw KernelError.invalid("escrow listing \(listing) is \(status)\((r[5] as String?).map { " (to \($0))" } ?? ""); nothing was charged")
                }
                if seller == ctx.caller { throw KernelError.invalid("you cannot buy your own listing; cancel it instead") }
                guard try Principal.load(db, ctx.caller) != nil else { throw KernelError.denied("\(ctx.caller) has no standing to buy") }
                try k.moveScrip(db, from: ctx.caller, to: seller, amount: price)
                var a = try k.liveArtifact(db, artifactID)
                // The listing closes first, so the bytes move to the buyer with the ownership.
                try db.execute(sql: "UPDATE escrow_listings SET status='sold', buyer=?, closed_at=? WHERE id=? AND status='active'",
                               arguments: [ctx.caller, k.clock.nowMicros(), listing])
                try k.moveOwnership(db, &a, to: ctx.caller, by: Self.id, via: .escrowListing)
                try k.events.append(db, "escrow_purchase", principal: ctx.caller,
                                    ["listing_id": .int(listing), "artifact_id": .string(artifactID), "seller": .string(seller),
                                     "buyer": .string(ctx.caller), "price": .int(price)])
                return Self.json(try Self.load(db, listing))
            }
        case "cancel":
            let listing = try args.int("listing_id")
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                let r = try Self.load(db, listing)
                let status: String = r[4], seller: String = r[2]
                guard status == "active" else { throw KernelError.invalid("escrow listing \(listing) is \(status)") }
                guard seller == ctx.caller else { throw KernelError.denied("only the seller (\(seller)) may cancel listing \(listing)") }
                var a = try k.liveArtifact(db, r[1])
                try db.execute(sql: "UPDATE escrow_listings SET status='cancelled', closed_at=? WHERE id=?",
                               arguments: [k.clock.nowMicros(), listing])
                try k.moveOwnership(db, &a, to: seller, by: Self.id, via: .escrowListing)
                try k.events.append(db, "escrow_cancel", principal: ctx.caller, ["listing_id": .int(listing), "artifact_id": .string(a.id)])
                return Self.json(try Self.load(db, listing))
            }
        case "check":
            let listing = try args.int("listing_id")
            return try k.readOnly { db in Self.json(try Self.load(db, listing)) }
        case "list_active":
            return try k.readOnly { db in
                .array(try Row.fetchAll(db.cachedStatement(sql: "SELECT id, artifact_id, seller, price, status, buyer, created_at FROM escrow_listings WHERE status='active' ORDER BY id")).map(Self.json))
            }
        default: throw unknown(method)
        }
    }
}

extension Kernel {
    /// Who receives scrip an artifact earns (its price, a mint award, a debt repayment):
    /// its owner, or its seller while it is listed, because the escrow holds artifacts, never scrip.
    func payee(_ db: Database, of artifact: Artifact) throws -> String {
        guard artifact.ownerID == EscrowService.id else { return artifact.ownerID }
        return try String.fetchOne(db.cachedStatement(sql: "SELECT seller FROM escrow_listings WHERE artifact_id = ? AND status = 'active'"),
                                   arguments: [artifact.id]) ?? artifact.ownerID
    }
}
