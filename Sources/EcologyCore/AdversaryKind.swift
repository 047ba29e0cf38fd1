/// The adversarial minds an agent may be given (`mind: adversary:KIND` in the config).
/// Each is a Python module under `sandbox/agent/adversaries/` that attacks the world
/// through the same kernel actions as any agent; `docs/MINDS.md` says what each proves.
public enum AdversaryKind: String, Sendable, CaseIterable {
    /// Expensive contracts, event and output spam.
    case griefer
    /// Spawns principals to launder compute, disk or UBI.
    case sybil
    /// Races escrow purchases and mint bids.
    case frontRunner = "front_runner"
    /// Self-dealing to win the mint.
    case washTrader = "wash_trader"
    /// Uses without paying (borrows, never repays; calls priced tools with nothing).
    case freeloader
    /// Takes IDs and names others want.
    case squatter
    /// Contracts and tools that lie or change under their callers.
    case contractTrickster = "contract_trickster"
    /// Writes the sandbox attack library as tool code and gets it run.
    case hostileCoder = "hostile_coder"

    /// The prefix of an adversarial mind's name.
    public static let mindPrefix = "adversary:"

    /// The mind string an agent of this kind is configured with.
    public var mind: String { Self.mindPrefix + rawValue }

    /// The kind a mind string names, nil for a mind that is not adversarial or names no kind.
    public init?(mind: String) {
        guard mind.hasPrefix(Self.mindPrefix) else { return nil }
        self.init(rawValue: String(mind.dropFirst(Self.mindPrefix.count)))
    }

    /// The kinds' names, comma-separated, for error messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
