import EcologyCore
import Foundation
import GRDB

extension Kernel {
    /// Invokes a tool: a genesis service natively, or user code in a fresh sandboxed child.
    /// Costs follow standing: the payer is charged the measured CPU, also for failures,
    /// and pays the tool's price to its owner when the call succeeds.
    /// Every invoke runs within its call chain's deadline (`CallContext.deadlineMicros`,
    /// started here for a top-level call): one whose chain has no time left is TIMEOUT.
    public func invoke(_ artifactID: String, method: String, args: [JSONValue], context: CallContext) -> Envelope {
        let context = context.startingChain(now: clock.nowMicros(), seconds: config.limits.invokeTimeoutSeconds)
        defer { settleDeferredCharges() }
        do {
            try Self.requireNotSystem(context)
            if context.depth >= config.limits.maxInvokeDepth {
                throw KernelError.invalid("invoke depth limit \(config.limits.maxInvokeDepth) reached")
            }
            let id = try ArtifactID.validate(artifactID)
            if context.remainingSeconds(now: clock.nowMicros(), limit: 1) <= 0 { throw Self.chainTimeout("invoke of \(id)") }
            if let service = services[id] { return .ok(try invokeGenesis(service, method: method, args: args, context: context)) }
            return try invokeUserCode(id, method: method, args: args, context: context)
        } catch {
            return .failure(Self.internalError(error))
        }
    }

    func invokeGenesis(_ service: any GenesisService, method: String, args: [JSONValue], context: CallContext) throws -> JSONValue {
        guard let tool = service.tools.first(where: { $0.name == method }) else {
            throw KernelError.invalid("\(type(of: service).id) has no method '\(method.prefix(64))'; methods: \(service.tools.map(\.name).joined(separator: ", "))")
        }
        let named = try JSONSchema.namedArguments(args, schema: tool.inputSchema)
        try JSONSchema.validate(.object(named), against: tool.inputSchema)
        return try service.call(method, Args(named, maxAmount: config.limits.maxAmount), context, self)
    }

    func invokeUserCode(_ id: String, method: String, args: [JSONValue], context: CallContext) throws -> Envelope {
        // Phase 1: checks, in a read transaction; the tool's contract, if a custom one, is
        // asked with none open (`deciding`).
        let (artifact, callArgs): (Artifact, [JSONValue]) = try deciding { decisions in try readOnly { db in
            let a = try liveArtifact(db, id)
            guard a.canExecute, let code = a.code, !code.isEmpty else {
                throw KernelError.invalid("\(id) is not executable")
            }
            // Confused deputy: tool code runs as the tool and must not spend its invoker's scrip.
            if let refusal = PaymentRules.deputyRefusal(tool: id, price: a.price, caller: context.caller, payer: context.payer) { throw refusal }
            // No work runs unpaid: the payer must be a principal (checked before any contract runs on its behalf).
            guard let payer = try Principal.load(db, context.payer) else {
                throw KernelError.denied("\(context.payer) is not a principal: nobody would pay for running \(id) (only artifacts with standing pay for compute)")
            }
            try requireNotFrozen(payer, now: clock.nowMicros())
            if let refusal = PaymentRules.fundsRefusal(tool: id, price: a.price, payer: context.payer, scrip: payer.scrip) { throw refusal }
            // Permission before any detail of the interface is revealed.
            try authorize(db, .invoke, on: a, by: context, decisions: decisions)
            guard let tool = a.tool(method) else {
                let names = a.interface?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                throw KernelError.invalid("\(id) has no tool '\(method.prefix(64))'; tools: \(names.joined(separator: ", "))")
            }
            var callArgs = args
            if let schema = tool["inputSchema"] {
                let named = try JSONSchema.namedArguments(args, schema: schema)
                try JSONSchema.validate(.object(named), against: schema)
                // A schema that names its parameters fixes their positions; without names, args pass as given.
                if !JSONSchema.parameterOrder(of: schema).isEmpty {
                    callArgs = try JSONSchema.positionalArguments(named, schema: schema)
                }
            }
            return (a, callArgs)
        } }

        // A contract asked in phase 1 is charged now, so its hold does not shrink the tool's.
        settleDeferredCharges()

        // Phase 2: hold the payer's compute for the child (refused if it cannot pay), then
        // run the code outside any transaction, within what remains of the chain's deadline.
        // Its kernel calls act as the tool itself (never as its invoker), its costs go to
        // the nearest principal, and they share this chain's deadline.
        let timeout = context.remainingSeconds(now: clock.nowMicros(), limit: config.limits.invokeTimeoutSeconds)
        if timeout <= 0 { throw Self.chainTimeout("invoke of \(id)") }
        let reservation = try readOnly { db in
            try reserveCompute(db, payer: context.payer, ceilingSeconds: config.limits.executionCPUSeconds,
                               wallSeconds: timeout, what: id)
        }
        let inner = PaymentRules.toolContext(tool: id, hasStanding: artifact.hasStanding, invokedBy: context)
        let request = ExecutionRequest(
            kind: .artifact, artifactID: id, code: artifact.code ?? "", method: method, args: callArgs,
            caller: context.caller, depth: context.depth + 1, timeoutSeconds: timeout,
            memoryLimitBytes: config.resources.memoryLimitBytes, maxOutputBytes: config.limits.maxOutputBytes,
            deadlineMicros: context.deadlineMicros, cpuLimitSeconds: reservation.cpuLimitSeconds)
        let outcome: ExecutionOutcome
        do {
            outcome = try runChild(request) { [self] action, params in
                handle(action: action, params: params, context: inner)
            }
        } catch {
            releaseCompute(reservation)
            throw error
        }

        // Phase 3: charge what was consumed, pay the price on success, record the event.
        // The hold ends once the charge is committed; if the commit fails, the charge waits
        // for the next settlement (`settleDeferredCharges`) and keeps the hold until then.
        var result = outcome.result
        var charged = false
        defer {
            if charged { releaseCompute(reservation) } else { computeReservations.deferCharge(reservation, cpuMicros: outcome.cpuMicros) }
        }
        try database.writeTransaction { db in
            try chargeCompute(db, payer: context.payer, cpuMicros: outcome.cpuMicros)
            var paid: Int64 = 0
            // Ownership may have changed while the code ran (an escrow sale): pay whoever owns it now.
            let recipient = try payee(db, of: try Artifact.load(db, id) ?? artifact)
            var succeeded = false
            if case .success = result { succeeded = true }
            let due = PaymentRules.priceDue(price: artifact.price, succeeded: succeeded, payee: recipient, payer: context.payer)
            if due > 0 {
                do {
                    try moveScrip(db, from: context.payer, to: recipient, amount: due)
                    paid = due
                } catch let e as KernelError {
                    result = .failure(e)
                }
            }
            var data: [String: JSONValue] = [
                "artifact_id": .string(id), "method": .string(method), "caller": .string(context.caller),
                "payer": .string(context.payer), "cpu_ms": .number(Double(outcome.cpuMicros) / 1000),
                "wall_ms": .number(Double(outcome.wallMicros) / 1000), "price_paid": .int(paid),
                "owner": .string(recipient), "depth": .int(Int64(context.depth)),
                "cpu_limit_seconds": .int(Int64(reservation.cpuLimitSeconds)),
            ]
            if case .failure(let e) = result { data["error"] = .string(e.code.rawValue) }
            try events.append(db, "invoke", principal: context.payer, .object(data))
            if let syscall = outcome.violatedSyscall {
                try events.append(db, "sandbox_violation", principal: context.payer,
                                  ["artifact_id": .string(id), "syscall": .string(syscall)])
            }
        }
        charged = true
        return Envelope(result)
    }

    /// The refusal of work that would start after its call chain's deadline.
    static func chainTimeout(_ what: String) -> KernelError {
        KernelError(.timeout, "the call chain's wall-clock deadline has passed; \(what) was not started",
                    details: ["limit": "wall", "seconds": .number(0)])
    }
}
