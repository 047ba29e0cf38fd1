import EcologyCore
import EcologySandbox
import Foundation
import NIOConcurrencyHelpers

/// Factory for the pieces the supervisor provides to kernels it hosts.
public enum SupervisorRuntime {
    /// The sandboxed executor for agent-written code, started on first use (so commands
    /// that never run code, like `inspect`, never start a zygote). If the host cannot run
    /// the sandbox at all, user code is refused with EXECUTION_ERROR naming the reason;
    /// genesis services still work.
    public static func makeExecutor(config: WorldConfig) -> any ArtifactExecutor {
        LazyExecutor(config: config)
    }
}

final class LazyExecutor: ArtifactExecutor, Sendable {
    private let config: WorldConfig
    /// Held while the executor starts: concurrent first callers wait for the one zygote.
    private let started = NIOLockedValueBox<(any ArtifactExecutor)?>(nil)

    init(config: WorldConfig) { self.config = config }

    private var executor: any ArtifactExecutor {
        started.withLockedValue { started in
            if let started { return started }
            let e: any ArtifactExecutor
            do { e = try SandboxedExecutor(config: config) } catch {
                e = UnavailableExecutor(reason: "the sandbox could not start on this host: \(error)")
            }
            started = e
            return e
        }
    }

    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        executor.execute(request, kernelCalls: kernelCalls)
    }

    deinit { (started.withLockedValue { $0 } as? SandboxedExecutor)?.shutdown() }
}
