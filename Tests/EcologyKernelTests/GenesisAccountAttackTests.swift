import EcologyCore
@testable import EcologyKernel
import Foundation
import GRDB
import XCTest

/// Class 2 of issue 9: hostile agents (and an operator's `ecology invoke --as`) try to make
/// a genesis account hold scrip, debt or artifacts outside its role. Each attack must be
/// refused with INVALID_ARGS by the shared role check (`GenesisAccounts`), change nothing,
/// and leave the invariants whole; the kernel keeps serving afterwards.
final class GenesisAccountAttackTests: XCTestCase {
    /// The break found by the outside attack pass: a debt request naming a genesis account as
    /// creditor hands it an artifact no listing accounts for; a bid on that artifact then has
    /// the mint award minted into the genesis account itself.
    func testDebtNamingAGenesisCreditorCannotRouteAMintAwardIntoAGenesisAccount() throws {
        for genesisCreditor in [EscrowService.id, MintService.id] {
            let w = try TestWorld(scorer: FixedScorer(scores: ["debt-1": 100]))
            w.assertFailsCleanly(.invalidArgs) {
                w.invoke("alpha", "genesis_debt", "issue", [.string(genesisCreditor), 10, 10, 3600])
            }
            // The rest of the attack, had the request gone through: bid on debt-1 and let the mint resolve.
            XCTAssertCode(w.invoke("beta", "genesis_mint", "bid", ["debt-1", 5]), .notFound)
            w.clock.advance(seconds: 120)
            try w.kernel.resolveMintIfDue()
            XCTAssertEqual(try w.scrip(EscrowService.id), 0)
            XCTAssertEqual(try w.scrip(MintService.id), 0)
            w.assertInvariants("creditor \(genesisCreditor)")
            // Still serving: an ordinary loan works.
            try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "issue", ["beta", 10, 12, 3600]))
            try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", ["debt-1"]))
            w.assertInvariants()
        }
    }

    /// llm_budget and quotas given to a genesis account are stranded (nobody can act as it)
    /// and break what its role accounts for.
    func testGenesisAccountsTakeNoBudgetOrQuota() throws {
        let w = try TestWorld()
        for account in [EscrowService.id, MintService.id] {
            w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer_budget", [.string(account), 1_000]) }
            for resource in RightsRegistryService.resources {
                w.assertFailsCleanly(.invalidArgs) {
                    w.invoke("alpha", "genesis_rights_registry", "transfer_quota", [.string(account), .string(resource), 10])
                }
            }
        }
        XCTAssertEqual(try w.principal(EscrowService.id)?.llmBudget, 0)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer_budget", ["beta", 1_000]))
        w.assertInvariants()
    }

    /// The operator's `ecology invoke ... --as genesis_mint` (or any path that runs as a
    /// genesis account) must not make it a bidder: a bid from the mint to itself would count
    /// as held scrip the mint does not have.
    func testAGenesisAccountCannotBidBorrowBuyOrOwn() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "poem"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["poem", 10]))
        w.assertFailsCleanly(.invalidArgs) { w.invoke(MintService.id, "genesis_mint", "bid", ["poem", 5]) }
        // The escrow as a debtor: funding the loan would pay scrip into the escrow.
        w.assertFailsCleanly(.invalidArgs) { w.invoke(EscrowService.id, "genesis_debt", "issue", ["alpha", 10, 10, 60]) }
        // Artifacts created "by" a genesis account would be owned by it with no listing.
        w.assertFailsCleanly(.invalidArgs) { w.write(EscrowService.id, "stash") }
        w.assertFailsCleanly(.invalidArgs) { w.write(MintService.id, "stash") }
        // The mint as a buyer would pay for it with alpha's held bid.
        try XCTUnwrapOK(w.write("beta", "gadget"))
        let listing = try XCTUnwrapOK(w.invoke("beta", "genesis_escrow", "deposit", ["gadget", 1]))["listing_id"]!
        w.assertFailsCleanly(.invalidArgs) { w.invoke(MintService.id, "genesis_escrow", "purchase", [listing]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke(EscrowService.id, "genesis_escrow", "purchase", [listing]) }
        XCTAssertEqual(try w.scrip(MintService.id), 10)
        w.assertInvariants()
        // Still serving: an ordinary purchase and bid work.
        try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "purchase", [listing]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_mint", "bid", ["gadget", 5]))
        w.assertInvariants()
    }

    /// The operator's `ecology artifact put … --as genesis`: as the system identity, a write
    /// created an unmetered artifact with a reserved ID, owned by the system.
    func testNobodyActsAsTheSystemIdentity() throws {
        let w = try TestWorld()
        w.assertFailsCleanly(.accessDenied) { w.write(Kernel.systemID, "genesis_fake", ["content": "free bytes"]) }
        w.assertFailsCleanly(.accessDenied) { w.write(Kernel.systemID, "plain", ["content": "free bytes"]) }
        w.assertFailsCleanly(.accessDenied) { w.invoke(Kernel.systemID, "genesis_store", "create", [["id": "free", "content": "x"]]) }
        w.assertFailsCleanly(.accessDenied) { w.act(Kernel.systemID, "delete", ["artifact_id": "handbook_overview"]) }
        XCTAssertTrue(w.invoke("alpha", "genesis_ledger", "balance").isOK)
        w.assertInvariants()
    }

    /// A bid on an artifact whose award would go to a genesis account (the system's handbook,
    /// a genesis service) is refused: the minted scrip would have no owner.
    func testNoMintAwardForAGenesisOwnedArtifact() throws {
        let w = try TestWorld(scorer: FixedScorer(scores: ["genesis_ledger": 100]))
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_mint", "bid", ["genesis_ledger", 10]) }
        w.assertInvariants()
    }

    /// Scrip and ownership to a genesis account through the ledger (contained before; kept as regressions).
    func testLedgerTransfersToGenesisAccountsAreRefused() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "poem"))
        for account in [EscrowService.id, MintService.id, LedgerService.id, Kernel.systemID] {
            XCTAssertNotEqual(w.invoke("alpha", "genesis_ledger", "transfer", [.string(account), 5]).error?.code, nil)
            XCTAssertNotEqual(w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["poem", .string(account)]).error?.code, nil)
        }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", [.string(MintService.id), 5]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["poem", .string(EscrowService.id)]) }
        XCTAssertEqual(try w.artifact("poem")?.ownerID, "alpha")
        w.assertInvariants()
    }

    /// A debt (a claim) handed to the escrow without a listing, or to the mint: refused like any artifact.
    func testADebtArtifactCannotBeParkedInAGenesisAccount() throws {
        let w = try TestWorld()
        let debt = try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "issue", ["alpha", 10, 12, 60]))["debt_id"]!
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "accept", [debt]))
        for account in [EscrowService.id, MintService.id] {
            w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", [debt, .string(account)]) }
        }
        // Repayments still reach the holder.
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "repay", [debt, 12]))
        XCTAssertEqual(try w.scrip("alpha"), 102)
        w.assertInvariants()
    }

    /// A configured agent named like a genesis account would be treated as one (and hold
    /// scrip outside any role): bootstrap refuses the name.
    func testAConfiguredAgentCannotTakeAGenesisName() throws {
        var config = WorldConfig()
        config.agents = [AgentSpec(id: "genesis_treasury")]
        let w = try TestWorld(config: config, bootstrap: false)
        XCTAssertThrowsError(try w.kernel.bootstrap()) { XCTAssertEqual(($0 as? KernelError)?.code, .invalidArgs) }
        XCTAssertNil(try w.principal("genesis_treasury"))
    }

    // MARK: - checkInvariants sees each genesis account's holdings

    /// Each bad row an attack could leave is injected with SQL into a healthy world; the
    /// report must name it.
    func testInvariantsCheckEveryGenesisAccountAgainstItsRole() throws {
        let cases: [(String, String, String)] = [
            ("escrow scrip", "UPDATE principals SET scrip = scrip + 5 WHERE id = 'genesis_escrow'; UPDATE principals SET scrip = scrip - 5 WHERE id = 'alpha'",
             "escrow holds 5 scrip"),
            ("mint scrip beyond bids", "UPDATE principals SET scrip = scrip + 5 WHERE id = 'genesis_mint'; UPDATE principals SET scrip = scrip - 5 WHERE id = 'alpha'",
             "the mint holds 5 scrip but active bids total 0"),
            ("escrow owns an unlisted artifact", "UPDATE artifacts SET owner_id = 'genesis_escrow' WHERE id = 'poem'",
             "genesis account genesis_escrow owns poem without an active listing"),
            ("mint owns an artifact", "UPDATE artifacts SET owner_id = 'genesis_mint' WHERE id = 'poem'",
             "genesis account genesis_mint owns poem"),
            ("the system owns a data artifact", "UPDATE artifacts SET owner_id = 'genesis', charged_to = 'genesis' WHERE id = 'poem'; UPDATE principals SET disk_used = disk_used - (SELECT size_bytes FROM artifacts WHERE id='poem') WHERE id = 'alpha'",
             "the system owns poem of kind data"),
            ("a non-principal owner", "UPDATE artifacts SET owner_id = 'genesis_ledger' WHERE id = 'poem'",
             "genesis account genesis_ledger owns poem"),
            ("escrow llm_budget", "UPDATE principals SET llm_budget = 7 WHERE id = 'genesis_escrow'",
             "genesis account genesis_escrow holds 7 llm_budget"),
            ("mint llm_budget beyond its grant", "UPDATE principals SET llm_budget = llm_budget + 1 WHERE id = 'genesis_mint'",
             "more than the"),
            ("a genesis quota changed", "UPDATE principals SET disk_quota = disk_quota + 1 WHERE id = 'genesis_mint'",
             "genesis account genesis_mint has disk quota"),
            ("a bid held for a genesis account", "INSERT INTO mint_bids (bidder, artifact_id, amount, created_at, status) VALUES ('genesis_escrow', 'poem', 3, 0, 'active'); UPDATE principals SET scrip = scrip + 3 WHERE id = 'genesis_mint'; UPDATE principals SET scrip = scrip - 3 WHERE id = 'alpha'",
             "mint bid 1 is held for genesis account genesis_escrow"),
            ("a debt with a genesis creditor", "UPDATE debts SET original_creditor = 'genesis_mint'",
             "names a genesis account as a party"),
            ("a listing sold by a genesis account", "INSERT INTO escrow_listings (artifact_id, seller, price, status, created_at) VALUES ('poem', 'genesis_mint', 1, 'active', 0); UPDATE artifacts SET owner_id = 'genesis_escrow' WHERE id = 'poem'",
             "has genesis account genesis_mint as its seller"),
        ]
        for (name, sql, expected) in cases {
            let w = try TestWorld()
            try XCTUnwrapOK(w.write("alpha", "poem"))
            try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "issue", ["alpha", 10, 10, 60]))
            w.assertInvariants("before injecting \(name)")
            try w.database.write { try $0.execute(sql: sql) }
            let report = try w.kernel.checkInvariants()
            XCTAssertTrue(report.violations.contains { $0.contains(expected) }, "\(name): expected a violation containing '\(expected)', got \(report.violations)")
        }
    }
}
