import Foundation
import PresenceSync
import TestSupport
import Testing

@Suite("Configuration: every key validated, every error names the key")
struct ConfigurationTests {
    static let user1 = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
    static let user2 = "0b6b3f2e-1c1d-4d5e-9f00-aabbccddeeff"

    static func document(_ overrides: [String: Any] = [:], removing: [String] = []) -> Data {
        var object: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com",
            "clientId": "11111111-2222-3333-4444-555555555555",
            "credential": ["type": "secret", "environment": "CLIENT_SECRET"],
            "users": [user1, user2],
            "database": "/tmp/presence.db",
        ]
        for key in removing { object.removeValue(forKey: key) }
        for (key, value) in overrides { object[key] = value }
        return try! JSONSerialization.data(withJSONObject: object)
    }

    func error(_ data: Data) -> ConfigError? {
        do {
            _ = try Configuration.parse(data)
            return nil
        } catch {
            return error
        }
    }

    @Test("a minimal config gets the documented defaults")
    func defaults() throws {
        let configuration = try Configuration.parse(Self.document())
        #expect(configuration.users == [Self.user1, Self.user2])
        #expect(configuration.polling.intervalSeconds == 60)
        #expect(configuration.polling.batchSize == 650)
        #expect(configuration.polling.requestBudget == 1500)
        #expect(configuration.polling.budgetWindowSeconds == 30)
        #expect(configuration.endpoints.authorityHost == "https://login.microsoftonline.com")
        #expect(configuration.endpoints.scope == "https://graph.microsoft.com/.default")
        #expect(
            configuration.endpoints.presencesByUserIDURL
                == "https://graph.microsoft.com/v1.0/communications/getPresencesByUserId")
        #expect(configuration.credential == .secret(.environment("CLIENT_SECRET")))
        #expect(configuration.events.stdout)
        #expect(configuration.events.source == "urn:presence-sync:tenant:contoso.onmicrosoft.com")
    }

    @Test("cloud presets pick the right login and Graph hosts; china is refused")
    func clouds() throws {
        let gov = try Configuration.parse(Self.document(["cloud": "usgov"]))
        #expect(gov.endpoints.authorityHost == "https://login.microsoftonline.us")
        #expect(gov.endpoints.scope == "https://graph.microsoft.us/.default")
        let dod = try Configuration.parse(Self.document(["cloud": "usgov-dod"]))
        #expect(dod.endpoints.graphBaseURL == "https://dod-graph.microsoft.us")
        let china = error(Self.document(["cloud": "china"]))
        #expect(china?.key == "cloud")
        #expect(china?.problem.contains("not offered") == true)
        #expect(error(Self.document(["cloud": "mars"]))?.problem.contains("global, usgov, usgov-dod, china") == true)
    }

    @Test("explicit endpoint overrides win; plain http only for loopback")
    func endpointOverrides() throws {
        let local = try Configuration.parse(
            Self.document(["authorityHost": "http://127.0.0.1:8400/", "graphBaseURL": "http://localhost:8400"]))
        #expect(local.endpoints.tokenURL(tenant: "t") == "http://127.0.0.1:8400/t/oauth2/v2.0/token")
        #expect(local.endpoints.scope == "http://localhost:8400/.default")
        let remote = error(Self.document(["graphBaseURL": "http://graph.example.com"]))
        #expect(remote?.key == "graphBaseURL")
        #expect(remote?.problem.contains("loopback") == true)
        #expect(error(Self.document(["graphBaseURL": "https://graph.microsoft.com/v1.0"]))?.key == "graphBaseURL")
        #expect(error(Self.document(["authorityHost": "ftp://x"]))?.key == "authorityHost")
        #expect(error(Self.document(["authorityHost": "not a url"]))?.key == "authorityHost")
    }

    @Test(
        "wrong types and impossible values name their key",
        arguments: [
            (#"{"polling": {"batchSize": 651}}"#, "polling.batchSize"),
            (#"{"polling": {"batchSize": 0}}"#, "polling.batchSize"),
            (#"{"polling": {"batchSize": 10.5}}"#, "polling.batchSize"),
            (#"{"polling": {"intervalSeconds": "60"}}"#, "polling.intervalSeconds"),
            (#"{"polling": {"intervalSeconds": -1}}"#, "polling.intervalSeconds"),
            (#"{"polling": {"requestBudget": 0}}"#, "polling.requestBudget"),
            (#"{"polling": {"maxConcurrentRequests": 1000}}"#, "polling.maxConcurrentRequests"),
            (#"{"polling": 5}"#, "polling"),
            (#"{"events": {"stdout": "yes"}}"#, "events.stdout"),
            (#"{"logLevel": "loud"}"#, "logLevel"),
            (#"{"users": "abc"}"#, "users"),
            (#"{"users": ["fa8bf3dc-eca7-46b7-bad1-db199b62afc3", 7]}"#, "users[1]"),
            (#"{"users": ["fa8bf3dc-eca7-46b7-bad1-db199b62afc3", "alice"]}"#, "users[1]"),
            (#"{"users": ["alice@contoso.com", "ALICE@contoso.com"]}"#, "users[1]"),
            (#"{"users": ["alice@"]}"#, "users[0]"),
            (#"{"groups": ["sales"]}"#, "groups[0]"),
            (#"{"groups": "6a0e0000-0000-4000-8000-00000000000a"}"#, "groups"),
            (#"{"userResolution": {"intervalSeconds": 0}}"#, "userResolution.intervalSeconds"),
            (#"{"userResolution": {"interval": 60}}"#, "userResolution.interval"),
            (
                #"{"users": ["fa8bf3dc-eca7-46b7-bad1-db199b62afc3", "FA8BF3DC-ECA7-46B7-BAD1-DB199B62AFC3"]}"#,
                "users[1]"
            ),
            (#"{"users": []}"#, "users"),
            (#"{"clientId": "my-app"}"#, "clientId"),
            (#"{"tenantId": ""}"#, "tenantId"),
            (#"{"tenantId": "a/b"}"#, "tenantId"),
            (#"{"tenantId": 42}"#, "tenantId"),
        ]
    )
    func rejected(overrides: String, key: String) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(overrides.utf8)) as? [String: Any])
        let found = error(Self.document(object))
        #expect(found?.key == key, "\(overrides) should be rejected at \(key), got \(String(describing: found))")
    }

    @Test("users may be object ids or UPNs, groups are group ids, and resolution runs hourly by default")
    func userSelection() throws {
        let group = "6A0E0000-0000-4000-8000-00000000000A"
        let configuration = try Configuration.parse(
            Self.document([
                "users": [Self.user1, "Alice@Contoso.com", "$odd#name@contoso.com"], "groups": [group],
                "userResolution": ["intervalSeconds": 900],
            ]))
        #expect(configuration.users == [Self.user1])
        #expect(configuration.userPrincipalNames == ["Alice@Contoso.com", "$odd#name@contoso.com"])
        #expect(configuration.groups == [group.lowercased()])
        #expect(configuration.userResolution.intervalSeconds == 900)
        #expect(configuration.userResolution.retrySeconds == 60)
        #expect(try Configuration.parse(Self.document()).userResolution.intervalSeconds == 3600)
        let groupsOnly = try Configuration.parse(Self.document(["groups": [group]], removing: ["users"]))
        #expect(groupsOnly.users == [])
        #expect(groupsOnly.groups.count == 1)
    }

    @Test("unknown keys are rejected, also nested ones, naming the key and the known ones")
    func unknownKeys() {
        let top = error(Self.document(["pollIntervalSeconds": 30]))
        #expect(top?.key == "pollIntervalSeconds")
        #expect(top?.problem.contains("unknown key") == true)
        let nested = error(Self.document(["polling": ["intervalSecond": 30]]))
        #expect(nested?.key == "polling.intervalSecond")
        #expect(nested?.problem.contains("intervalSeconds") == true)
    }

    @Test("required keys are required")
    func required() {
        #expect(error(Self.document(removing: ["tenantId"]))?.key == "tenantId")
        #expect(error(Self.document(removing: ["clientId"]))?.key == "clientId")
        #expect(error(Self.document(removing: ["credential"]))?.key == "credential")
        #expect(error(Self.document(removing: ["users"]))?.key == "users")
    }

    @Test("inline secrets are refused, and exactly one secret source is required")
    func secrets() {
        let inline = error(Self.document(["clientSecret": "abc123"]))
        #expect(inline?.key == "clientSecret")
        #expect(inline?.description.contains("abc123") == false)
        #expect(error(Self.document(["credential": ["type": "secret"]]))?.key == "credential")
        #expect(
            error(Self.document(["credential": ["environment": "A", "file": "/x"]]))?.problem.contains("exactly one")
                == true)
        #expect(error(Self.document(["credential": ["type": "password", "file": "/x"]]))?.key == "credential.type")
        #expect(
            error(Self.document(["credential": ["systemdCredential": "../x"]]))?.key == "credential.systemdCredential")
    }

    @Test("not JSON at all is a clear error")
    func notJSON() {
        let found = error(Data("{ \"tenantId\": ".utf8))
        #expect(found?.key == nil)
        #expect(found?.problem.contains("not valid JSON") == true)
    }

    @Test("load names the file; a users file is merged with the list; relative paths resolve beside the config")
    func loadFromFile() throws {
        let directory = TemporaryDirectory()
        directory.write("users.txt", "# team A\n\(Self.user2.uppercased())\n\n")
        let path = directory.write(
            "config.json",
            """
            {"tenantId": "t", "clientId": "11111111-2222-3333-4444-555555555555",
             "credential": {"file": "secret.txt"}, "users": ["\(Self.user1)"], "usersFile": "users.txt",
             "database": "data/presence.db"}
            """)
        let configuration = try Configuration.load(file: path, environment: [:])
        #expect(configuration.users == [Self.user1, Self.user2])
        #expect(configuration.databasePath == directory.file("data/presence.db"))
        #expect(configuration.credential == .secret(.file(directory.file("secret.txt"))))
        do {
            _ = try Configuration.load(file: directory.file("missing.json"), environment: [:])
            Issue.record("a missing file must fail")
        } catch {
            #expect(error.file == directory.file("missing.json"))
            #expect(error.description.contains("cannot read"))
        }
    }

    @Test("the database defaults to $STATE_DIRECTORY when systemd provides one")
    func stateDirectory() throws {
        let data = Self.document(removing: ["database"])
        let configuration = try Configuration.parse(data, environment: ["STATE_DIRECTORY": "/var/lib/presence-sync"])
        #expect(configuration.databasePath == "/var/lib/presence-sync/presence.db")
        #expect(try Configuration.parse(data).databasePath == "/var/lib/presence-sync/presence.db")
    }

    @Test("secrets are read from a file, the environment or $CREDENTIALS_DIRECTORY, and errors never show them")
    func secretSources() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("secret", "s3cr3t-value\n")
        #expect(try SecretSource.file(file).read() == "s3cr3t-value")
        #expect(try SecretSource.environment("X").read(environment: ["X": "from-env"]) == "from-env")
        #expect(
            try SecretSource.systemdCredential("secret").read(environment: ["CREDENTIALS_DIRECTORY": directory.path])
                == "s3cr3t-value")
        #expect(throws: SecretError.self) { try SecretSource.environment("MISSING").read(environment: [:]) }
        let unset = #expect(throws: SecretError.self) {
            try SecretSource.systemdCredential("secret").read(environment: [:])
        }
        #expect(unset?.description.contains("CREDENTIALS_DIRECTORY") == true)
        let empty = directory.write("empty", "\n")
        #expect(throws: SecretError.self) { try SecretSource.file(empty).read() }
        let open = directory.write("open", "visible", mode: 0o644)
        #expect(SecretSource.file(open).permissionWarning()?.contains("chmod 600") == true)
        #expect(SecretSource.file(file).permissionWarning() == nil)
    }
}
