import EcologyCore
@testable import EcologyKernel
import XCTest

/// Observers hear of every action the kernel answers, with its result code.
final class KernelObserverTests: XCTestCase {
    final class Recorder: KernelObserver, @unchecked Sendable {
        // Safe: the tests below act from one thread only.
        var outcomes: [ActionOutcome] = []
        func kernelHandled(_ outcome: ActionOutcome) { outcomes.append(outcome) }
    }

    func testObserversHearEachActionWithItsCode() throws {
        let w = try TestWorld()
        let recorder = Recorder()
        w.kernel.addObserver(recorder)
        func transfer(_ amount: Int64) -> Envelope {
            w.act("alpha", "invoke", ["artifact_id": "genesis_ledger", "method": "transfer", "args": ["beta", .int(amount)]])
        }
        try XCTUnwrapOK(transfer(30))
        w.assertFailsCleanly(.insufficientFunds) { transfer(1_000) }
        _ = w.act("alpha", "no_such_action", [:])
        XCTAssertEqual(recorder.outcomes.map(\.action), ["invoke", "invoke", "no_such_action"])
        XCTAssertEqual(recorder.outcomes.map(\.code), [nil, .insufficientFunds, .invalidArgs])
        XCTAssertEqual(recorder.outcomes.first?.target, "genesis_ledger")
        XCTAssertEqual(recorder.outcomes.first?.caller, "alpha")
        XCTAssertEqual(recorder.outcomes.first?.depth, 0)
        XCTAssertTrue(recorder.outcomes.allSatisfy { $0.seconds >= 0 })
    }
}
