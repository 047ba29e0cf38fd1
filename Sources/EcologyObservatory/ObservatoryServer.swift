import EcologyCore
import EcologyKernel
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The observatory's HTTP server: the dashboard page, `/metrics` and the JSON API.
///
/// Threads: one NIO event loop (Hummingbird) accepts connections and runs the handlers,
/// which never touch SQLite themselves; every read goes to `blockingPool` (a two-thread
/// `NIOThreadPool`), so a slow query delays its own request, never the event loop or the
/// supervisor. A sampler thread (`SeriesSampler`) takes the sampled series every
/// `sampleSeconds`. `start` returns once the socket is bound (or throws the bind error);
/// `stop` ends event streams, drains requests and joins all three.
public final class ObservatoryServer: @unchecked Sendable {
    // Safe: the `let`s are immutable; `task`, `group` and `sampler thread` state are set in
    // `start` before any other thread can see them and read in `stop`, which the owner calls
    // once after `start`; `stopping` is read across threads only through `stopFlag`'s lock.
    public struct Options: Sendable {
        public var address: ObservatoryAddress
        /// nil: read-only (no control endpoints); required for a non-loopback address.
        public var token: ControlToken?
        public var sampleSeconds: Double = 5
        public var maxStreams = 16
        public init(address: ObservatoryAddress, token: ControlToken?) { self.address = address; self.token = token }
    }

    public let reader: WorldReader
    public let options: Options
    let sampler = SeriesSampler()
    let blockingPool = NIOThreadPool(numberOfThreads: 2)
    let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let stopFlag = StopFlag()
    let streams = StreamCounter()
    private var serviceGroup: ServiceGroup?
    private var finished = DispatchSemaphore(value: 0)
    private var samplerThread: Thread?
    /// The bound port (the requested one, or the one the system chose for port 0).
    public private(set) var port: Int = 0

    public init(reader: WorldReader, options: Options) throws {
        if !options.address.isLoopback && options.token == nil {
            throw ObservatoryServerError("refusing to listen on \(options.address) without a token: only loopback addresses (127.0.0.0/8, ::1) serve without one")
        }
        self.reader = reader; self.options = options
    }

    public var url: String { "http://\(options.address.authority(port: port))/" }

    /// Binds and starts serving; throws (naming the address and the `--http` flag) if the
    /// address cannot be bound, e.g. a port already in use.
    public func start() throws {
        blockingPool.start()
        let bound = BindOutcome()
        let router = Router()
        let requestGuard: @Sendable (Int) -> RequestGuard = { [options] port in RequestGuard(address: options.address, port: port, token: options.token) }
        let portBox = PortBox()
        addRoutes(to: router, guardFor: { requestGuard(portBox.value) })
        var logger = Logger(label: "ecology.observatory")
        logger.logLevel = .error
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.address.host, port: options.address.port), serverName: "ecology", reuseAddress: true),
            onServerRunning: { channel in
                portBox.value = channel.localAddress?.port ?? 0
                bound.succeed()
            },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        serviceGroup = group
        let finished = self.finished
        Task.detached {
            do { try await group.run() } catch { bound.fail(error) }
            finished.signal()
        }
        if let error = bound.wait() {
            try? blockingPool.syncShutdownGracefully()
            try? eventLoopGroup.syncShutdownGracefully()
            throw ObservatoryServerError("cannot listen on \(options.address): \(Self.describe(error)) (choose another with --http ADDR:PORT, or --http off)")
        }
        port = portBox.value
        let thread = Thread { [weak self] in self?.sample() }
        thread.name = "ecology-observatory-sampler"
        samplerThread = thread
        thread.start()
    }

    private func sample() {
        while !stopFlag.isSet {
            sampler.take(reader)
            stopFlag.wait(seconds: options.sampleSeconds)
        }
    }

    /// Ends open event streams, stops accepting, waits for the server and its threads.
    public func stop() {
        guard !stopFlag.isSet else { return }
        stopFlag.set()
        if let group = serviceGroup {
            Task.detached { await group.triggerGracefulShutdown() }
            finished.wait()
        }
        try? eventLoopGroup.syncShutdownGracefully()
        try? blockingPool.syncShutdownGracefully()
    }

    /// Runs blocking kernel work on the blocking pool, never on the event loop.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await blockingPool.runIfActive(body)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? IOError {
            return e.errnoCode == EADDRINUSE ? "the port is already in use" : String(cString: strerror(e.errnoCode))
        }
        return "\(error)"
    }
}

public struct ObservatoryServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// The port seen by `onServerRunning`, read by the request guard.
final class PortBox: @unchecked Sendable {
    // Safe: `stored` is only read or written while `lock` is held.
    private let lock = NSLock()
    private var stored = 0
    var value: Int {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// Whether the server bound its socket: the first of success or failure wins.
final class BindOutcome: @unchecked Sendable {
    // Safe: `done` and `error` are only touched while `lock` is held; `semaphore` is thread-safe.
    private let lock = NSLock()
    private let semaphore = DispatchSemaphore(value: 0)
    private var done = false
    private var error: Error?

    func succeed() { finish(nil) }
    func fail(_ error: Error) { finish(error) }
    private func finish(_ e: Error?) {
        lock.lock(); defer { lock.unlock() }
        guard !done else { return }
        done = true; error = e
        semaphore.signal()
    }

    func wait() -> Error? {
        semaphore.wait()
        lock.lock(); defer { lock.unlock() }
        return error
    }
}

/// Set once at stop; event streams and the sampler poll it.
final class StopFlag: @unchecked Sendable {
    // Safe: `value` is only touched while `condition` is locked.
    private let condition = NSCondition()
    private var value = false
    var isSet: Bool { condition.lock(); defer { condition.unlock() }; return value }
    func set() { condition.lock(); value = true; condition.broadcast(); condition.unlock() }
    /// Waits up to `seconds`, returning early when set.
    func wait(seconds: Double) {
        condition.lock(); defer { condition.unlock() }
        if !value { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
    }
}

/// Open event streams, bounded by `Options.maxStreams`.
final class StreamCounter: @unchecked Sendable {
    // Safe: `open` is only touched while `lock` is held.
    private let lock = NSLock()
    private var open = 0
    func acquire(max: Int) -> Bool { lock.lock(); defer { lock.unlock() }; guard open < max else { return false }; open += 1; return true }
    func release() { lock.lock(); open -= 1; lock.unlock() }
}
