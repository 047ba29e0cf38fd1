import ArgumentParser
import EcologyHost

/// `ecology`: the command line of SPEC section 8. Operators and checks script against it.
@main
struct Ecology: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecology",
        abstract: "A hardened supervisor for an economy of sandboxed LLM agents.",
        version: EcologyVersion.current,
        subcommands: [InitCommand.self, RunCommand.self, InvokeCommand.self, ArtifactCommand.self, InspectCommand.self, AgentCommand.self, InjectCommand.self,
                      BenchCommand.self, DoctorCommand.self, SandboxCommand.self, ExportCommand.self, DashboardCommand.self])

    /// Before anything starts a thread: the allocator's settings for a long run (`HeapPolicy`).
    static func main() {
        HeapPolicy.limitArenas()
        main(nil)
    }
}
