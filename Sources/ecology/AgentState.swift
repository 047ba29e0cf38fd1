import EcologyCore

/// One row of `ecology inspect agents`: an agent's recorded supervision state, read in
/// the light of whether a supervisor holds the world now.
struct AgentState {
    let id: String, mind: String, recordedStatus: String
    let paused: Bool, parked: Bool, frozen: Bool
    let restarts: Int64, actions: Int64, scrip: Int64, compute: Int64
    /// Whether an `ecology run` holds the data directory's lock.
    let supervised: Bool
    let row: JSONValue

    /// States only a running supervisor keeps true: without one they are history.
    static let liveStates: Set<String> = ["starting", "running", "sleeping", "frozen", "stopping"]

    init(row: JSONValue, supervised: Bool) {
        self.row = row
        self.supervised = supervised
        id = row["id"]?.stringValue ?? "?"
        mind = row["mind"]?.stringValue ?? "?"
        recordedStatus = row["status"]?.stringValue ?? "?"
        paused = row["paused"]?.boolValue ?? false
        parked = row["parked"]?.boolValue ?? false
        frozen = row["frozen"]?.boolValue ?? false
        restarts = row["restarts"]?.intValue ?? 0
        actions = row["actions"]?.intValue ?? 0
        scrip = row["scrip"]?.intValue ?? 0
        compute = row["compute"]?.intValue ?? 0
    }

    /// Whether the recorded state is out of date: it says live, and nothing supervises.
    var isStale: Bool { !supervised && Self.liveStates.contains(recordedStatus) }

    var status: String { isStale ? "stopped" : recordedStatus }

    /// "stopped (was sleeping)" when the supervisor ended without recording the stop.
    var shownStatus: String { isStale ? "stopped (was \(recordedStatus))" : recordedStatus }

    /// The kernel's row, with `status` as shown and what was recorded beside it.
    var json: JSONValue {
        var o = row.objectValue ?? [:]
        o["status"] = .string(status)
        o["recorded_status"] = .string(recordedStatus)
        o["supervised"] = .bool(supervised)
        return .object(o)
    }
}
