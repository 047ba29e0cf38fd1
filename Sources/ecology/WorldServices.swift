import EcologyCore
import EcologySupervisor

/// How the CLI obtains the pieces a kernel needs from the supervisor module.
enum WorldServices {
    static func makeExecutor(config: WorldConfig) -> any ArtifactExecutor {
        SupervisorRuntime.makeExecutor(config: config)
    }
}
