import EcologyCore
import Foundation

/// What the kernel tells its observers about one action it answered: enough for
/// metrics (actions by type and result code, latency) and for per-principal tallies
/// (an adversary's attempts and their containment codes), nothing that would let an
/// observer change the outcome.
public struct ActionOutcome: Sendable, Equatable {
    /// The kernel action (`observe`, `read`, `write`, `edit`, `delete`, `invoke`, `noop`, or
    /// whatever unknown name was asked for, cut to 64 characters).
    public let action: String
    /// Who acted: the call context's caller (a principal, or the tool whose code ran).
    public let caller: String
    /// The principal charged for the action.
    public let payer: String
    /// The artifact an `invoke`, `read`, `edit` or `delete` named, when it named one.
    public let target: String?
    /// 0 for a top-level action; > 0 for a call made from inside tool or contract code.
    public let depth: Int
    /// nil when the action succeeded.
    public let code: ErrorCode?
    /// Wall time the kernel spent answering, in seconds (monotonic, not the world clock:
    /// this measures the supervisor, not the world).
    public let seconds: Double
}

/// Told of every action after the kernel has answered it. Called on the thread that
/// handled the action, outside any transaction; an observer must be quick and must
/// not call back into the kernel.
public protocol KernelObserver: AnyObject, Sendable {
    func kernelHandled(_ outcome: ActionOutcome)
}

/// The kernel's observers. Registration is rare (at start-up) and reads are per action,
/// so a lock-protected array copied out under the lock is plenty.
final class KernelObservers: @unchecked Sendable {
    // Safe: `list` is only read or written while `lock` is held.
    private let lock = NSLock()
    private var list: [any KernelObserver] = []

    func add(_ observer: any KernelObserver) {
        lock.lock(); list.append(observer); lock.unlock()
    }

    var current: [any KernelObserver] {
        lock.lock(); defer { lock.unlock() }
        return list
    }
}
