import EcologyCore
@testable import EcologyKernel
import Foundation
import NIOConcurrencyHelpers
import XCTest

final class EscrowTests: XCTestCase {
    func testDepositPurchase() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "gadget", code: "echo"))
        let size = try w.artifact("gadget")!.sizeBytes
        let alphaDisk = try w.principal("alpha")!.diskUsed
        let listing = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["gadget", 25]))
        XCTAssertEqual(listing["status"], "active")
        XCTAssertEqual(listing["seller"], "alpha")
        let id = try XCTUnwrap(listing["listing_id"])
        XCTAssertEqual(try w.artifact("gadget")?.ownerID, "genesis_escrow")
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, alphaDisk, "a listed artifact stays on its seller's disk")
        XCTAssertEqual(try w.principal("genesis_escrow")!.diskUsed, 0)
        let betaDisk = try w.principal("beta")!.diskUsed
        // While listed, the seller no longer controls it.
        XCTAssertCode(w.write("alpha", "gadget"), .accessDenied)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "list_active")).arrayValue?.count, 1)
        XCTAssertCode(w.invoke("alpha", "genesis_escrow", "purchase", [id]), .invalidArgs)

        let sold = try XCTUnwrapOK(w.invoke("beta", "genesis_escrow", "purchase", [id]))
        XCTAssertEqual(sold["status"], "sold")
        XCTAssertEqual(sold["buyer"], "beta")
        XCTAssertEqual(try w.scrip("alpha"), 125)
        XCTAssertEqual(try w.scrip("beta"), 75)
        XCTAssertEqual(try w.artifact("gadget")?.ownerID, "beta")
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, alphaDisk - size)
        XCTAssertEqual(try w.principal("beta")!.diskUsed, betaDisk + size, "the bytes move to the buyer")
        XCTAssertEqual(try w.eventCount(type: "escrow_purchase"), 1)
        XCTAssertTrue(w.write("beta", "gadget", ["code": "echo", "interface": ["tools": [["name": "run"]]]]).isOK)
        let e = w.assertFailsCleanly(.invalidArgs) { w.invoke("gamma", "genesis_escrow", "purchase", [id]) }
        XCTAssertTrue(e?.message.contains("nothing was charged") ?? false)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "list_active")).arrayValue?.count, 0)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "check", [id]))["status"], "sold")
        w.assertInvariants()
    }

    func testCancelReturnsTheArtifact() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "poem"))
        let id = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["poem", 10]))["listing_id"]!
        w.assertFailsCleanly(.accessDenied) { w.invoke("beta", "genesis_escrow", "cancel", [id]) }
        let c = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "cancel", [id]))
        XCTAssertEqual(c["status"], "cancelled")
        XCTAssertEqual(try w.artifact("poem")?.ownerID, "alpha")
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_escrow", "cancel", [id]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "genesis_escrow", "purchase", [id]) }
        // It may be listed again.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["poem", 12]))
        w.assertInvariants()
    }

    func testDepositAndPurchaseErrors() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "poem"))
        w.assertFailsCleanly(.accessDenied) { w.invoke("beta", "genesis_escrow", "deposit", ["poem", 10]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_escrow", "deposit", ["poem", 0]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_escrow", "deposit", ["nothing", 10]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_escrow", "deposit", ["alpha", 10]) }
        w.assertFailsCleanly(.notFound) { w.invoke("beta", "genesis_escrow", "purchase", [999]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "genesis_escrow", "purchase", ["1"]) }
        let id = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["poem", 150]))["listing_id"]!
        // The buyer lacks funds: nothing moves.
        let e = w.assertFailsCleanly(.insufficientFunds) { w.invoke("beta", "genesis_escrow", "purchase", [id]) }
        XCTAssertEqual(e?.details?["needed"], 150)
        XCTAssertEqual(try w.artifact("poem")?.ownerID, "genesis_escrow")
        w.assertInvariants()
    }

    func testAListedArtifactCannotLeaveEscrowByOtherMeans() throws {
        let w = try TestWorld()
        // genesis_public lets anyone transfer it, and a self-owned tool may transfer itself;
        // neither may pull it out from under an active listing.
        try XCTUnwrapOK(w.write("alpha", "commons", ["contract": "genesis_public"]))
        let id = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["commons", 10]))["listing_id"]!
        w.assertFailsCleanly(.invalidArgs) { w.invoke("gamma", "genesis_ledger", "transfer_ownership", ["commons", "gamma"]) }
        w.assertInvariants()
        try XCTUnwrapOK(w.invoke("beta", "genesis_escrow", "purchase", [id]))
        XCTAssertEqual(try w.artifact("commons")?.ownerID, "beta")
        XCTAssertEqual(try w.scrip("alpha"), 110)
        w.assertInvariants()
    }

    func testAListedArtifactCannotBeDeletedFromUnderItsListing() throws {
        var config = WorldConfig()
        config.world.tombstoneRetentionSeconds = 10
        let w = try TestWorld(config: config)
        try XCTUnwrapOK(w.write("alpha", "x", ["contract": "genesis_public", "content": "cheap"]))
        let listing = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["x", 1]))["listing_id"]!
        // genesis_public lets anyone delete it, but not while it is listed: otherwise the listing
        // outlives it, and once the tombstone is purged and the ID reused by someone else,
        // the stale listing sells the newcomer's artifact (and pays the old seller).
        w.assertFailsCleanly(.invalidArgs) { w.act("delta", "delete", ["artifact_id": "x"]) }
        w.clock.advance(seconds: 11)
        XCTAssertEqual(try w.kernel.purgeTombstones(), 0)
        try XCTUnwrapOK(w.invoke("beta", "genesis_escrow", "purchase", [listing]))
        XCTAssertEqual(try w.artifact("x")?.content, "cheap")
        XCTAssertEqual(try w.artifact("x")?.ownerID, "beta")
        try XCTUnwrapOK(w.act("delta", "delete", ["artifact_id": "x"]))
        w.assertInvariants()
    }

    func testPricedToolListedInEscrowPaysTheSeller() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "meter", code: "echo", price: 4))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["meter", 50]))
        try XCTUnwrapOK(w.invoke("beta", "meter", "run"))
        XCTAssertEqual(try w.scrip("beta"), 96)
        XCTAssertEqual(try w.scrip("alpha"), 104, "the seller keeps the income while the artifact is listed")
        XCTAssertEqual(try w.scrip("genesis_escrow"), 0)
        w.assertInvariants()
    }

    /// Two buyers race for one listing, many times over: exactly one wins each time,
    /// the loser pays nothing and is told why.
    func testPurchaseRace() throws {
        let w = try TestWorld()
        let rounds = 40
        for i in 0..<rounds {
            let item = "item-\(i)"
            try XCTUnwrapOK(w.write("alpha", item))
            let listing = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", [.string(item), 2]))["listing_id"]!
            let before = (try w.scrip("beta"), try w.scrip("gamma"), try w.scrip("alpha"))
            let answers = NIOLockedValueBox([Envelope?](repeating: nil, count: 2))
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let env = w.invoke(k == 0 ? "beta" : "gamma", "genesis_escrow", "purchase", [listing])
                answers.withLockedValue { $0[k] = env }
            }
            let results = answers.withLockedValue { $0 }
            let wins = results.filter { $0?.isOK == true }.count
            XCTAssertEqual(wins, 1, "round \(i): \(results)")
            let loserIndex = results[0]?.isOK == true ? 1 : 0
            let winner = loserIndex == 0 ? "gamma" : "beta", loser = loserIndex == 0 ? "beta" : "gamma"
            let loss = try XCTUnwrap(results[loserIndex]?.error)
            XCTAssertEqual(loss.code, .invalidArgs)
            XCTAssertTrue(loss.message.contains("sold (to \(winner))"), loss.message)
            XCTAssertTrue(loss.message.contains("nothing was charged"), loss.message)
            XCTAssertEqual(try w.artifact(item)?.ownerID, winner)
            XCTAssertEqual(try w.scrip("alpha"), before.2 + 2)
            let after = (try w.scrip("beta"), try w.scrip("gamma"))
            if winner == "beta" { XCTAssertEqual(after.0, before.0 - 2); XCTAssertEqual(after.1, before.1) }
            else { XCTAssertEqual(after.1, before.1 - 2); XCTAssertEqual(after.0, before.0) }
            _ = loser
            w.assertInvariants("round \(i)")
        }
        XCTAssertEqual(try w.eventCount(type: "escrow_purchase"), rounds)
    }

    func testManyBuyersRaceForOneListing() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "rare"))
        let listing = try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["rare", 7]))["listing_id"]!
        let buyers = ["beta", "gamma", "delta", "epsilon"]
        let oks = NIOLockedValueBox(0)
        DispatchQueue.concurrentPerform(iterations: 16) { k in
            let env = w.invoke(buyers[k % buyers.count], "genesis_escrow", "purchase", [listing])
            if env.isOK { oks.withLockedValue { $0 += 1 } }
        }
        XCTAssertEqual(oks.withLockedValue { $0 }, 1)
        XCTAssertEqual(try w.totalScrip(), 500)
        XCTAssertEqual(buyers.map { (try? w.scrip($0)) ?? 0 }.reduce(0, +), 393)
        w.assertInvariants()
    }
}
