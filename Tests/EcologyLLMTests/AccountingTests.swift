import EcologyCore
@testable import EcologyLLM
import Foundation
import NIOConcurrencyHelpers
import XCTest

final class AccountingTests: XCTestCase {
    let rate = BucketConfig(ratePerSecond: 10, capacity: 1_000, initial: 1_000)
    let roomySystem = BucketConfig(ratePerSecond: 1_000, capacity: 1_000_000, initial: 1_000_000)

    func testReserveTakesBudgetAndBothBucketsAndSettleRefundsExactly() throws {
        let clock = VirtualClock()
        let acc = InMemoryLLMAccounting(clock: clock, systemRate: BucketConfig(ratePerSecond: 0, capacity: 5_000, initial: 5_000))
        acc.open(principal: "alpha", budgetMicrodollars: 10_000, rate: rate)

        let r = try acc.reserve(principal: "alpha", microdollars: 3_000, tokens: 400)
        XCTAssertEqual(acc.budget(of: "alpha"), 7_000)
        XCTAssertEqual(acc.rateBalance(of: "alpha"), 600)
        XCTAssertEqual(acc.systemRateBalance(), 4_600)
        XCTAssertEqual(acc.openReservationCount, 1)

        let s = try acc.settle(r, microdollars: 1_234, tokens: 150, estimated: false)
        XCTAssertEqual(s.chargedMicrodollars, 1_234)
        XCTAssertEqual(s.uncollectedMicrodollars, 0)
        XCTAssertEqual(s.chargedTokens, 150)
        XCTAssertEqual(s.budgetAfterMicrodollars, 10_000 - 1_234)
        XCTAssertEqual(acc.budget(of: "alpha"), 10_000 - 1_234)
        XCTAssertEqual(acc.rateBalance(of: "alpha"), 1_000 - 150)
        XCTAssertEqual(acc.systemRateBalance(), 5_000 - 150)
        XCTAssertEqual(acc.openReservationCount, 0)
    }

    func testSettlingTwiceIsRefused() throws {
        let acc = InMemoryLLMAccounting(clock: VirtualClock(), systemRate: roomySystem)
        acc.open(principal: "alpha", budgetMicrodollars: 100, rate: rate)
        let r = try acc.reserve(principal: "alpha", microdollars: 10, tokens: 10)
        _ = try acc.settle(r, microdollars: 0, tokens: 0, estimated: false)
        XCTAssertThrowsError(try acc.settle(r, microdollars: 0, tokens: 0, estimated: false)) {
            XCTAssertEqual(($0 as? KernelError)?.code, .internal)
        }
        XCTAssertEqual(acc.budget(of: "alpha"), 100)
    }

    func testBudgetExhaustedTakesNothingAndSaysHowMuch() throws {
        let acc = InMemoryLLMAccounting(clock: VirtualClock(), systemRate: roomySystem)
        acc.open(principal: "beta", budgetMicrodollars: 500, rate: rate)
        XCTAssertThrowsError(try acc.reserve(principal: "beta", microdollars: 501, tokens: 10)) { error in
            let e = error as? KernelError
            XCTAssertEqual(e?.code, .budgetExhausted)
            XCTAssertTrue(e?.message.contains("holds 500") == true, e?.message ?? "")
            XCTAssertTrue(e?.message.contains("501") == true)
            XCTAssertEqual(e?.details?["limit"], "agent_budget")
        }
        XCTAssertEqual(acc.budget(of: "beta"), 500)
        XCTAssertEqual(acc.rateBalance(of: "beta"), 1_000)
        XCTAssertEqual(acc.systemRateBalance(), 1_000_000)
        // Exactly the budget is fine.
        _ = try acc.reserve(principal: "beta", microdollars: 500, tokens: 10)
        XCTAssertEqual(acc.budget(of: "beta"), 0)
    }

    func testZeroBudgetCannotCallEvenAFreeModel() {
        let acc = InMemoryLLMAccounting(clock: VirtualClock(), systemRate: roomySystem)
        acc.open(principal: "broke", budgetMicrodollars: 0, rate: rate)
        XCTAssertThrowsError(try acc.reserve(principal: "broke", microdollars: 0, tokens: 1)) {
            XCTAssertEqual(($0 as? KernelError)?.code, .budgetExhausted)
            XCTAssertTrue(($0 as? KernelError)?.message.contains("exhausted") == true)
        }
    }

    func testUnknownPrincipalIsNotFound() {
        let acc = InMemoryLLMAccounting(clock: VirtualClock(), systemRate: roomySystem)
        XCTAssertThrowsError(try acc.reserve(principal: "ghost", microdollars: 1, tokens: 1)) {
            XCTAssertEqual(($0 as? KernelError)?.code, .notFound)
        }
    }

    func testAgentRateLimitNamesTheAgentBucketAndTheExactRetry() throws {
        let clock = VirtualClock()
        let acc = InMemoryLLMAccounting(clock: clock, systemRate: roomySystem)
        acc.open(principal: "gamma", budgetMicrodollars: 1_000_000, rate: rate)
        _ = try acc.reserve(principal: "gamma", microdollars: 1, tokens: 900)
        XCTAssertThrowsError(try acc.reserve(principal: "gamma", microdollars: 1, tokens: 150)) { error in
            let e = error as? KernelError
            XCTAssertEqual(e?.code, .rateLimited)
            XCTAssertEqual(e?.details?["limit"], "agent_rate")
            XCTAssertTrue(e?.message.contains("llm_rate of gamma") == true, e?.message ?? "")
            XCTAssertTrue(e?.message.contains("10 tokens/s") == true)
            // 100 available, 150 needed, 10 tokens/s: 5 s.
            XCTAssertEqual(e?.retryAfter, 5)
        }
        XCTAssertEqual(acc.budget(of: "gamma"), 1_000_000 - 1, "a refused reservation takes nothing")
        clock.advance(seconds: 4.9)
        XCTAssertThrowsError(try acc.reserve(principal: "gamma", microdollars: 1, tokens: 150))
        clock.advance(seconds: 0.1)
        XCTAssertNoThrow(try acc.reserve(principal: "gamma", microdollars: 1, tokens: 150))
    }

    func testRequestLargerThanCapacityHasNoRetryAfter() throws {
        let acc = InMemoryLLMAccounting(clock: VirtualClock(), systemRate: roomySystem)
        acc.open(principal: "delta", budgetMicrodollars: 1_000, rate: rate)
        XCTAssertThrowsError(try acc.reserve(principal: "delta", microdollars: 1, tokens: 1_001)) { error in
            let e = error as? KernelError
            XCTAssertEqual(e?.code, .rateLimited)
            XCTAssertNil(e?.retryAfter)
            XCTAssertTrue(e?.message.contains("never refills") == true, e?.message ?? "")
        }
    }

    func testSystemBucketIsSharedAcrossPrincipals() throws {
        let clock = VirtualClock()
        let acc = InMemoryLLMAccounting(clock: clock, systemRate: BucketConfig(ratePerSecond: 100, capacity: 1_000, initial: 1_000))
        for p in ["a", "b", "c"] { acc.open(principal: p, budgetMicrodollars: 1_000, rate: rate) }
        _ = try acc.reserve(principal: "a", microdollars: 1, tokens: 400)
        _ = try acc.reserve(principal: "b", microdollars: 1, tokens: 400)
        // c's own bucket is full, but the world has only 200 tokens left.
        XCTAssertThrowsError(try acc.reserve(principal: "c", microdollars: 1, tokens: 400)) { error in
            let e = error as? KernelError
            XCTAssertEqual(e?.code, .rateLimited)
            XCTAssertEqual(e?.details?["limit"], "system_rate")
            XCTAssertTrue(e?.message.contains("system-wide") == true, e?.message ?? "")
            XCTAssertEqual(e?.retryAfter, 2)
        }
        XCTAssertEqual(acc.rateBalance(of: "c"), 1_000, "the agent bucket is untouched when the system bucket refuses")
        XCTAssertEqual(acc.budget(of: "c"), 1_000)
        clock.advance(seconds: 2)
        XCTAssertNoThrow(try acc.reserve(principal: "c", microdollars: 1, tokens: 400))
        XCTAssertEqual(acc.systemRateBalance(), 0)
    }

    func testWhenBothBucketsAreShortTheLongerWaitIsReported() throws {
        let clock = VirtualClock()
        let acc = InMemoryLLMAccounting(clock: clock, systemRate: BucketConfig(ratePerSecond: 1, capacity: 1_000, initial: 0))
        acc.open(principal: "a", budgetMicrodollars: 1_000, rate: BucketConfig(ratePerSecond: 10, capacity: 1_000, initial: 0))
        XCTAssertThrowsError(try acc.reserve(principal: "a", microdollars: 1, tokens: 100)) { error in
            XCTAssertEqual((error as? KernelError)?.details?["limit"], "system_rate")
            XCTAssertEqual((error as? KernelError)?.retryAfter, 100)
        }
    }

    func testRefundNeverLiftsABucketAboveCapacity() throws {
        let clock = VirtualClock()
        let acc = InMemoryLLMAccounting(clock: clock, systemRate: BucketConfig(ratePerSecond: 1_000, capacity: 1_000, initial: 1_000))
        acc.open(principal: "a", budgetMicrodollars: 1_000, rate: BucketConfig(ratePerSecond: 1_000, capacity: 1_000, initial: 1_000))
        let r = try acc.reserve(principal: "a", microdollars: 10, tokens: 800)
        clock.advance(seconds: 10) // both buckets refill to capacity meanwhile
        _ = try acc.settle(r, microdollars: 1, tokens: 0, estimated: false)
        XCTAssertEqual(acc.rateBalance(of: "a"), 1_000)
        XCTAssertEqual(acc.systemRateBalance(), 1_000)
    }

    func testUsageAboveTheReservationTakesWhatTheBudgetHasAndReportsTheRest() throws {
        let acc = InMemoryLLMAccounting(clock: VirtualClock(), systemRate: roomySystem)
        acc.open(principal: "a", budgetMicrodollars: 1_000, rate: rate)
        let r = try acc.reserve(principal: "a", microdollars: 900, tokens: 100)
        let s = try acc.settle(r, microdollars: 1_500, tokens: 1_300, estimated: false)
        XCTAssertEqual(s.chargedMicrodollars, 1_000)
        XCTAssertEqual(s.uncollectedMicrodollars, 500)
        XCTAssertEqual(acc.budget(of: "a"), 0, "the budget never goes negative")
        XCTAssertEqual(acc.rateBalance(of: "a"), -300, "rate buckets take the excess as debt")
    }

    /// Many threads reserve and settle at once: the budget never goes negative and
    /// exactly initial − final was charged.
    func testConcurrentReservationsNeverOverspend() throws {
        let clock = VirtualClock()
        let acc = InMemoryLLMAccounting(clock: clock, systemRate: roomySystem)
        let initial: Int64 = 100_000
        acc.open(principal: "a", budgetMicrodollars: initial, rate: BucketConfig(ratePerSecond: 0, capacity: 10_000_000, initial: 10_000_000))
        struct Tally { var charged: Int64 = 0, admitted = 0, refused = 0, negativeSeen = false }
        let tally = NIOLockedValueBox(Tally())
        DispatchQueue.concurrentPerform(iterations: 2_000) { i in
            let worst = Int64(100 + i % 7 * 50)
            do {
                let r = try acc.reserve(principal: "a", microdollars: worst, tokens: 10)
                if (acc.budget(of: "a") ?? -1) < 0 { tally.withLockedValue { $0.negativeSeen = true } }
                let s = try acc.settle(r, microdollars: worst / 3, tokens: 5, estimated: false)
                tally.withLockedValue { $0.charged += s.chargedMicrodollars; $0.admitted += 1 }
            } catch let e as KernelError {
                XCTAssertEqual(e.code, .budgetExhausted)
                tally.withLockedValue { $0.refused += 1 }
            } catch {
                XCTFail("\(error)")
            }
        }
        let (charged, admitted, refused, negativeSeen) = tally.withLockedValue { ($0.charged, $0.admitted, $0.refused, $0.negativeSeen) }
        let final = try XCTUnwrap(acc.budget(of: "a"))
        XCTAssertFalse(negativeSeen)
        XCTAssertGreaterThanOrEqual(final, 0)
        XCTAssertEqual(initial - final, charged, "every micro-dollar taken is accounted for")
        XCTAssertLessThanOrEqual(charged, initial)
        XCTAssertGreaterThan(refused, 0, "the budget ran out during the test")
        XCTAssertEqual(admitted + refused, 2_000)
        XCTAssertEqual(acc.openReservationCount, 0)
    }
}
