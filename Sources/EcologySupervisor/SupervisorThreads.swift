import NIOCore
import NIOPosix

/// The threads every supervisor in the process shares, fixed in number whatever the
/// number of agents (docs/ARCHITECTURE.md, "Threads"):
/// - `eventLoops`: NIO's process-wide event loops (one per core). They own every agent
///   socket: reading, decoding and writing frames, and nothing that blocks.
/// - `kernelPool`: kernel actions, traces, spawns and stops of children: all of it blocking
///   (SQLite, the zygote's control socket, a tool's sandboxed execution), so never on a loop.
/// - `llmPool`: the `llm` action, which waits seconds on a provider: on its own pool, so
///   slow completions never hold the threads cheap kernel calls need. Started on first use.
///
/// The pools live as long as the process, like NIO's singletons: a session that outlives
/// its supervisor's `stopAll` (a long invoke) still has a thread to end on.
enum SupervisorThreads {
    static var eventLoops: EventLoopGroup { MultiThreadedEventLoopGroup.singleton }

    /// O(cores), with a floor: most kernel calls are short, but an invoke runs a tool's
    /// child (milliseconds to its timeout) on its thread, and group commit batches the
    /// writes of concurrent callers; 8 threads keep a 2-core host's writer batches full.
    static let kernelThreadCount = min(16, max(8, 4 * System.coreCount))

    /// Concurrent LLM completions across all agents; more wait in the pool's queue.
    static let llmThreadCount = 16

    static let kernelPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: kernelThreadCount)
        pool.start()
        return pool
    }()

    static let llmPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: llmThreadCount)
        pool.start()
        return pool
    }()
}
