/// Background chores the daemon repeats (history and outbox retention).
enum PeriodicTask {
    /// Runs `body` now and then every `interval` until the task is cancelled; `body` handles its own failures.
    static func run(every interval: Duration, _ body: () async -> Void) async {
        while !Task.isCancelled {
            await body()
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }
}
