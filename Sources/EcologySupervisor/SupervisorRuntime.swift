import EcologyCore

/// Factory for the pieces the supervisor provides to kernels it hosts.
public enum SupervisorRuntime {
    /// The executor for agent-written code. Until the sandbox is wired in, user code
    /// is refused with a clear EXECUTION_ERROR.
    public static func makeExecutor(config: WorldConfig) -> any ArtifactExecutor {
        UnavailableExecutor(reason: "running user code needs the sandbox executor, which is not wired into this build yet")
    }
}
