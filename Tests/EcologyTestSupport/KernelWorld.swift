import EcologyCore
import EcologyKernel

/// A test world around one kernel: acting and invoking as a principal, shared by the
/// kernel and supervisor test suites.
public protocol KernelWorld {
    var kernel: Kernel { get }
}

extension KernelWorld {
    @discardableResult
    public func act(_ who: String, _ action: String, _ params: JSONValue) -> Envelope {
        kernel.handle(action: action, params: params, context: .principal(who))
    }

    @discardableResult
    public func invoke(_ who: String, _ artifact: String, _ method: String, _ args: [JSONValue] = []) -> Envelope {
        kernel.invoke(artifact, method: method, args: args, context: .principal(who))
    }
}
