import EcologyCore
import EcologySandbox

/// Factory for the pieces the supervisor provides to kernels it hosts.
public enum SupervisorRuntime {
    /// The sandboxed executor for agent-written code. If the host cannot run the
    /// sandbox at all (no python3, no sandbox/ directory), user code is refused with a
    /// clear EXECUTION_ERROR naming the reason; genesis services still work.
    public static func makeExecutor(config: WorldConfig) -> any ArtifactExecutor {
        do {
            return try SandboxedExecutor(config: config)
        } catch {
            return UnavailableExecutor(reason: "the sandbox could not start on this host: \(error)")
        }
    }
}
