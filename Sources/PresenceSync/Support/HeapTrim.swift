#if canImport(Glibc)
    import Glibc
#endif

/// Hands the allocator's free memory back to the system between poll cycles.
///
/// A cycle's transient data (Graph's answers, observations, change records, event lines) is freed by the time the
/// next one starts, but glibc keeps the freed pages of each thread's arena resident. `malloc_trim(0)` returns
/// them (and the top of the heap) at the cost of a few milliseconds once per cycle, so that what a cycle borrowed
/// does not stay counted in the daemon's resident memory until the next one.
enum HeapTrim {
    /// glibc's `malloc_trim`, looked up at run time: `malloc.h` is not part of Swift's Glibc module, and another C
    /// library simply does not have it (then this does nothing).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    static func releaseFreeMemory() {
        _ = trim?(0)
    }
}
