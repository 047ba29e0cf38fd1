import EcologyCore

// The economy's rules as pure functions over plain values (no database, no process):
// price and who pays, the compute hold, the freeze, the disk quota. The kernel (and the
// supervisor, for the freeze) reads what they need, calls them, and writes what they
// decide; `EconomyRulesTests` tests them like `TokenBucket`.

/// Who pays, and what an invoke's price asks of its payer (docs/KERNEL.md, "Costs follow standing").
enum PaymentRules {
    /// The context tool code runs in: as the tool itself (never as its invoker, the
    /// confused deputy), paid for by the tool when it has standing, else by whoever pays
    /// for its invoker (the nearest principal up the call chain), one level deeper, on
    /// the same deadline.
    static func toolContext(tool: String, hasStanding: Bool, invokedBy outer: CallContext) -> CallContext {
        CallContext(caller: tool, payer: hasStanding ? tool : outer.payer, depth: outer.depth + 1, deadlineMicros: outer.deadlineMicros)
    }

    /// Why tool code may not invoke a tool with `price`, or nil: tool code cannot spend
    /// its invoker's scrip (a price is paid only by a principal's own invoke, `caller == payer`).
    static func deputyRefusal(tool: String, price: Int64, caller: String, payer: String) -> KernelError? {
        guard price > 0, caller != payer else { return nil }
        return KernelError.denied("\(tool) has a price of \(price) scrip; tool code cannot spend its invoker's scrip (only a principal's own invokes pay prices)")
    }

    /// Why a payer holding `scrip` may not start an invoke of a tool with `price`, or nil:
    /// it must hold the price before anything runs.
    static func fundsRefusal(tool: String, price: Int64, payer: String, scrip: Int64) -> KernelError? {
        guard scrip < price else { return nil }
        return KernelError(.insufficientFunds, "\(tool) costs \(price) scrip per call; \(payer) has \(scrip)")
    }

    /// The price moved after the run: all of it when the call succeeded and the payee (the
    /// owner, or the seller while it is listed) is not the payer itself, else nothing.
    static func priceDue(price: Int64, succeeded: Bool, payee: String, payer: String) -> Int64 {
        succeeded && price > 0 && payee != payer ? price : 0
    }
}

/// The compute held for one execution (`Kernel.reserveCompute`, docs/KERNEL.md "No work runs unpaid").
enum ComputeHoldRule {
    struct Hold: Equatable {
        /// Scaled units held (`TokenBucket.scale` per CPU-ms).
        let scaledUnits: Int64
        /// The child's CPU limit, whole seconds (RLIMIT_CPU).
        let cpuLimitSeconds: Int
    }

    /// The hold for an execution whose payer has `balanceScaled` of compute of which
    /// running executions hold `heldScaled`, with a CPU ceiling of `ceilingSeconds` that may
    /// run `wallSeconds`; nil when nothing is available (balance minus holds ≤ 0, or an
    /// overflow). The CPU limit is the available compute rounded up to whole seconds, at
    /// least 1 and at most the ceiling; the hold is the most CPU the child can burn (that
    /// limit, or less when the wall time is shorter: its cgroup quota is one core), at
    /// most what is available.
    static func hold(balanceScaled: Int64, heldScaled: Int64, ceilingSeconds: Int, wallSeconds: Double) -> Hold? {
        let (available, overflow) = balanceScaled.subtractingReportingOverflow(heldScaled)
        guard !overflow, available > 0 else { return nil }
        let perSecond = 1000 * TokenBucket.scale
        // Whole seconds that `available` covers, rounded up (available > 0, no overflow: it is below Int64.max).
        let seconds = available / perSecond + (available % perSecond == 0 ? 0 : 1)
        let cpu = Int(max(1, min(Int64(max(1, ceilingSeconds)), seconds)))
        let burnable = Int64(min(cpu, ExecutionRequest.wholeSeconds(wallSeconds)))
        return Hold(scaledUnits: min(burnable * perSecond, available), cpuLimitSeconds: cpu)
    }
}

/// The freeze: a principal whose compute is in debt is frozen, and thawed once it has
/// recovered. Public: the supervisor applies `transition` to its agents' children.
public enum FreezeRule {
    /// What to do with an agent's child after a supervision window has been charged.
    public enum Transition: Equatable, Sendable { case freeze, thawToRunning, thawToSleeping }

    /// `inDebt`: its bucket after the charge; `childFrozen`: the child is stopped now;
    /// `sleeping`: it waits on a sleep condition (a thawed child goes back to waiting).
    public static func transition(inDebt: Bool, childFrozen: Bool, sleeping: Bool) -> Transition? {
        if inDebt && !childFrozen { return .freeze }
        if !inDebt && childFrozen { return sleeping ? .thawToSleeping : .thawToRunning }
        return nil
    }

    /// The event to record when the recorded state no longer matches the bucket
    /// (`agent_frozen` / `agent_unfrozen`), or nil when it still does.
    public static func eventToRecord(inDebt: Bool, recordedFrozen: Bool) -> String? {
        inDebt == recordedFrozen ? nil : (inDebt ? "agent_frozen" : "agent_unfrozen")
    }
}

/// The disk quota (`Kernel.adjustDisk`).
enum DiskQuotaRule {
    /// `used` after a change of `delta` bytes: growth beyond `quota` (or past Int64) is
    /// QUOTA_EXCEEDED; freeing never goes below zero.
    static func usedAfter(used: Int64, quota: Int64, delta: Int64, principal: String) -> Result<Int64, KernelError> {
        let (after, overflow) = used.addingReportingOverflow(delta)
        if delta > 0 && (overflow || after > quota) {
            return .failure(KernelError(.quotaExceeded, "\(principal) would use \(overflow ? "more than" : "\(after) of") \(quota) disk bytes",
                                        details: ["disk_used": .int(used), "disk_quota": .int(quota), "needed": .int(delta)]))
        }
        return .success(max(0, after))
    }
}
