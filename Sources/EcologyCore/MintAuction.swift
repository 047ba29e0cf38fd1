/// Pure arithmetic of the mint's sealed-bid auction (SPEC section 4).
///
/// The top `slots` bids win. Bids are ranked by amount (highest first), ties by
/// earlier placement. Winner *i* pays the bid ranked *i+1* (the next-highest bid),
/// never less than the minimum bid and never more than its own bid; losers pay nothing.
public enum MintAuction {
    public struct Bid: Sendable, Equatable {
        public var id: Int64
        public var bidder: String
        public var artifactID: String
        public var amount: Int64
        public init(id: Int64, bidder: String, artifactID: String, amount: Int64) {
            self.id = id; self.bidder = bidder; self.artifactID = artifactID; self.amount = amount
        }
    }

    public struct Award: Sendable, Equatable {
        public var bid: Bid
        /// What the winner pays; the rest of its held bid is refunded.
        public var price: Int64
        public var refund: Int64 { bid.amount - price }
    }

    public struct Outcome: Sendable, Equatable {
        public var winners: [Award]
        public var losers: [Bid]
        public var totalPaid: Int64 { winners.reduce(0) { $0 + $1.price } }
    }

    public static func resolve(bids: [Bid], slots: Int, minimumBid: Int64) -> Outcome {
        let ranked = bids.sorted { a, b in a.amount != b.amount ? a.amount > b.amount : a.id < b.id }
        let k = min(max(slots, 0), ranked.count)
        var winners: [Award] = []
        for i in 0..<k {
            let next = i + 1 < ranked.count ? ranked[i + 1].amount : minimumBid
            let price = min(ranked[i].amount, max(next, minimumBid))
            winners.append(Award(bid: ranked[i], price: price))
        }
        return Outcome(winners: winners, losers: Array(ranked[k...]))
    }

    /// Splits `total` equally among `recipients` (sorted), the remainder one unit each
    /// to the first recipients so that nothing is lost. Returns (recipient, amount).
    public static func shareUBI(total: Int64, recipients: [String]) -> [(String, Int64)] {
        guard !recipients.isEmpty, total > 0 else { return [] }
        let sorted = recipients.sorted()
        let share = total / Int64(sorted.count)
        let remainder = Int(total % Int64(sorted.count))
        return sorted.enumerated().map { i, r in (r, share + (i < remainder ? 1 : 0)) }
    }

    /// The start of the first resolution strictly after `now`, on a grid of `period`
    /// seconds from `epoch` (all in microseconds).
    public static func nextResolution(afterMicros now: Int64, epochMicros: Int64, periodSeconds: Int64) -> Int64 {
        // The config bounds the period (≤ 100 years); saturating keeps an unvalidated one from trapping.
        let period = max(1, periodSeconds).saturatingMultiply(1_000_000)
        if now < epochMicros { return epochMicros.saturatingAdd(period) }
        let k = now.saturatingSubtract(epochMicros) / period + 1
        return epochMicros.saturatingAdd(k.saturatingMultiply(period))
    }
}
