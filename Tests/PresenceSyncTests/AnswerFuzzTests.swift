import Foundation
import Testing

@testable import PresenceSync

#if canImport(Glibc)
    import Glibc
#endif

/// The answer scanner against Foundation's `JSONSerialization` (AnswerFuzzing.swift): the same users and values, or
/// a `malformedAnswer` where Foundation refuses, except for the documented `AllowedDifference`s; never a crash or a
/// hang. `make fuzz` runs `differential` for minutes instead of over its fixed corpus.
@Suite("Fuzzing the answer scanner against Foundation")
struct AnswerFuzzTests {
    @Test("generated and damaged answers read as Foundation reads them, or are refused where it refuses them")
    func differential() throws {
        let budget = try FuzzBudget(environment: ProcessInfo.processInfo.environment)
        var run = AnswerFuzzRun(budget: budget)
        // First, so that a crash can be replayed: PRESENCE_SYNC_FUZZ_SEED=<seed> repeats the same cases.
        print("fuzz: \(budget.testDescription) (0x\(String(budget.seed, radix: 16)))")
        run.run()
        print(run.report)
        for finding in run.findings { Issue.record(Comment(rawValue: finding.description)) }
        #expect(run.findingCount == 0)
        guard case .cases(let count) = budget.limit else { return #expect(run.cases > 0) }
        // The corpus must exercise every path, or agreeing would prove little.
        #expect(run.cases == count)
        #expect(
            run.count(.accepted) > count / 5 && run.count(.wrongShape) > count / 20 && run.count(.notJSON) > count / 10)
        for difference in AllowedDifference.allCases {
            #expect(run.count(difference) > 0, "the corpus never hits \(difference)")
        }
    }

    @Test(
        "the corpus by default; a timed run when PRESENCE_SYNC_FUZZ_SECONDS is set, seeded as asked or at random",
        arguments: [
            ([:], FuzzBudget.corpus),
            (["PRESENCE_SYNC_FUZZ_SECONDS": ""], FuzzBudget.corpus),
            (["PRESENCE_SYNC_FUZZ_SEED": "7"], FuzzBudget.corpus),
            (["PRESENCE_SYNC_FUZZ_SECONDS": "300"], FuzzBudget(limit: .duration(.seconds(300)), seed: 42)),
            (
                ["PRESENCE_SYNC_FUZZ_SECONDS": "0.5", "PRESENCE_SYNC_FUZZ_SEED": "12345"],
                FuzzBudget(limit: .duration(.milliseconds(500)), seed: 12345)
            ),
            (
                ["PRESENCE_SYNC_FUZZ_SECONDS": "2", "PRESENCE_SYNC_FUZZ_SEED": "0xFFFFFFFFFFFFFFFF"],
                FuzzBudget(limit: .duration(.seconds(2)), seed: .max)
            ),
        ] as [([String: String], FuzzBudget)])
    func budget(environment: [String: String], expected: FuzzBudget) throws {
        #expect(try FuzzBudget(environment: environment, randomSeed: { 42 }) == expected)
    }

    @Test(
        "a budget that cannot be meant is refused, not silently replaced by the corpus",
        arguments: [
            ["PRESENCE_SYNC_FUZZ_SECONDS": "five"], ["PRESENCE_SYNC_FUZZ_SECONDS": "-1"],
            ["PRESENCE_SYNC_FUZZ_SECONDS": "0"], ["PRESENCE_SYNC_FUZZ_SECONDS": "inf"],
            ["PRESENCE_SYNC_FUZZ_SECONDS": "1", "PRESENCE_SYNC_FUZZ_SEED": "0x"],
            ["PRESENCE_SYNC_FUZZ_SECONDS": "1", "PRESENCE_SYNC_FUZZ_SEED": "-3"],
        ])
    func invalidBudget(environment: [String: String]) {
        #expect(throws: FuzzBudget.Invalid.self) { try FuzzBudget(environment: environment) }
    }

    @Test("a case is a pure function of its seed, so a printed seed replays the run")
    func determinism() {
        let seeds = (0..<50).map { FuzzRandom.caseSeed(run: FuzzBudget.corpus.seed, index: $0) }
        let first = seeds.map { AnswerFuzzer.bytes(seed: $0, longestString: 4_096) }
        #expect(seeds.map { AnswerFuzzer.bytes(seed: $0, longestString: 4_096) } == first)
        #expect(Set(first).count > 45)
    }

    @Test("spellings of one presence share a fingerprint; presences that read differently do not")
    func fingerprints() {
        for seed in UInt64(0)..<600 {
            let problems = FingerprintProperty.problems(seed: seed)
            #expect(problems.isEmpty, "seed \(seed): \(problems.joined(separator: "; "))")
        }
    }

    /// One example per allowed difference: the difference exists (Foundation still behaves so) and the judge
    /// recognises it (so the fuzzer neither reports it nor excuses anything else with it).
    @Test(
        "each allowed difference from Foundation is recognised as such",
        arguments: [
            (Self.answer(availability: [0x42, 0xFF, 0x75]), AllowedDifference.invalidUTF8),
            (Self.answer(availability: Array(#"B\uD800u"#.utf8)), .loneSurrogate),
            (Self.answer(availability: Array(#"B\uDC00\uD83D\uDE00"#.utf8)), .loneSurrogate),
            (Self.answer(extra: Array(#""big":1e400,"#.utf8)), .numberOutOfRange),
            (
                Self.answer(extra: #""deep":"#.utf8 + AnswerGenerator.nesting(depth: 62, objects: false) + [0x2C]),
                .nestingLimit
            ),
            (Self.answer(extra: Array(#""list":[1,2,],"#.utf8)), .trailingComma),
            ([0xEF, 0xBB, 0xBF] + Self.answer(), .byteOrderMark),
            (Self.answer(extra: Array(#""activity":7,"#.utf8)), .repeatedKeyChecked),
            (Self.answer(availability: [0x5C, 0x6E, 0xEF, 0xBB, 0xBF, 0x42]), .droppedFEFF),
        ])
    func allowedDifference(bytes: [UInt8], difference: AllowedDifference) {
        var judge = AnswerFuzzJudge()
        #expect(judge.judge(bytes).outcome == .allowed([difference]))
    }

    @Test("agreement is judged on what Foundation reads: the same users, or a refusal where it sees no answer")
    func agreement() {
        var judge = AnswerFuzzJudge()
        #expect(judge.judge(Self.answer()).outcome == .accepted)
        #expect(judge.judge(Self.answer(extra: Array(#""id":7,"#.utf8), last: true)).outcome == .wrongShape)
        #expect(judge.judge(Array(#"{"value":[1,]}"#.utf8)).outcome == .wrongShape)
        #expect(judge.judge(Array(#"{"value":[]"#.utf8)).outcome == .notJSON)
        // Differences combine: a repeated key checked by the scanner, and a U+FEFF Foundation drops (long run, seed
        // 0xcf5883b7f2b34c7e, before the judge combined them).
        let repeated = #""sequenceNumber":[],"sequenceNumber":"\u2029"#.utf8 + [0xEF, 0xBB, 0xBF] + #"","#.utf8
        #expect(judge.judge(Self.answer(extra: repeated)).outcome == .allowed([.repeatedKeyChecked, .droppedFEFF]))
        // Foundation drops a U+FEFF after an escape in a key too, and then reads a key the scanner does not.
        let key = Array(#"{"\u0076\u0061"#.utf8) + [0xEF, 0xBB, 0xBF] + Array(#"lue":[]}"#.utf8)
        #expect(judge.judge(key).outcome == .allowed([.droppedFEFF]))
    }

    /// Found by this fuzzer, fixed in the scanner since (7dfb2fd): kept as regression tests.
    @Test(
        "a repeated object-valued member replaces the earlier one whole, as Foundation reads it",
        arguments: [
            #""workLocation":null,"workLocation":{}"#,
            #""statusMessage":{"message":{"content":"x"}},"statusMessage":{}"#,
            #""statusMessage":{"message":{"content":"x"},"message":{}}"#,
            #""outOfOfficeSettings":{"isOutOfOffice":true},"outOfOfficeSettings":{"message":"m"}"#,
        ])
    func repeatedObjectMember(members: String) {
        var judge = AnswerFuzzJudge()
        #expect(judge.judge(Self.answer(extra: Array((members + ",").utf8))).outcome == .accepted)
    }

    @Test(
        "a control character in a key is refused; an escape after a lone high surrogate is kept",
        arguments: [
            (Array(#"{"value":[],"\#n":1}"#.utf8), AnswerFuzzJudge.Outcome.notJSON),
            (Array(#"{"value":[],"\#u{0}":1}"#.utf8), .notJSON),
            (Self.answer(availability: Array(#"\uD800\u0041"#.utf8)), .allowed([.loneSurrogate])),
            (Self.answer(availability: Array(#"\uD800\uD83D\uDE00"#.utf8)), .allowed([.loneSurrogate])),
        ])
    func fixedFindings(bytes: [UInt8], outcome: AnswerFuzzJudge.Outcome) {
        var judge = AnswerFuzzJudge()
        #expect(judge.judge(bytes).outcome == outcome)
    }

    /// Found by this fuzzer and fixed: a repeated top-level `value` replaces the earlier array (its users are not
    /// added), and a number with a leading zero is not JSON.
    @Test(
        "a repeated top-level value, or a number with a leading zero, reads as Foundation reads it",
        arguments: [
            #"{"value":[{"id":"a","availability":"B","activity":"C"}],"value":[]}"#,
            #"{"value":[],"value":[{"id":"a","availability":"B","activity":"C"}],"value":[]}"#,
            #"{"value":[],"x":01}"#,
            #"{"value":[],"x":[-00.5e1]}"#,
        ])
    func fixedReportedFindings(text: String) {
        var judge = AnswerFuzzJudge()
        let outcome = judge.judge(Array(text.utf8)).outcome
        #expect(outcome == .accepted || outcome == .notJSON, "\(outcome)")
    }

    /// `{"value":[{"id":"...","availability":AVAILABILITY,"activity":"Busy"}]}`, with `extra` members first (or last).
    static func answer(availability: [UInt8] = Array("Busy".utf8), extra: [UInt8] = [], last: Bool = false) -> [UInt8] {
        let fields =
            #""id":"FA8BF3DC-eca7-46b7-bad1-db199b62afc3","availability":""#.utf8 + availability
            + #"","activity":"Busy""#.utf8
        let members = last ? fields + [0x2C] + extra.dropLast() : extra + fields
        return #"{"value":[{"#.utf8 + members + #"}]}"#.utf8
    }
}

/// How long `differential` runs: the fixed seed corpus, or, with `PRESENCE_SYNC_FUZZ_SECONDS` set (`make fuzz`),
/// a timed run seeded by `PRESENCE_SYNC_FUZZ_SEED` (decimal or 0x hex) or at random (the report prints the seed).
struct FuzzBudget: Equatable, CustomTestStringConvertible {
    enum Limit: Equatable {
        case cases(Int)
        case duration(Duration)
    }

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    var limit: Limit
    var seed: UInt64
    /// The longest string in one case of a hundred: a megabyte in timed runs, 64 KiB in the corpus (which must run
    /// in seconds in a debug build).
    var longestString: Int

    static let corpus = FuzzBudget(limit: .cases(2_500), seed: 0x5EED_F022_A115, longestString: 65_536)

    init(limit: Limit, seed: UInt64, longestString: Int = 1 << 20) {
        self.limit = limit
        self.seed = seed
        self.longestString = longestString
    }

    init(
        environment: [String: String], randomSeed: () -> UInt64 = { .random(in: .min ... .max) }
    ) throws(Invalid) {
        guard let text = environment["PRESENCE_SYNC_FUZZ_SECONDS"], !text.isEmpty else {
            self = .corpus
            return
        }
        guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
            throw Invalid(description: "PRESENCE_SYNC_FUZZ_SECONDS=\(text): not a positive number of seconds")
        }
        var seed = randomSeed()
        if let text = environment["PRESENCE_SYNC_FUZZ_SEED"] {
            let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
            guard let parsed else { throw Invalid(description: "PRESENCE_SYNC_FUZZ_SEED=\(text): not a UInt64") }
            seed = parsed
        }
        self.init(limit: .duration(.milliseconds(Int64(seconds * 1_000))), seed: seed)
    }

    var testDescription: String {
        switch limit {
        case .cases(let count): "\(count) cases from seed \(seed)"
        case .duration(let duration): "\(duration) from seed \(seed)"
        }
    }
}

/// One run of the differential fuzzer: how its cases were judged, the slowest one, and the findings, each with
/// its case seed and a minimized reproducer.
struct AnswerFuzzRun {
    struct Finding: CustomStringConvertible {
        var seed: UInt64
        var kind: AnswerFuzzJudge.FindingKind
        var reproducer: [UInt8]
        var detail: String

        var description: String {
            let shown = reproducer.map { byte in
                switch byte {
                case UInt8(ascii: "\\"): "\\\\"
                case 0x20..<0x7F: String(UnicodeScalar(byte))
                default: "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
                }
            }
            return
                "\(kind.rawValue) (case seed 0x\(String(seed, radix: 16))), minimal input \(reproducer.count) bytes: "
                + "\(shown.joined())\n\(detail)"
        }
    }

    let budget: FuzzBudget
    private(set) var cases = 0
    private(set) var inputBytes = 0
    private(set) var outcomes: [AnswerFuzzJudge.Outcome: Int] = [:]
    private(set) var findingCount = 0
    private(set) var findings: [Finding] = []
    /// The case that took longest to judge, and the one the scanner took longest on: a hang or a quadratic path
    /// shows as a slow case that is not also a large one.
    private(set) var slowest = (duration: Duration.zero, bytes: 0, seed: UInt64(0))
    private(set) var slowestScan = (duration: Duration.zero, bytes: 0, seed: UInt64(0))
    private(set) var elapsed = Duration.zero
    /// Time spent making cases rather than judging them.
    private(set) var generation = Duration.zero

    init(budget: FuzzBudget) { self.budget = budget }

    func count(_ outcome: AnswerFuzzJudge.Outcome) -> Int { outcomes[outcome, default: 0] }

    func count(_ difference: AllowedDifference) -> Int {
        outcomes.reduce(0) { total, entry in
            guard case .allowed(let differences) = entry.key, differences.contains(difference) else { return total }
            return total + entry.value
        }
    }

    mutating func run() {
        var judge = AnswerFuzzJudge()
        let clock = ContinuousClock()
        let start = clock.now
        var nextProgress = start + .seconds(60)
        while true {
            switch budget.limit {
            case .cases(let limit):
                if cases >= limit {
                    elapsed = clock.now - start
                    return
                }
            case .duration(let limit):
                if clock.now - start >= limit {
                    elapsed = clock.now - start
                    return
                }
            }
            let seed = FuzzRandom.caseSeed(run: budget.seed, index: cases)
            let generating = clock.now
            let bytes = AnswerFuzzer.bytes(seed: seed, longestString: budget.longestString)
            let began = clock.now
            generation += began - generating
            let judgement = judge.judge(bytes)
            let took = clock.now - began
            cases += 1
            inputBytes += bytes.count
            outcomes[judgement.outcome, default: 0] += 1
            if took > slowest.duration { slowest = (took, bytes.count, seed) }
            if judgement.scanning > slowestScan.duration { slowestScan = (judgement.scanning, bytes.count, seed) }
            if case .finding(let kind) = judgement.outcome {
                findingCount += 1
                // A few per kind, minimized: the first ones say what is wrong; thousands more would only repeat it.
                if findings.count(where: { $0.kind == kind }) < 3 {
                    let minimal = judge.minimize(bytes, kind: kind)
                    let detail = judge.judge(minimal).detail
                    findings.append(Finding(seed: seed, kind: kind, reproducer: minimal, detail: detail))
                }
            }
            if clock.now >= nextProgress {
                print(
                    "fuzz: \(cases) cases, \(findingCount) findings so far (seed 0x\(String(budget.seed, radix: 16)))")
                nextProgress = clock.now + .seconds(60)
            }
        }
    }

    var report: String {
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }
        let total = seconds(elapsed)
        let allowed = AllowedDifference.allCases.map { "\($0.rawValue) \(count($0))" }.joined(separator: ", ")
        let rate = Int(Double(cases) / max(total, 0.001))
        func milliseconds(_ duration: Duration) -> String { String(format: "%.1f", seconds(duration) * 1e3) }
        return """
            fuzz: seed 0x\(String(budget.seed, radix: 16)), \(cases) cases in \(String(format: "%.1f", total)) s \
            (\(rate)/s, \(inputBytes / 1_000) kB of input, \(String(format: "%.1f", seconds(generation))) s generating)
            fuzz: agreed: accepted \(count(.accepted)), wrong shape \(count(.wrongShape)), not JSON \(count(.notJSON))
            fuzz: allowed differences: \(allowed)
            fuzz: new findings: \(findingCount); max RSS \(Self.maxResidentMiB()) MiB
            fuzz: slowest case \(milliseconds(slowest.duration)) ms (\(slowest.bytes) bytes, case seed \
            0x\(String(slowest.seed, radix: 16))); slowest scan \(milliseconds(slowestScan.duration)) ms \
            (\(slowestScan.bytes) bytes, case seed 0x\(String(slowestScan.seed, radix: 16)))
            """
    }

    private static func maxResidentMiB() -> Int {
        #if canImport(Glibc)
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            return usage.ru_maxrss / 1_024
        #else
            return -1
        #endif
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
