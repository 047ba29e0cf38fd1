import EcologyCore
@testable import EcologyKernel
import Foundation
import NIOConcurrencyHelpers
import XCTest

final class ConcurrencyTests: XCTestCase {
    /// Many threads transfer at once through the kernel: every success is applied exactly
    /// once, every failure is clean, and the total is conserved.
    func testConcurrentTransfersConserveScrip() throws {
        let w = try TestWorld()
        let threads = 8, perThread = 150
        let tally = NIOLockedValueBox<(net: [String: Int64], codes: [String: Int])>(([:], [:]))
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var rng = SplitMix64(seed: UInt64(1_000 + t))
            for _ in 0..<perThread {
                let from = agents[Int(rng.next() % 5)], to = agents[Int(rng.next() % 5)]
                let amount = Int64(rng.next() % 40) + 1
                let env = w.invoke(from, "genesis_ledger", "transfer", [.string(to), .int(amount)])
                tally.withLockedValue { t in
                    if env.isOK { t.net[from, default: 0] -= amount; t.net[to, default: 0] += amount }
                    t.codes[env.error?.code.rawValue ?? "OK", default: 0] += 1
                }
            }
        }
        let (net, codes) = tally.withLockedValue { $0 }
        XCTAssertEqual(codes.values.reduce(0, +), threads * perThread)
        XCTAssertEqual(Set(codes.keys).subtracting(["OK", "INSUFFICIENT_FUNDS", "INVALID_ARGS"]), [], "\(codes)")
        XCTAssertGreaterThan(codes["OK"] ?? 0, threads * perThread / 2)
        for a in agents { XCTAssertEqual(try w.scrip(a), 100 + (net[a] ?? 0), a) }
        XCTAssertEqual(try w.totalScrip(), 500)
        XCTAssertEqual(try w.eventCount(type: "transfer"), codes["OK"] ?? 0)
        w.assertInvariants()
    }

    /// Transfers, bids and mint resolutions interleave from many threads.
    func testConcurrentBidsTransfersAndResolutions() throws {
        var c = WorldConfig()
        c.mint.periodSeconds = 1
        c.mint.ubiFloor = 1
        let w = try TestWorld(config: c)
        for a in agents { try XCTUnwrapOK(w.write(a, "work-\(a)")) }
        let unexpectedErrors = NIOLockedValueBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { t in
            var rng = SplitMix64(seed: UInt64(7 + t))
            for _ in 0..<120 {
                let who = agents[Int(rng.next() % 5)]
                let env: Envelope
                switch (t, rng.next() % 3) {
                case (0, _):
                    w.clock.advance(micros: 100_000)
                    do { _ = try w.kernel.resolveMintIfDue() } catch { unexpectedErrors.withLockedValue { $0.append("\(error)") } }
                    continue
                case (_, 0): env = w.invoke(who, "genesis_mint", "bid", [.string("work-\(agents[Int(rng.next() % 5)])"), .int(Int64(rng.next() % 20) + 1)])
                case (_, 1): env = w.invoke(who, "genesis_mint", "withdraw")
                default: env = w.invoke(who, "genesis_ledger", "transfer", [.string(agents[Int(rng.next() % 5)]), .int(Int64(rng.next() % 20) + 1)])
                }
                if let e = env.error, ![.insufficientFunds, .invalidArgs].contains(e.code) {
                    unexpectedErrors.withLockedValue { $0.append("\(e)") }
                }
            }
        }
        XCTAssertEqual(unexpectedErrors.withLockedValue { $0 }, [])
        w.assertInvariants()
        XCTAssertGreaterThan(try w.eventCount(type: "mint_resolved"), 0)
    }
}
