/// A destination for change events. Sinks receive events only after the transaction that stored them commits.
///
/// Shaped like swift-log's handler + `MultiplexLogHandler`: the poll cycle talks to one sink, which may fan out.
public protocol EventSink: Sendable {
    /// Takes the events of one committed batch, in history order.
    func emit(_ events: [ChangeEvent]) async
    /// Makes sure everything emitted so far has left the process (called on shutdown).
    func flush() async
}

/// Sends every event to each of several sinks, in order.
public struct MultiplexEventSink: EventSink {
    public var sinks: [any EventSink]

    public init(_ sinks: [any EventSink]) { self.sinks = sinks }

    public func emit(_ events: [ChangeEvent]) async {
        for sink in sinks { await sink.emit(events) }
    }

    public func flush() async {
        for sink in sinks { await sink.flush() }
    }
}
