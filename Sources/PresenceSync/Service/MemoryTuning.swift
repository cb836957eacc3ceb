#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide memory settings for a long-running daemon.
public enum MemoryTuning {
    /// Caps glibc's malloc arenas at two (like `MALLOC_ARENA_MAX=2`).
    ///
    /// glibc gives each thread that allocates its own arena (up to 8 per core); SwiftNIO, Dispatch and the
    /// cooperative pool together start enough threads that arenas alone held ~20 MiB of resident memory at
    /// 100,000 users. Two arenas keep contention low on a small machine and the footprint predictable.
    /// `mallopt` lives in <malloc.h>, which the Glibc module does not import, so it is looked up by name; on a
    /// C library without it this does nothing.
    public static func limitMallocArenas() {
        #if canImport(Glibc)
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return }
            _ = unsafeBitCast(symbol, to: MallOpt.self)(mArenaMax, 2)
        #endif
    }
}
