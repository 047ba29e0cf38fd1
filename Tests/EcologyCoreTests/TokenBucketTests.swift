import EcologyCore
import XCTest

final class TokenBucketTests: XCTestCase {
    let t0: Int64 = 1_800_000_000_000_000

    func testRefillIsContinuousAndExact() {
        let b = TokenBucket(ratePerSecond: 100, capacity: 10_000, balance: 0, nowMicros: t0)
        XCTAssertEqual(b.balance(atMicros: t0), 0)
        // 100 units/s: 10 ms is exactly one unit, 1 µs is 100 scaled units.
        XCTAssertEqual(b.scaledBalance(atMicros: t0 + 1), 100)
        XCTAssertEqual(b.balance(atMicros: t0 + 9_999), 0)
        XCTAssertEqual(b.balance(atMicros: t0 + 10_000), 1)
        XCTAssertEqual(b.balance(atMicros: t0 + 1_500_000), 150)
        XCTAssertEqual(b.scaledBalance(atMicros: t0 + 1_500_000), 150 * TokenBucket.scale)
    }

    func testCapacityClampsRefill() {
        var b = TokenBucket(ratePerSecond: 100, capacity: 50, balance: 10, nowMicros: t0)
        XCTAssertEqual(b.balance(atMicros: t0 + 3_600_000_000), 50)
        b.refill(toMicros: t0 + 3_600_000_000)
        XCTAssertEqual(b.scaledBalance, 50 * TokenBucket.scale)
        XCTAssertEqual(b.updatedAtMicros, t0 + 3_600_000_000)
    }

    func testTimeNeverRunsBackwards() {
        var b = TokenBucket(ratePerSecond: 100, capacity: 50, balance: 10, nowMicros: t0)
        b.refill(toMicros: t0 - 1_000_000)
        XCTAssertEqual(b.balance(atMicros: t0), 10)
        XCTAssertEqual(b.updatedAtMicros, t0)
    }

    func testDebtAndRecovery() {
        var b = TokenBucket(ratePerSecond: 100, capacity: 10_000, balance: 5, nowMicros: t0)
        b.consume(units: 25, atMicros: t0)
        XCTAssertEqual(b.balance(atMicros: t0), -20)
        XCTAssertTrue(b.isInDebt(atMicros: t0))
        XCTAssertEqual(b.secondsUntilSolvent(atMicros: t0), 0.2)
        XCTAssertTrue(b.isInDebt(atMicros: t0 + 199_999))
        XCTAssertEqual(b.balance(atMicros: t0 + 199_999), -1, "negative balances round toward -infinity")
        XCTAssertFalse(b.isInDebt(atMicros: t0 + 200_000))
        XCTAssertEqual(b.balance(atMicros: t0 + 200_000), 0)
        XCTAssertEqual(b.secondsUntilSolvent(atMicros: t0 + 200_000), 0)
    }

    func testSecondsUntilSolventWithZeroRateIsNil() {
        var b = TokenBucket(ratePerSecond: 0, capacity: 10, balance: 0, nowMicros: t0)
        XCTAssertEqual(b.secondsUntilSolvent(atMicros: t0), 0)
        b.consume(units: 1, atMicros: t0)
        XCTAssertNil(b.secondsUntilSolvent(atMicros: t0 + 1_000_000_000))
        XCTAssertTrue(b.isInDebt(atMicros: t0 + 1_000_000_000))
    }

    func testSecondsUntilSolventIsEnoughToRecover() {
        var b = TokenBucket(ratePerSecond: 7, capacity: 1_000, balance: 0, nowMicros: t0)
        b.consume(scaledUnits: 12_345_678, atMicros: t0)
        let wait = b.secondsUntilSolvent(atMicros: t0)!
        XCTAssertGreaterThan(wait, 0)
        let after = t0 + Int64((wait * 1_000_000).rounded(.up))
        XCTAssertFalse(b.isInDebt(atMicros: after))
        XCTAssertTrue(b.isInDebt(atMicros: after - 2))
    }

    func testCreditAboveCapacityIsKeptAndDoesNotRefill() {
        var b = TokenBucket(ratePerSecond: 100, capacity: 50, balance: 50, nowMicros: t0)
        b.credit(units: 30, atMicros: t0)
        XCTAssertEqual(b.balance(atMicros: t0), 80)
        XCTAssertEqual(b.balance(atMicros: t0 + 10_000_000), 80, "above capacity: no refill, no clamp down")
        b.consume(units: 40, atMicros: t0 + 10_000_000)
        XCTAssertEqual(b.balance(atMicros: t0 + 10_000_000), 40)
        XCTAssertEqual(b.balance(atMicros: t0 + 20_000_000), 50)
    }

    func testNoDriftOverManySmallSteps() {
        var stepped = TokenBucket(ratePerSecond: 3, capacity: 1_000_000, balance: -500, nowMicros: t0)
        var now = t0
        var rng: UInt64 = 42
        for _ in 0..<100_000 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            now += Int64(rng >> 54) + 1  // 1...1024 µs
            stepped.refill(toMicros: now)
        }
        let once = TokenBucket(ratePerSecond: 3, capacity: 1_000_000, balance: -500, nowMicros: t0)
        XCTAssertEqual(stepped.scaledBalance, once.scaledBalance(atMicros: now))
        XCTAssertEqual(stepped.scaledBalance, -500 * TokenBucket.scale + (now - t0) * 3)
    }

    func testConsumeScaledUnitsMatchesCPUMicroseconds() {
        var b = TokenBucket(ratePerSecond: 0, capacity: 100, balance: 10, nowMicros: t0)
        // 2,500 CPU-µs = 2.5 CPU-ms.
        b.consume(scaledUnits: 2_500 * (TokenBucket.scale / 1000), atMicros: t0)
        XCTAssertEqual(b.scaledBalance, 7_500_000)
        XCTAssertEqual(b.balance(atMicros: t0), 7)
    }

    func testHugeInitialBalanceSaturatesInsteadOfTrapping() {
        let b = TokenBucket(ratePerSecond: 1, capacity: 1, balance: Int64.max, nowMicros: t0)
        XCTAssertGreaterThan(b.scaledBalance, 0)
        let n = TokenBucket(ratePerSecond: 1, capacity: 1, balance: Int64.min, nowMicros: t0)
        XCTAssertLessThan(n.scaledBalance, 0)
    }
}
