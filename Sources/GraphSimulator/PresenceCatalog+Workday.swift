extension PresenceCatalog {
    /// The catalog pairs a ``WorkdaySimulation`` moves between, by what they mean in a working day.
    ///
    /// All are pairs Teams reports together; looked up once, so a catalog edit that drops one fails loudly at first
    /// use instead of serving a pair Graph would never send.
    enum WorkdayPair {
        static let available = index("Available", "Available")
        static let availableIdle = index("AvailableIdle", "Available")
        static let inACall = index("Busy", "InACall")
        static let inAMeeting = index("Busy", "InAMeeting")
        static let inAConferenceCall = index("Busy", "InAConferenceCall")
        static let busy = index("Busy", "Busy")
        static let presenting = index("DoNotDisturb", "Presenting")
        static let doNotDisturb = index("DoNotDisturb", "DoNotDisturb")
        static let away = index("Away", "Away")
        static let beRightBack = index("BeRightBack", "BeRightBack")
        static let offWork = index("Offline", "OffWork")
        static let offline = index("Offline", "Offline")
        static let awayOutOfOffice = index("Away", "OutOfOffice")
        static let offlineOutOfOffice = index("Offline", "OutOfOffice")

        /// Index of the work location `timeOff`, which out-of-office users show.
        static let timeOffLocation = Int16(workLocations.firstIndex { $0.type == "timeOff" } ?? -1)

        private static func index(_ availability: String, _ activity: String) -> UInt8 {
            guard let index = PresenceOverrides.pairIndex(availability: availability, activity: activity) else {
                preconditionFailure("PresenceCatalog has no pair \(availability)/\(activity)")
            }
            return UInt8(index)
        }
    }
}
