import EcologyCore
import Foundation

/// How the supervisor reaches the model: live, live while recording a cassette, or
/// from a cassette alone (offline, deterministic).
public enum LLMProviderMode: Sendable, Equatable {
    case live
    case record(cassette: URL)
    case replay(cassette: URL)

    /// Builds the provider for `settings`. `capabilities` defaults to what
    /// `LLMSettings.structuredOutput` implies. Throws INTERNAL / INVALID_ARGS for a bad
    /// base URL or an unreadable cassette.
    public func makeProvider(settings: LLMSettings, capabilities: BackendCapabilities? = nil,
                             clock: WorldClock = SystemClock()) throws -> LLMProvider {
        let caps = try capabilities ?? BackendCapabilities.from(settings: settings)
        switch self {
        case .live:
            return try OpenAICompatibleProvider(settings: settings, capabilities: caps, clock: clock)
        case .record(let cassette):
            let live = try OpenAICompatibleProvider(settings: settings, capabilities: caps, clock: clock)
            return try RecordingProvider(wrapping: live, cassette: cassette)
        case .replay(let cassette):
            return try ReplayProvider(cassette: cassette, capabilities: caps)
        }
    }
}
