import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
import XCTest

/// Decide, then apply (docs/KERNEL.md): custom contracts run with no write transaction
/// open, and the apply step re-checks what they were asked about. The waits below are
/// bounds that detect a deadlock (before this, the second writer waited for the contract
/// until it was released), not performance assertions.
final class DecideThenApplyTests: XCTestCase {
    /// A contract `gate` that allows everything, and `vault`, owned by alpha, under it.
    func world() throws -> TestWorld {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "gate", ["kind": "contract", "code": "requesters=*;actions=*",
                                                  "interface": ["tools": [["name": "check_permission", "description": "decides"]]]]))
        try XCTUnwrapOK(w.write("alpha", "vault", ["contract": "gate", "content": "first"]))
        return w
    }

    /// Runs `body` on another thread; the semaphore is signalled when it is done.
    func inBackground(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread { body(); done.signal() }.start()
        return done
    }

    /// While beta's read waits inside its contract evaluation, another principal's transfer commits.
    func testAContractEvaluationDoesNotHoldTheWriter() throws {
        let w = try world()
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        w.executor.onContract { r in
            if r.args[2] == "beta" { entered.signal(); release.wait() }
        }
        let read = Locked<Envelope?>(nil)
        let readDone = inBackground { read.set(w.act("beta", "read", ["artifact_id": "vault"])) }
        XCTAssertEqual(entered.wait(timeout: .now() + 10), .success, "the contract was asked")
        let transfer = Locked<Envelope?>(nil)
        let transferDone = inBackground { transfer.set(w.invoke("gamma", "genesis_ledger", "transfer", ["delta", 7])) }
        let completed = transferDone.wait(timeout: .now() + 5) == .success
        release.signal()
        XCTAssertTrue(completed, "a transfer waited for another principal's contract evaluation")
        XCTAssertEqual(readDone.wait(timeout: .now() + 10), .success)
        if !completed { _ = transferDone.wait(timeout: .now() + 10) }
        XCTAssertTrue(transfer.value?.isOK ?? false, "\(String(describing: transfer.value))")
        XCTAssertEqual(try XCTUnwrapOK(try XCTUnwrap(read.value))["content"], "first")
        w.assertInvariants()
    }

    /// The artifact changes while its contract is asked: the apply step sees another
    /// version, the contract is asked again about it, and the read returns what is there.
    func testAChangeWhileTheContractRunsIsAskedAgain() throws {
        let w = try world()
        let changed = Locked(false)
        w.executor.onContract { r in
            // Runs on the evaluating thread with no transaction open: a nested action can commit.
            guard r.args[2] == "beta", !changed.value else { return }
            changed.set(true)
            XCTAssertTrue(w.act("alpha", "edit", ["artifact_id": "vault", "old": "first", "new": "second"]).isOK)
        }
        let asked = w.executor.count(.contract)
        let read = Locked<Envelope?>(nil)
        XCTAssertEqual(inBackground { read.set(w.act("beta", "read", ["artifact_id": "vault"])) }.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(try XCTUnwrapOK(try XCTUnwrap(read.value))["content"], "second")
        let betas = w.executor.requests.dropFirst(asked).filter { $0.kind == .contract && $0.args[2] == "beta" }
        XCTAssertEqual(betas.map { $0.args[3]["version"] }, [1, 2], "asked about version 1, then about version 2")
        let paid = try w.events(type: "contract_evaluated").filter { $0.data["requester"] == "beta" }
        XCTAssertEqual(paid.count, 2, "both evaluations are paid for")
        w.assertInvariants()
    }

    /// An artifact that changes every time its contract is asked: after `maxContractRounds`
    /// rounds the action is ACCESS_DENIED (`changed_while_asked`), having changed nothing
    /// but what its contracts cost.
    func testAnArtifactThatKeepsChangingIsRefused() throws {
        let w = try world()
        let edits = Locked(0)
        w.executor.onContract { r in
            guard r.args[2] == "beta" else { return }
            edits.set(edits.value + 1)
            XCTAssertTrue(w.act("alpha", "edit", ["artifact_id": "vault", "old": "first", "new": "first"]).isOK)
        }
        func betaScaled() throws -> Int64 { try XCTUnwrap(w.principal("beta")).compute.scaledBalance(atMicros: w.clock.nowMicros()) }
        let betaCompute = try betaScaled()
        let read = Locked<Envelope?>(nil)
        XCTAssertEqual(inBackground { read.set(w.act("beta", "read", ["artifact_id": "vault"])) }.wait(timeout: .now() + 10), .success)
        let error = try XCTUnwrap(read.value?.error)
        XCTAssertEqual(error.code, .accessDenied)
        XCTAssertEqual(error.details?["reason"], "changed_while_asked")
        XCTAssertEqual(edits.value, Kernel.maxContractRounds)
        let paid = try w.events(type: "contract_evaluated").filter { $0.data["requester"] == "beta" }
        XCTAssertEqual(paid.count, edits.value)
        let cpu = paid.reduce(Int64(0)) { $0 + (Int64(exactly: (($1.data["cpu_ms"]?.doubleValue ?? 0) * 1000).rounded()) ?? 0) }
        XCTAssertEqual(try betaScaled(), betaCompute - cpu * (TokenBucket.scale / 1000), "beta paid its contracts and nothing else (no read cost)")
        XCTAssertEqual(try w.events(type: "artifact_written").filter { $0.data["artifact_id"] == "vault" }.count, 1 + edits.value)
        w.assertInvariants()
    }

    /// The payer's balance drops between the decision and the apply step: the transfer
    /// that was allowed fails INSUFFICIENT_FUNDS (the apply step reads the balance), no
    /// overdraft, scrip conserved.
    func testABalanceSpentWhileTheContractRunsIsNotOverdrawn() throws {
        let w = try world()
        // `fund`: a principal owned by alpha, whose transfers its custom contract decides.
        try XCTUnwrapOK(w.write("alpha", "fund", ["standing": true, "contract": "gate"]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["fund", 100]))
        let total = try w.totalScrip()
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let first = Locked(true)
        w.executor.onContract { r in
            guard r.args[0] == "fund", r.args[1] == "transfer", first.value else { return }
            first.set(false)
            entered.signal(); release.wait()
        }
        let big = Locked<Envelope?>(nil)
        let bigDone = inBackground { big.set(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 80, "fund"])) }
        XCTAssertEqual(entered.wait(timeout: .now() + 10), .success)
        let betaBefore = try w.scrip("beta")
        let small = Locked<Envelope?>(nil)
        let smallDone = inBackground { small.set(w.invoke("alpha", "genesis_ledger", "transfer", ["gamma", 50, "fund"])) }
        let completed = smallDone.wait(timeout: .now() + 5) == .success
        release.signal()
        XCTAssertTrue(completed, "the second transfer waited for the first one's contract evaluation")
        XCTAssertEqual(bigDone.wait(timeout: .now() + 10), .success)
        if !completed { _ = smallDone.wait(timeout: .now() + 10) }
        XCTAssertTrue(small.value?.isOK ?? false, "\(String(describing: small.value))")
        XCTAssertEqual(big.value?.error?.code, .insufficientFunds, "\(String(describing: big.value))")
        XCTAssertEqual(try w.scrip("fund"), 50)
        XCTAssertEqual(try w.scrip("beta"), betaBefore)
        XCTAssertEqual(try w.totalScrip(), total)
        w.assertInvariants()
    }

    /// A gift under a custom contract asks two questions (transfer; delete as the
    /// recipient), each once. The recipient is asked about as if it owned the artifact, so
    /// that answer (cached: the contract has a TTL) must never stand for the artifact as it
    /// is: when the gift fails (the recipient's disk is full), the recipient, who does not
    /// own it, still may not delete it.
    func testARecipientsAnswerNeverStandsForTheArtifactAsItIs() throws {
        let w = try world()
        try XCTUnwrapOK(w.write("alpha", "owners_only", ["kind": "contract", "code": "requesters=owner;actions=*", "content": "{\"cache_ttl_seconds\": 60}",
                                                         "interface": ["tools": [["name": "check_permission", "description": "decides"]]]]))
        try XCTUnwrapOK(w.write("alpha", "gift", ["contract": "owners_only", "content": .string(String(repeating: "g", count: 2000))]))
        let beta = try XCTUnwrap(w.principal("beta"))
        try XCTUnwrapOK(w.invoke("beta", "genesis_rights_registry", "transfer_quota", ["gamma", "disk", .int(beta.diskQuota - beta.diskUsed)]))
        let asked = w.executor.count(.contract)
        w.assertFailsPayingOnlyItsContracts(.quotaExceeded) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["gift", "beta"]) }
        let questions = w.executor.requests.dropFirst(asked).filter { $0.kind == .contract }
            .map { "\($0.args[1].stringValue ?? "")/\($0.args[2].stringValue ?? "")" }
        XCTAssertEqual(questions, ["transfer/alpha", "delete/beta"])
        XCTAssertEqual(try w.artifact("gift")?.ownerID, "alpha")
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.act("beta", "delete", ["artifact_id": "gift"]) }
        XCTAssertEqual(try w.artifact("gift")?.isDeleted, false)
        w.assertInvariants()
    }

    /// The rule is enforced: a child about to run while this thread holds the writer is
    /// refused as INTERNAL and never started.
    func testNoChildRunsInsideAWriteTransaction() throws {
        let w = try TestWorld()
        let request = ExecutionRequest(kind: .contract, artifactID: "c", code: "requesters=*;actions=*", method: "check_permission",
                                       args: ["x", "read", "beta", ["owner_id": "alpha"], [:]], caller: "c", depth: 0,
                                       timeoutSeconds: 1, memoryLimitBytes: 1 << 26, maxOutputBytes: 4096)
        let refuse: KernelCallHandler = { _, _ in .failure(KernelError(.accessDenied, "no")) }
        XCTAssertFalse(WriterThread.holdsWriter)
        let started = w.executor.requests.count
        for open in [{ (body: () -> Void) in try w.database.writeTransaction { _ in body() } },
                     { (body: () -> Void) in try w.database.write { _ in body() } }] {
            var thrown: KernelError?
            try open {
                XCTAssertTrue(WriterThread.holdsWriter)
                do { _ = try w.kernel.runChild(request, kernelCalls: refuse) } catch { thrown = error as? KernelError }
            }
            XCTAssertEqual(thrown?.code, .internal)
            XCTAssertFalse(WriterThread.holdsWriter, "the mark ends with the transaction")
        }
        XCTAssertEqual(w.executor.requests.count, started, "nothing ran")
        // A transaction that throws leaves no mark either.
        XCTAssertThrowsError(try w.database.writeTransaction { _ in throw KernelError(.internal, "rolled back") })
        XCTAssertFalse(WriterThread.holdsWriter)
        // Outside, it runs.
        if case .failure(let e) = try w.kernel.runChild(request, kernelCalls: refuse).result { XCTFail("\(e)") }
        XCTAssertEqual(w.executor.requests.count, started + 1)
    }
}

/// A value shared with a background thread.
final class Locked<T>: @unchecked Sendable {
    // @unchecked: `stored` is only touched with `lock` held.
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ value: T) { lock.lock(); stored = value; lock.unlock() }
}
