import EcologyKernel
import Foundation

/// Which principals acted since it was last asked: the "acting" of `ecology run`'s status
/// line. An agent's session is "sleeping" between its actions most of the time (it paces
/// itself with short sleeps), so a snapshot of session states reads as idle at 60 actions/s;
/// who made a kernel action in the window says what is happening.
final class RunActivity: KernelObserver, @unchecked Sendable {
    // Safe: `actors` is only read or written while `lock` is held.
    private let lock = NSLock()
    private var actors: Set<String> = []

    func kernelHandled(_ outcome: ActionOutcome) {
        // Top-level actions only: a call from inside tool code is its invoker acting once.
        guard outcome.depth == 0, outcome.caller != Kernel.systemID else { return }
        lock.lock(); actors.insert(outcome.caller); lock.unlock()
    }

    /// The principals that acted since the last call; starts a new window.
    func takeActors() -> Set<String> {
        lock.lock(); defer { actors = []; lock.unlock() }
        return actors
    }
}
