import CMalloc

/// How glibc's allocator is run in a process that lives for months.
///
/// Measured (`ecology bench soak --minutes 30 --agents 50`, docs/OPERATIONS.md): the
/// supervisor's heap *in use* stays flat while the free memory glibc keeps in its arenas
/// grows, and the resident set with it. Two causes, two settings: every thread that
/// allocates gets an arena of its own (up to 8 per core), each keeping its own free memory;
/// and freed pages inside an arena go back to the kernel only when the top of the heap is
/// free. So the arenas are capped (the supervisor's threads are O(cores), and each thread's
/// tcache absorbs most contention) and the supervisor trims the heap periodically.
public enum HeapPolicy {
    /// The most arenas the allocator may create. Call once, before threads start allocating
    /// (arenas already made are kept).
    public static let maxArenas: Int32 = 2

    public static func limitArenas() { _ = mallopt(M_ARENA_MAX, maxArenas) }

    /// Returns free heap memory to the kernel (`malloc_trim(0)`: every arena, whole free
    /// pages anywhere in the heap, not only its top); true if any was released. Costs a walk
    /// of the free lists: milliseconds at the supervisor's heap size.
    @discardableResult
    public static func trim() -> Bool { malloc_trim(0) != 0 }
}
