import EcologyCore
import Foundation
import GRDB

extension Kernel {
    /// Invokes a tool: a genesis service natively, or user code in a fresh sandboxed child.
    /// Costs follow standing: the payer is charged the measured CPU, also for failures,
    /// and pays the tool's price to its owner when the call succeeds.
    public func invoke(_ artifactID: String, method: String, args: [JSONValue], context: CallContext) -> Envelope {
        do {
            try Self.requireNotSystem(context)
            if context.depth >= config.limits.maxInvokeDepth {
                throw KernelError.invalid("invoke depth limit \(config.limits.maxInvokeDepth) reached")
            }
            let id = try ArtifactID.validate(artifactID)
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
        // Phase 1: checks, in a read transaction.
        var callArgs = args
        let artifact: Artifact = try readOnly { db in
            let a = try liveArtifact(db, id)
            guard a.canExecute, let code = a.code, !code.isEmpty else {
                throw KernelError.invalid("\(id) is not executable")
            }
            if a.price > 0 && context.caller != context.payer {
                // Confused deputy: tool code runs as the tool and must not spend its invoker's scrip.
                throw KernelError.denied("\(id) has a price of \(a.price) scrip; tool code cannot spend its invoker's scrip (only a principal's own invokes pay prices)")
            }
            if let payer = try Principal.load(db, context.payer) {
                try requireNotFrozen(payer, now: clock.nowMicros())
                if payer.scrip < a.price {
                    throw KernelError(.insufficientFunds, "\(id) costs \(a.price) scrip per call; \(context.payer) has \(payer.scrip)")
                }
            }
            // Permission before any detail of the interface is revealed.
            try authorize(db, .invoke, on: a, requester: context.caller)
            guard let tool = a.tool(method) else {
                let names = a.interface?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                throw KernelError.invalid("\(id) has no tool '\(method.prefix(64))'; tools: \(names.joined(separator: ", "))")
            }
            if let schema = tool["inputSchema"] {
                let named = try JSONSchema.namedArguments(args, schema: schema)
                try JSONSchema.validate(.object(named), against: schema)
                // A schema that names its parameters fixes their positions; without names, args pass as given.
                if !JSONSchema.parameterOrder(of: schema).isEmpty {
                    callArgs = try JSONSchema.positionalArguments(named, schema: schema)
                }
            }
            return a
        }

        // Phase 2: run the code outside any transaction. Its kernel calls act as the
        // tool itself (never as its invoker), and its costs go to the nearest principal.
        let inner = CallContext(caller: id, payer: artifact.hasStanding ? id : context.payer, depth: context.depth + 1)
        let request = ExecutionRequest(
            kind: .artifact, artifactID: id, code: artifact.code ?? "", method: method, args: callArgs,
            caller: context.caller, depth: context.depth + 1, timeoutSeconds: config.limits.invokeTimeoutSeconds,
            memoryLimitBytes: config.resources.memoryLimitBytes, maxOutputBytes: config.limits.maxOutputBytes)
        let outcome = executor.execute(request) { [self] action, params in
            handle(action: action, params: params, context: inner)
        }

        // Phase 3: charge what was consumed, pay the price on success, record the event.
        var result = outcome.result
        try database.writeTransaction { db in
            try chargeCompute(db, payer: context.payer, cpuMicros: outcome.cpuMicros)
            var paid: Int64 = 0
            // Ownership may have changed while the code ran (an escrow sale): pay whoever owns it now.
            let recipient = try payee(db, of: try Artifact.load(db, id) ?? artifact)
            if case .success = result, artifact.price > 0, recipient != context.payer {
                do {
                    try moveScrip(db, from: context.payer, to: recipient, amount: artifact.price)
                    paid = artifact.price
                } catch let e as KernelError {
                    result = .failure(e)
                }
            }
            var data: [String: JSONValue] = [
                "artifact_id": .string(id), "method": .string(method), "caller": .string(context.caller),
                "payer": .string(context.payer), "cpu_ms": .number(Double(outcome.cpuMicros) / 1000),
                "wall_ms": .number(Double(outcome.wallMicros) / 1000), "price_paid": .int(paid),
                "owner": .string(recipient), "depth": .int(Int64(context.depth)),
            ]
            if case .failure(let e) = result { data["error"] = .string(e.code.rawValue) }
            try events.append(db, "invoke", principal: context.payer, .object(data))
            if let syscall = outcome.violatedSyscall {
                try events.append(db, "sandbox_violation", principal: context.payer,
                                  ["artifact_id": .string(id), "syscall": .string(syscall)])
            }
        }
        return Envelope(result)
    }
}
