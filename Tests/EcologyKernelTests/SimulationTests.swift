import EcologyCore
@testable import EcologyKernel
import Foundation
import GRDB
import XCTest

/// Deterministic simulation in the TigerBeetle/FoundationDB manner: a seeded stream of
/// random actions (valid and invalid) from a dozen principals on a virtual clock, with
/// the ledger invariants checked after every step. A failure names the seed and the
/// step; replay it with ECOLOGY_SIM_SEED=<seed> (and ECOLOGY_SIM_STEPS=<n>).
final class SimulationTests: XCTestCase {
    func testSeededRandomScenarios() throws {
        let env = ProcessInfo.processInfo.environment
        let seeds: [UInt64] = env["ECOLOGY_SIM_SEED"].flatMap { UInt64($0) }.map { [$0] } ?? [1, 0xEC0_1061, 20_260_101]
        let steps = env["ECOLOGY_SIM_STEPS"].flatMap { Int($0) } ?? 1_000
        for seed in seeds {
            var sim = try Simulation(seed: seed)
            if !sim.run(steps: steps) { return }
        }
    }

    func testSameSeedReplaysExactly() throws {
        var a = try Simulation(seed: 77), b = try Simulation(seed: 77)
        XCTAssertTrue(a.run(steps: 150))
        XCTAssertTrue(b.run(steps: 150))
        XCTAssertEqual(a.trace, b.trace)
        XCTAssertEqual(try a.w.snapshot(), try b.w.snapshot())
    }
}

struct Simulation {
    var rng: SplitMix64
    let seed: UInt64
    let w: TestWorld
    var principals: [String]
    let names = (0..<24).map { "art-\($0)" }
    var debts: [String] = []
    var listings: [Int64] = []
    var spawned = 0
    /// One line per step: the action and the outcome's code.
    var trace: [String] = []
    var outcomes: [String: Int] = [:]

    static let agentIDs = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]

    init(seed: UInt64) throws {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        var c = WorldConfig()
        c.mint.periodSeconds = 30
        c.mint.slots = 2
        c.mint.mintRatio = 3
        c.mint.ubiFloor = 1
        c.mint.minimumBid = 2
        c.resources.diskQuotaBytes = 3_000
        c.world.tombstoneRetentionSeconds = 120
        c.world.permissionCacheEntries = 16
        c.agents = Self.agentIDs.enumerated().map { AgentSpec(id: $1, scrip: 60 + Int64($0) * 10) }
        w = try TestWorld(config: c, scorer: BuiltinMintScorer())
        principals = Self.agentIDs
        // Two spawned accounts: one anyone may drain, one only its owner controls.
        for (owner, id, contract) in [("alpha", "acct-public", "genesis_public"), ("beta", "acct-private", "genesis_private")] {
            let env = w.invoke(owner, "genesis_store", "create", [["id": .string(id), "standing": true, "contract": .string(contract)]])
            precondition(env.isOK, "\(env)")
            precondition(w.invoke(owner, "genesis_ledger", "transfer", [.string(id), 30]).isOK)
            // Spawned principals start with no compute and no refill; give them some so they can act.
            precondition(w.invoke(owner, "genesis_rights_registry", "transfer_quota", [.string(id), "compute", 500]).isOK)
            precondition(w.invoke(owner, "genesis_rights_registry", "transfer_quota", [.string(id), "compute_rate", 10]).isOK)
            principals.append(id)
        }
    }

    mutating func int(_ r: ClosedRange<Int64>) -> Int64 { Int64.random(in: r, using: &rng) }
    mutating func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    /// Usually the artifact's owner (when it is one of our principals), otherwise `fallback`:
    /// owner-only actions by random principals would almost always be denied.
    mutating func actor(for id: String, else fallback: String) -> String {
        guard chance(0.7), let owner = try? w.artifact(id)?.ownerID, principals.contains(owner) else { return fallback }
        return owner
    }

    /// Runs `steps` steps; returns false (after recording an XCTest failure) on the first violation.
    mutating func run(steps: Int) -> Bool {
        var before = try? w.fingerprint()
        for i in 0..<steps {
            let (what, env, mustBeClean) = step()
            let outcome = env.map { $0.error?.code.rawValue ?? "OK" } ?? "-"
            trace.append("\(what) -> \(outcome)")
            outcomes[outcome, default: 0] += 1
            if let e = env?.error, e.code == .internal {
                XCTFail("seed \(seed) step \(i): \(what) failed with INTERNAL: \(e.message)")
                return false
            }
            // Nothing changes between steps, so this step's "after" is the next step's "before".
            let after = try? w.fingerprint()
            if mustBeClean, env?.error != nil, before != after {
                XCTFail("seed \(seed) step \(i): \(what) failed with \(outcome) but changed the world")
                return false
            }
            before = after
            do {
                let report = try w.kernel.checkInvariants()
                if !report.ok {
                    XCTFail("seed \(seed) step \(i): after \(what) -> \(outcome): \(report.violations)\nlast steps:\n\(trace.suffix(8).joined(separator: "\n"))")
                    return false
                }
            } catch {
                XCTFail("seed \(seed) step \(i): checkInvariants threw \(error)")
                return false
            }
        }
        print("simulation seed \(seed): \(steps) steps, outcomes \(outcomes.sorted { $0.key < $1.key })")
        // The run must have exercised both successes and failures of many kinds.
        XCTAssertGreaterThan(outcomes["OK"] ?? 0, steps / 5, "seed \(seed): \(outcomes)")
        for code in ["INSUFFICIENT_FUNDS", "ACCESS_DENIED", "INVALID_ARGS", "NOT_FOUND"] {
            XCTAssertGreaterThan(outcomes[code] ?? 0, 0, "seed \(seed) never produced \(code): \(outcomes)")
        }
        return true
    }

    /// Performs one random action. Returns its description, its envelope (nil for direct
    /// kernel calls), and whether a failure must leave the world unchanged.
    mutating func step() -> (String, Envelope?, Bool) {
        let who = pick(principals)
        let roll = int(0...99)
        switch roll {
        case 0..<16:
            let to: String = chance(0.12) ? pick(["nobody", "genesis_mint", "genesis_escrow", "art-1", who, String(repeating: "x", count: 129)]) : pick(principals)
            let amount: JSONValue = chance(0.1) ? pick([0, -3, 1_000_000_000_001, "5", 2.5, nil]) : .int(int(1...70))
            var args: [JSONValue] = [.string(to), amount]
            if chance(0.15) { args.append(.string(pick(principals))) }
            return ("\(who) transfer \(JSONCodec.string(.array(args)))", w.invoke(who, "genesis_ledger", "transfer", args), true)
        case 16..<28:
            let id = pick(names)
            var fields: [String: JSONValue] = ["content": .string(String(repeating: "w", count: Int(int(0...350))) + " word\(int(0...9)) more words here")]
            switch int(0...6) {
            case 0, 1:
                fields["code"] = .string(pick(["echo", "cpu:3000", "fail:2000", "cpu:400000"]))
                fields["interface"] = ["tools": [["name": "run", "description": "does a thing well", "inputSchema": ["type": "object"]]]]
                fields["price"] = .int(int(0...4))
            case 2: fields["contract"] = "genesis_public"
            case 3: fields["contract"] = "genesis_private"
            case 4: fields["contract"] = "genesis_self_owned"
            default: break
            }
            return ("\(who) write \(id)", w.write(who, id, fields), true)
        case 28..<32:
            let id = pick(names)
            let who = actor(for: id, else: who)
            return ("\(who) edit \(id)", w.act(who, "edit", ["artifact_id": .string(id), "old": "w", "new": .string(pick(["", "ww", "xyz"]))]), true)
        case 32..<36:
            let id = chance(0.05) ? pick(principals) : pick(names + debts)
            let who = actor(for: id, else: who)
            return ("\(who) delete \(id)", w.act(who, "delete", ["artifact_id": .string(id)]), true)
        case 36..<42:
            let id = pick(names + debts)
            let who = actor(for: id, else: who)
            let env = w.invoke(who, "genesis_escrow", "deposit", [.string(id), .int(int(1...40))])
            if let l = env.value?["listing_id"]?.intValue { listings.append(l) }
            return ("\(who) deposit \(id)", env, true)
        case 42..<48:
            let l: Int64 = listings.isEmpty || chance(0.1) ? int(1...500) : pick(listings)
            return ("\(who) purchase \(l)", w.invoke(who, "genesis_escrow", "purchase", [.int(l)]), true)
        case 48..<51:
            let l: Int64 = listings.isEmpty ? 1 : pick(listings)
            return ("\(who) cancel \(l)", w.invoke(who, "genesis_escrow", "cancel", [.int(l)]), true)
        case 51..<58:
            if chance(0.15) { return ("\(who) withdraw bid", w.invoke(who, "genesis_mint", "withdraw"), true) }
            let id = pick(names + principals)
            return ("\(who) bid \(id)", w.invoke(who, "genesis_mint", "bid", [.string(id), .int(int(1...30))]), true)
        case 58..<64:
            let dt = int(0...12_000_000)
            w.clock.advance(micros: dt)
            var what = "advance \(dt)µs"
            do {
                if let r = try w.kernel.resolveMintIfDue() { what += ", mint round \(r["round"]?.intValue ?? -1)" }
                if chance(0.2) { what += ", purged \(try w.kernel.purgeTombstones())" }
            } catch {
                return (what, .failure(KernelError(.internal, "\(error)")), false)
            }
            return (what, nil, false)
        case 64..<69:
            let creditor = chance(0.05) ? "nobody" : pick(principals)
            let amount = int(1...40)
            let env = w.invoke(who, "genesis_debt", "issue", [.string(creditor), .int(amount), .int(amount + int(0...10)), .int(int(1...120))])
            if let id = env.value?["debt_id"]?.stringValue { debts.append(id) }
            return ("\(who) borrows \(amount) from \(creditor)", env, true)
        case 69..<73:
            guard !debts.isEmpty else { return ("noop", w.act(who, "noop", [:]), true) }
            let id = pick(debts)
            let holder = w.invoke(who, "genesis_debt", "status", [.string(id)]).value?["holder"]?.stringValue ?? who
            let actor = chance(0.8) ? holder : who
            return ("\(actor) accepts \(id)", w.invoke(actor, "genesis_debt", "accept", [.string(id)]), true)
        case 73..<77:
            guard !debts.isEmpty else { return ("noop", w.act(who, "noop", [:]), true) }
            let id = pick(debts)
            if chance(0.15) { return ("\(who) cancels \(id)", w.invoke(who, "genesis_debt", "cancel", [.string(id)]), true) }
            return ("\(who) repays \(id)", w.invoke(who, "genesis_debt", "repay", [.string(id), .int(int(1...50))]), true)
        case 77..<81:
            let id = pick(names + debts + [who])
            let who = actor(for: id, else: who)
            let to = chance(0.1) ? pick(["genesis_escrow", "nobody"]) : pick(principals)
            return ("\(who) gives \(id) to \(to)", w.invoke(who, "genesis_ledger", "transfer_ownership", [.string(id), .string(to)]), true)
        case 81..<85:
            let resource = pick(["compute", "compute", "disk", "llm_budget", "compute_rate", "compute_capacity"])
            let amount = resource == "llm_budget" ? int(1...200_000) : int(1...800)
            let to = pick(principals)
            return ("\(who) gives \(amount) \(resource) to \(to)",
                    w.invoke(who, "genesis_rights_registry", "transfer_quota", [.string(to), .string(resource), .int(amount)]), true)
        case 85..<89:
            let cpu = chance(0.05) ? int(4_000_000...12_000_000) : int(0...1_500_000)
            do {
                try w.database.write { db in try w.kernel.chargeCompute(db, payer: who, cpuMicros: cpu) }
            } catch {
                return ("charge \(who)", .failure(KernelError(.internal, "\(error)")), false)
            }
            return ("charge \(who) \(cpu) CPU-µs", nil, false)
        case 89..<95:
            let id = pick(names)
            return ("\(who) invokes \(id)", w.invoke(who, id, "run", chance(0.1) ? ["unexpected"] : []), false)
        case 95..<97:
            let to = pick(principals)
            return ("\(who) gives budget to \(to)", w.invoke(who, "genesis_ledger", "transfer_budget", [.string(to), .int(int(1...100_000))]), true)
        case 97:
            return ("\(who) reads", w.act(who, "read", ["artifact_id": .string(pick(names + ["handbook_overview"]))]), true)
        default:
            spawned += 1
            let id = "spawn-\(spawned)"
            let env = w.invoke(who, "genesis_store", "create", [["id": .string(id), "standing": true, "executable": true,
                                                                  "interface": ["tools": []], "content": "a spawned mind"]])
            guard env.isOK else { return ("\(who) spawns \(id)", env, true) }
            if principals.count < 16 { principals.append(id) }
            // The spawner funds it (part of the same step): a principal starts with nothing.
            let funded = w.invoke(who, "genesis_rights_registry", "transfer_quota", [.string(id), "compute", 300])
            return ("\(who) spawns and funds \(id)", funded.isOK ? env : funded, false)
        }
    }
}
