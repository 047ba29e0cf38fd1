import EcologyCore
@testable import EcologyKernel
import XCTest

/// The access rules (`AccessRules.swift`) on plain values.
final class AccessRulesTests: XCTestCase {
    func testGenesisContracts() {
        for action in AccessAction.allCases {
            XCTAssertTrue(GenesisContract.public.decide(action, artifactID: "a", owner: "o", requester: "x").0)
            XCTAssertTrue(GenesisContract.private.decide(action, artifactID: "a", owner: "o", requester: "o").0)
            XCTAssertFalse(GenesisContract.private.decide(action, artifactID: "a", owner: "o", requester: "a").0)
            XCTAssertTrue(GenesisContract.selfOwned.decide(action, artifactID: "a", owner: "o", requester: "a").0)
            XCTAssertFalse(GenesisContract.selfOwned.decide(action, artifactID: "a", owner: "o", requester: "x").0)
            XCTAssertEqual(GenesisContract.freeware.decide(action, artifactID: "a", owner: "o", requester: "x").0, action == .read || action == .invoke)
            XCTAssertTrue(GenesisContract.freeware.decide(action, artifactID: "a", owner: "o", requester: "o").0)
        }
    }

    func testAMissingContractFailsOpenOnlyForReadsAndInvokes() {
        for action in AccessAction.allCases {
            let d = ContractRules.missingContract("gone", action)
            XCTAssertEqual(d.allowed, action == .read || action == .invoke, action.rawValue)
            XCTAssertTrue(d.reason.contains("missing or deleted"))
        }
    }

    func testAnswersFailClosed() {
        XCTAssertEqual(ContractRules.answer(of: .success(["allowed": true, "reason": "ok"]), contractID: "c"), ContractDecision(allowed: true, reason: "ok"))
        XCTAssertEqual(ContractRules.answer(of: .success(["allowed": false]), contractID: "c"), ContractDecision(allowed: false, reason: "denied"))
        for bad: Result<JSONValue, KernelError> in [.success("yes"), .success(["allowed": "true"]), .failure(KernelError(.timeout, "slow"))] {
            let d = ContractRules.answer(of: bad, contractID: "c")
            XCTAssertFalse(d.allowed)
            XCTAssertTrue(d.reason.contains("failing closed"), d.reason)
        }
    }

    func testCacheExpiry() {
        let ok: Result<JSONValue, KernelError> = .success(["allowed": true])
        XCTAssertEqual(ContractRules.cacheExpiry(contractContent: "{\"cache_ttl_seconds\": 2}", ran: ok, now: 10), 2_000_010)
        XCTAssertNil(ContractRules.cacheExpiry(contractContent: "{\"cache_ttl_seconds\": 0}", ran: ok, now: 10))
        XCTAssertNil(ContractRules.cacheExpiry(contractContent: "not json", ran: ok, now: 10))
        XCTAssertNil(ContractRules.cacheExpiry(contractContent: "{\"cache_ttl_seconds\": 60}", ran: .success("garbage"), now: 10), "a failed run is not cached")
        XCTAssertNil(ContractRules.cacheExpiry(contractContent: "{\"cache_ttl_seconds\": 60}", ran: .failure(KernelError(.timeout, "t")), now: 10))
        XCTAssertEqual(ContractRules.cacheExpiry(contractContent: "{\"cache_ttl_seconds\": 1e300}", ran: ok, now: 10), Int64.max, "saturates, never traps")
    }
}

/// The economy's rules (`EconomyRules.swift`) on plain values.
final class EconomyRulesTests: XCTestCase {
    func testToolCodeActsAsTheToolAndIsPaidForUpTheChain() {
        let outer = CallContext(caller: "alpha", payer: "alpha", depth: 0, deadlineMicros: 5)
        XCTAssertEqual(PaymentRules.toolContext(tool: "t", hasStanding: false, invokedBy: outer),
                       CallContext(caller: "t", payer: "alpha", depth: 1, deadlineMicros: 5))
        XCTAssertEqual(PaymentRules.toolContext(tool: "t", hasStanding: true, invokedBy: outer),
                       CallContext(caller: "t", payer: "t", depth: 1, deadlineMicros: 5))
        // Two levels without standing: the nearest principal still pays.
        let inner = PaymentRules.toolContext(tool: "t", hasStanding: false, invokedBy: outer)
        XCTAssertEqual(PaymentRules.toolContext(tool: "u", hasStanding: false, invokedBy: inner).payer, "alpha")
    }

    func testPrices() {
        XCTAssertNil(PaymentRules.deputyRefusal(tool: "t", price: 0, caller: "tool", payer: "alpha"), "free tools ask nothing")
        XCTAssertNil(PaymentRules.deputyRefusal(tool: "t", price: 5, caller: "alpha", payer: "alpha"))
        XCTAssertEqual(PaymentRules.deputyRefusal(tool: "t", price: 5, caller: "tool", payer: "alpha")?.code, .accessDenied,
                       "tool code cannot spend its invoker's scrip")
        XCTAssertNil(PaymentRules.fundsRefusal(tool: "t", price: 5, payer: "alpha", scrip: 5))
        XCTAssertNil(PaymentRules.fundsRefusal(tool: "t", price: 0, payer: "alpha", scrip: 0))
        XCTAssertEqual(PaymentRules.fundsRefusal(tool: "t", price: 5, payer: "alpha", scrip: 4)?.code, .insufficientFunds)
        XCTAssertEqual(PaymentRules.priceDue(price: 5, succeeded: true, payee: "owner", payer: "alpha"), 5)
        XCTAssertEqual(PaymentRules.priceDue(price: 5, succeeded: false, payee: "owner", payer: "alpha"), 0)
        XCTAssertEqual(PaymentRules.priceDue(price: 5, succeeded: true, payee: "alpha", payer: "alpha"), 0, "an owner does not pay itself")
    }

    func testComputeHolds() {
        let second = 1000 * TokenBucket.scale
        XCTAssertNil(ComputeHoldRule.hold(balanceScaled: 0, heldScaled: 0, ceilingSeconds: 5, wallSeconds: 5))
        XCTAssertNil(ComputeHoldRule.hold(balanceScaled: second, heldScaled: second, ceilingSeconds: 5, wallSeconds: 5), "held compute is not available")
        XCTAssertNil(ComputeHoldRule.hold(balanceScaled: Int64.min, heldScaled: 1, ceilingSeconds: 5, wallSeconds: 5), "an overflow is refused")
        // 2.5 s available: a 3 s limit, holding all 2.5 s.
        XCTAssertEqual(ComputeHoldRule.hold(balanceScaled: second * 5 / 2, heldScaled: 0, ceilingSeconds: 5, wallSeconds: 5),
                       .init(scaledUnits: second * 5 / 2, cpuLimitSeconds: 3))
        // Plenty available: the ceiling is the limit; a short wall time holds less.
        XCTAssertEqual(ComputeHoldRule.hold(balanceScaled: second * 100, heldScaled: 0, ceilingSeconds: 5, wallSeconds: 5),
                       .init(scaledUnits: second * 5, cpuLimitSeconds: 5))
        XCTAssertEqual(ComputeHoldRule.hold(balanceScaled: second * 100, heldScaled: 0, ceilingSeconds: 5, wallSeconds: 0.3),
                       .init(scaledUnits: second, cpuLimitSeconds: 5))
        // A tiny balance still gets a 1 s limit (the debt allowance), holding only what is there.
        XCTAssertEqual(ComputeHoldRule.hold(balanceScaled: 1, heldScaled: 0, ceilingSeconds: 5, wallSeconds: 5), .init(scaledUnits: 1, cpuLimitSeconds: 1))
        XCTAssertEqual(ComputeHoldRule.hold(balanceScaled: second * 100, heldScaled: 0, ceilingSeconds: 0, wallSeconds: 5)?.cpuLimitSeconds, 1)
    }

    func testFreeze() {
        XCTAssertEqual(FreezeRule.transition(inDebt: true, childFrozen: false, sleeping: false), .freeze)
        XCTAssertEqual(FreezeRule.transition(inDebt: true, childFrozen: false, sleeping: true), .freeze)
        XCTAssertNil(FreezeRule.transition(inDebt: true, childFrozen: true, sleeping: false))
        XCTAssertEqual(FreezeRule.transition(inDebt: false, childFrozen: true, sleeping: false), .thawToRunning)
        XCTAssertEqual(FreezeRule.transition(inDebt: false, childFrozen: true, sleeping: true), .thawToSleeping)
        XCTAssertNil(FreezeRule.transition(inDebt: false, childFrozen: false, sleeping: true))
        XCTAssertEqual(FreezeRule.eventToRecord(inDebt: true, recordedFrozen: false), "agent_frozen")
        XCTAssertEqual(FreezeRule.eventToRecord(inDebt: false, recordedFrozen: true), "agent_unfrozen")
        XCTAssertNil(FreezeRule.eventToRecord(inDebt: true, recordedFrozen: true))
        XCTAssertNil(FreezeRule.eventToRecord(inDebt: false, recordedFrozen: false))
    }

    func testDiskQuota() {
        XCTAssertEqual(try DiskQuotaRule.usedAfter(used: 10, quota: 100, delta: 90, principal: "p").get(), 100)
        XCTAssertEqual(try DiskQuotaRule.usedAfter(used: 10, quota: 100, delta: -30, principal: "p").get(), 0, "never below zero")
        XCTAssertEqual(try DiskQuotaRule.usedAfter(used: 500, quota: 100, delta: -30, principal: "p").get(), 470, "freeing is always allowed")
        for (used, delta) in [(Int64(10), Int64(91)), (1, Int64.max)] {
            guard case .failure(let e) = DiskQuotaRule.usedAfter(used: used, quota: 100, delta: delta, principal: "p") else {
                XCTFail("\(used) + \(delta) fits a quota of 100"); continue
            }
            XCTAssertEqual(e.code, .quotaExceeded)
        }
    }
}
