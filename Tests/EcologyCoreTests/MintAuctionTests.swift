import EcologyCore
import XCTest

final class MintAuctionTests: XCTestCase {
    func bid(_ id: Int64, _ who: String, _ amount: Int64) -> MintAuction.Bid {
        MintAuction.Bid(id: id, bidder: who, artifactID: "art-\(who)", amount: amount)
    }

    func testNoBidders() {
        let o = MintAuction.resolve(bids: [], slots: 3, minimumBid: 1)
        XCTAssertEqual(o.winners, [])
        XCTAssertEqual(o.losers, [])
        XCTAssertEqual(o.totalPaid, 0)
    }

    func testSingleBidderPaysTheMinimumBid() {
        let o = MintAuction.resolve(bids: [bid(1, "a", 40)], slots: 1, minimumBid: 5)
        XCTAssertEqual(o.winners.count, 1)
        XCTAssertEqual(o.winners[0].price, 5)
        XCTAssertEqual(o.winners[0].refund, 35)
        XCTAssertEqual(o.losers, [])
    }

    func testWinnerPaysSecondHighest() {
        let o = MintAuction.resolve(bids: [bid(1, "a", 10), bid(2, "b", 30), bid(3, "c", 20)], slots: 1, minimumBid: 1)
        XCTAssertEqual(o.winners.map(\.bid.bidder), ["b"])
        XCTAssertEqual(o.winners[0].price, 20)
        XCTAssertEqual(o.losers.map(\.bidder), ["c", "a"])
        XCTAssertEqual(o.totalPaid, 20)
    }

    func testTiesGoToTheEarlierBid() {
        let o = MintAuction.resolve(bids: [bid(7, "late", 50), bid(3, "early", 50), bid(9, "low", 1)], slots: 1, minimumBid: 1)
        XCTAssertEqual(o.winners.map(\.bid.bidder), ["early"])
        XCTAssertEqual(o.winners[0].price, 50, "the next-highest bid is the tied one")
        XCTAssertEqual(o.losers.map(\.bidder), ["late", "low"])
    }

    func testKSlotsEachPayTheNextHighest() {
        let bids = [bid(1, "a", 100), bid(2, "b", 80), bid(3, "c", 60), bid(4, "d", 10)]
        let o = MintAuction.resolve(bids: bids, slots: 3, minimumBid: 1)
        XCTAssertEqual(o.winners.map(\.bid.bidder), ["a", "b", "c"])
        XCTAssertEqual(o.winners.map(\.price), [80, 60, 10])
        XCTAssertEqual(o.losers.map(\.bidder), ["d"])
        XCTAssertEqual(o.totalPaid, 150)
    }

    func testMoreSlotsThanBidsLastPaysMinimum() {
        let o = MintAuction.resolve(bids: [bid(1, "a", 9), bid(2, "b", 4)], slots: 5, minimumBid: 2)
        XCTAssertEqual(o.winners.map(\.price), [4, 2])
        XCTAssertEqual(o.losers, [])
    }

    func testPriceNeverExceedsOwnBidNorFallsBelowMinimum() {
        // A bid below the minimum (legacy data) never pays more than itself.
        let o = MintAuction.resolve(bids: [bid(1, "a", 3)], slots: 1, minimumBid: 10)
        XCTAssertEqual(o.winners[0].price, 3)
        let z = MintAuction.resolve(bids: [bid(1, "a", 3)], slots: 0, minimumBid: 1)
        XCTAssertEqual(z.winners, [])
        XCTAssertEqual(z.losers.count, 1)
        let neg = MintAuction.resolve(bids: [bid(1, "a", 3)], slots: -2, minimumBid: 1)
        XCTAssertEqual(neg.winners, [])
    }

    func testShareUBIDistributesRemainderAndSumsExactly() {
        let shares = MintAuction.shareUBI(total: 17, recipients: ["e", "b", "a", "d", "c"])
        XCTAssertEqual(shares.map(\.0), ["a", "b", "c", "d", "e"])
        XCTAssertEqual(shares.map(\.1), [4, 4, 3, 3, 3])
        XCTAssertEqual(shares.reduce(0) { $0 + $1.1 }, 17)
        for total in Int64(0)...200 {
            for n in 1...9 {
                let s = MintAuction.shareUBI(total: total, recipients: (0..<n).map { "r\($0)" })
                XCTAssertEqual(s.reduce(0) { $0 + $1.1 }, total)
                if let mx = s.map(\.1).max(), let mn = s.map(\.1).min() { XCTAssertLessThanOrEqual(mx - mn, 1) }
            }
        }
        XCTAssertTrue(MintAuction.shareUBI(total: 10, recipients: []).isEmpty)
        XCTAssertTrue(MintAuction.shareUBI(total: 0, recipients: ["a"]).isEmpty)
    }

    func testNextResolution() {
        let e: Int64 = 1_000_000_000
        XCTAssertEqual(MintAuction.nextResolution(afterMicros: e, epochMicros: e, periodSeconds: 60), e + 60_000_000)
        XCTAssertEqual(MintAuction.nextResolution(afterMicros: e + 59_999_999, epochMicros: e, periodSeconds: 60), e + 60_000_000)
        XCTAssertEqual(MintAuction.nextResolution(afterMicros: e + 60_000_000, epochMicros: e, periodSeconds: 60), e + 120_000_000,
                       "strictly after now")
        XCTAssertEqual(MintAuction.nextResolution(afterMicros: e + 1_000_000_000, epochMicros: e, periodSeconds: 60), e + 1_020_000_000)
        XCTAssertEqual(MintAuction.nextResolution(afterMicros: e - 5, epochMicros: e, periodSeconds: 60), e + 60_000_000)
        XCTAssertEqual(MintAuction.nextResolution(afterMicros: e, epochMicros: e, periodSeconds: 0), e + 1_000_000, "period is at least 1 s")
    }
}
