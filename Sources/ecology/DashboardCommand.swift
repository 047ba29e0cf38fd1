import ArgumentParser
import EcologyCore
import EcologyKernel
import EcologyObservatory
import EcologySupervisor
import Foundation

/// `ecology dashboard`: the observatory of a stopped world, read-only.
///
/// It refuses while an `ecology run` supervises the directory: that supervisor already
/// serves the live dashboard (with controls), and one server per world keeps the URL the
/// operator was given the only one. The check takes and at once releases the world lock,
/// so a later `ecology run` is not blocked by an open dashboard; reads are WAL snapshots,
/// which a supervisor starting meanwhile does not disturb.
struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the web dashboard and /metrics of a stopped world (read-only) until interrupted.",
        discussion: "A running world's dashboard is served by `ecology run` itself (default http://127.0.0.1:8787/).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to listen on, ADDR:PORT (an IP address or localhost).") var http: String = ObservatoryAddress.default.description

    func validate() throws {
        do { if try ObservatoryAddress.parse(http) == nil { throw ValidationError("--http off: nothing to serve") } } catch let e as ObservatoryAddressError {
            throw ValidationError(e.description)
        }
    }

    func run() throws {
        guard let address = try? ObservatoryAddress.parse(http) else { throw CLIError("--http \(http): expected ADDR:PORT") }
        if let holder = SupervisorLock.holder(dataDir: global.dataDir) {
            throw CLIError("`ecology run` (pid \(holder)) is supervising \(global.dataDir): its dashboard is live at the URL it printed; this command serves stopped worlds")
        }
        let kernel = try global.openWorld()
        let server = try ObservatoryLaunch.start(kernel: kernel, dataDir: global.dataDir, address: address, explicit: true,
                                                 live: nil, control: false)
        let stop = StopSignal()
        while !stop.requested { Thread.sleep(forTimeInterval: 0.2) }
        server.stop()
    }
}

/// How `ecology run` and `ecology dashboard` start the observatory.
enum ObservatoryLaunch {
    /// Starts the server and prints its URL on stderr. `explicit`: the address came from
    /// `--http`, and a busy port is an error naming it; otherwise (the default address) a
    /// busy port falls back to one the system picks, said on stderr, so a second world on
    /// the same machine still gets its dashboard. A token is written when the server has
    /// controls or listens beyond loopback (where every request needs it).
    static func start(kernel: Kernel, dataDir: String, address: ObservatoryAddress, explicit: Bool,
                      live: (any LiveWorldStatus)?, control: Bool) throws -> ObservatoryServer {
        let metrics = ObservatoryMetrics()
        kernel.addObserver(metrics)
        var token: ControlToken?
        var tokenPath: String?
        if control || !address.isLoopback {
            let t = ControlToken.generate()
            do { tokenPath = try t.save(dataDir: dataDir) } catch { throw CLIError("observatory token: \(error)") }
            token = t
        }
        let reader = WorldReader(kernel: kernel, metrics: metrics, live: live, kpis: KernelKPIs(kernel: kernel), statements: KernelStatements(kernel: kernel))
        func launch(_ at: ObservatoryAddress) throws -> ObservatoryServer {
            let server = try ObservatoryServer(reader: reader, options: .init(address: at, token: token))
            try server.start()
            return server
        }
        let server: ObservatoryServer
        do { server = try launch(address) } catch let first as ObservatoryServerError {
            guard !explicit else { throw CLIError(first.description) }
            do { server = try launch(ObservatoryAddress(host: address.host, port: 0)) } catch { throw CLIError("\(first.description); \(error)") }
            FileHandle.standardError.write(Data("ecology: port \(address.port) is in use (another world?); serving on \(server.port) instead (choose one with --http)\n".utf8))
        } catch { throw CLIError("\(error)") }
        let mode = control ? "" : " (read-only)"
        let tokenNote = tokenPath.map { " · control token in \($0)" } ?? ""
        FileHandle.standardError.write(Data("ecology: dashboard\(mode) at \(server.url) · metrics at \(server.url)metrics\(tokenNote)\n".utf8))
        return server
    }
}

/// The running supervisor's view for the observatory: its action rate.
struct SupervisorLiveStatus: LiveWorldStatus {
    let supervisor: Supervisor
    func actionsPerSecond() -> Double { supervisor.status().actionsPerSecond }
}
